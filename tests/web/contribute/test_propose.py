"""Proposing an initiative: the form, address search, spam resistance, bad input."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from directory.models import Initiative
from directory.models_web import StatusLink
from tests.web.contribute.conftest import count, csrf_of, proposal, stamp


async def stored(db) -> list[Initiative]:
    async with db.session() as session:
        return list(await session.scalars(select(Initiative)))


async def test_form_carries_csrf_honeypot_and_stamp(client, communes):
    response = await client.get("/proposer")

    assert response.status_code == 200
    assert 'name="csrf_token"' in response.text
    assert 'name="site_web_bis"' in response.text
    assert 'name="form_stamp"' in response.text
    assert 'data-commune-search="/proposer/communes"' in response.text
    assert response.headers["cache-control"] == "no-store"


async def test_anonymous_proposal_is_stored_for_moderation_with_a_private_link(
    client, db, settings, communes
):
    token = await csrf_of(client, "/proposer")

    response = await client.post("/proposer", data=proposal(settings, token))

    assert response.status_code == 303
    link = response.headers["location"]
    assert re.fullmatch(r"/suivi/[\w-]{20,}\?nouveau=1", link)
    [initiative] = await stored(db)
    assert initiative.moderation_state == "proposed"
    assert initiative.proposer_email == "camille@example.org"
    # The commune was recognised: INSEE code, postal code and position filled in.
    assert (initiative.insee_code, initiative.postal_code) == ("44143", "44400")
    assert (initiative.latitude, initiative.longitude) == (47.1806, -1.5497)
    page = await client.get(link)
    assert page.status_code == 200
    assert "Merci" in page.text and "Proposée" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert settings.base_url + link.split("?")[0] in page.text
    # Only the token's hash is kept.
    async with db.session() as session:
        [row] = list(await session.scalars(select(StatusLink)))
    assert row.token_hash not in link


async def test_pin_position_wins_over_the_commune_centre(client, db, settings, communes):
    token = await csrf_of(client, "/proposer")

    await client.post(
        "/proposer", data=proposal(settings, token, latitude="47,1934", longitude="-1.5541")
    )

    [initiative] = await stored(db)
    assert (initiative.latitude, initiative.longitude) == (47.1934, -1.5541)


async def test_missing_fields_are_named_and_what_was_typed_is_kept(client, db, settings, communes):
    token = await csrf_of(client, "/proposer")

    response = await client.post(
        "/proposer",
        data=proposal(
            settings,
            token,
            name="",
            summary="",
            themes=[],
            proposer_email="",
            street="12 rue du Typé",
        ),
    )

    assert response.status_code == 422
    text = response.text
    assert 'id="f-name-error">obligatoire' in text
    assert 'id="f-summary-error">obligatoire' in text
    assert 'id="f-themes-error">choisissez au moins un thème' in text
    assert 'id="f-proposer_email-error">obligatoire' in text
    assert 'value="12 rue du Typé"' in text
    assert 'aria-invalid="true"' in text
    assert "4 points sont à corriger" in text
    assert await stored(db) == []


async def test_oversize_input_is_refused_and_kept(client, db, settings, communes):
    token = await csrf_of(client, "/proposer")
    long_name = "R" * 201

    response = await client.post("/proposer", data=proposal(settings, token, name=long_name))

    assert response.status_code == 422
    assert "trop long (201 caractères, maximum 200)" in response.text
    assert f'value="{long_name}"' in response.text
    assert await stored(db) == []


async def test_injected_html_is_shown_as_text_never_as_markup(client, db, settings, communes):
    token = await csrf_of(client, "/proposer")
    attack = '"><script>alert(1)</script>'

    response = await client.post(
        "/proposer",
        data=proposal(settings, token, name=attack, summary=attack, website="javascript:alert(1)"),
    )

    assert response.status_code == 422
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert "doit être une adresse web commençant par http" in response.text
    assert await stored(db) == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("latitude", "nord", "doit être un nombre"),
        ("longitude", "1e999", "hors limites"),
        ("themes", ["astrologie"], "inconnu : astrologie"),
        ("actor_kinds", ["licorne"], "inconnu : licorne"),
        ("status", "immortelle", "inconnu : immortelle"),
        ("email", "pas-un-mail", "adresse e-mail invalide"),
        ("proposer_email", "moi@", "adresse e-mail invalide"),
        ("phone", "appelez-moi", "numéro de téléphone invalide"),
    ],
)
async def test_wrong_types_and_values_are_named(
    client, db, settings, communes, field, value, message
):
    token = await csrf_of(client, "/proposer")

    response = await client.post("/proposer", data=proposal(settings, token, **{field: value}))

    assert response.status_code == 422
    assert f'id="f-{field}-error">' in response.text
    assert message in response.text
    assert await stored(db) == []


async def test_a_post_without_csrf_token_is_refused_clearly(client, db, settings, communes):
    await csrf_of(client, "/proposer")
    data = proposal(settings, "")
    del data["csrf_token"]

    response = await client.post("/proposer", data=data)

    assert response.status_code == 403
    assert "jeton de sécurité absent ou invalide" in response.text
    assert await stored(db) == []


async def test_a_token_from_another_session_is_refused(client, app, db, settings, communes):
    import httpx

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=settings.base_url) as other:
        foreign = await csrf_of(other, "/proposer")
    await csrf_of(client, "/proposer")

    response = await client.post("/proposer", data=proposal(settings, foreign))

    assert response.status_code == 403
    assert await stored(db) == []


async def test_json_posted_to_the_form_is_refused(client, db, communes):
    response = await client.post("/proposer", json={"name": "Robot"})

    assert response.status_code == 403
    assert await stored(db) == []


async def test_filled_honeypot_stores_nothing(client, db, settings, communes):
    token = await csrf_of(client, "/proposer")

    response = await client.post(
        "/proposer", data=proposal(settings, token, site_web_bis="http://spam.example")
    )

    assert response.status_code == 422
    assert "champ caché destiné aux robots" in response.text
    assert 'value="Repair café de Rezé"' in response.text
    assert await stored(db) == []


@pytest.mark.parametrize(
    ("form_stamp", "message"),
    [
        ("fast", "trop vite"),
        ("forged", "a expiré"),
        ("stale", "a expiré"),
    ],
)
async def test_fill_time_is_checked_with_a_signed_stamp(
    client, db, settings, communes, form_stamp, message
):
    token = await csrf_of(client, "/proposer")
    value = {
        "fast": stamp(settings, age=0),
        "forged": "1700000000.forged-signature",
        "stale": stamp(settings, age=3 * 24 * 3600),
    }[form_stamp]

    response = await client.post("/proposer", data=proposal(settings, token, form_stamp=value))

    assert response.status_code == 422
    assert message in response.text
    assert 'name="form_stamp" value="' in response.text  # a fresh stamp to send again
    assert await stored(db) == []


async def test_rate_limit_per_ip_is_shared_by_every_process(app, db, settings, communes):
    """Two app instances (two processes behind a proxy) share one stored counter."""
    import httpx

    from web.app import create_app

    second = create_app(settings, database=db)
    statuses = []
    for n in range(6):
        transport = httpx.ASGITransport(app=app if n % 2 else second)
        async with httpx.AsyncClient(transport=transport, base_url=settings.base_url) as c:
            token = await csrf_of(c, "/proposer")
            response = await c.post(
                "/proposer", data=proposal(settings, token, name=f"Initiative {n}")
            )
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert "Trop d'envois depuis votre connexion" in html.unescape(response.text)
                assert 'value="Initiative 5"' in response.text

    assert statuses == [303] * 5 + [429]
    assert len(await stored(db)) == 5


async def test_commune_search_ignores_accents_case_and_hyphens(client, communes):
    async def names(q: str) -> list[str]:
        response = await client.get("/proposer/communes", params={"q": q})
        assert response.status_code == 200
        return [c["name"] for c in response.json()]

    assert await names("reze") == ["Rezé"]
    assert await names("REZÉ") == ["Rezé"]
    assert await names("saint herblain") == ["Saint-Herblain"]
    assert await names("baule") == ["La Baule-Escoublac"]
    assert await names("44400") == ["Rezé"]
    assert await names("44162") == ["Saint-Herblain"]
    assert await names("sain") == ["Saint-Herblain", "Sainte-Luce-sur-Loire"]
    assert await names("") == []
    assert await names("%_") == []
    assert await names("x" * 5000) == []


async def test_ambiguous_commune_offers_a_choice_without_javascript(client, db, settings, communes):
    token = await csrf_of(client, "/proposer")

    response = await client.post("/proposer", data=proposal(settings, token, city="Sain"))

    assert response.status_code == 422
    assert "plusieurs communes correspondent" in response.text
    assert 'id="f-commune-44162"' in response.text
    assert 'id="f-commune-44172"' in response.text
    # The person picks one (radio named insee_code) and sends again.
    token = await csrf_of(client, "/proposer")
    response = await client.post(
        "/proposer", data=proposal(settings, token, city="Sain", insee_code="44172")
    )
    assert response.status_code == 303
    [initiative] = await stored(db)
    assert (initiative.city, initiative.insee_code) == ("Sainte-Luce-sur-Loire", "44172")


async def test_unknown_commune_is_refused(client, db, settings, communes):
    token = await csrf_of(client, "/proposer")

    response = await client.post("/proposer", data=proposal(settings, token, city="Lyon"))

    assert response.status_code == 422
    assert "commune inconnue sur ce territoire" in response.text
    assert await stored(db) == []


async def test_suggestion_label_with_postal_code_is_understood(client, db, settings, communes):
    token = await csrf_of(client, "/proposer")

    response = await client.post("/proposer", data=proposal(settings, token, city="Rezé (44400)"))

    assert response.status_code == 303
    [initiative] = await stored(db)
    assert initiative.city == "Rezé"


async def test_signed_in_contributor_needs_no_email_and_sees_the_proposal(
    client, db, settings, communes, contributor, sign_in
):
    token = await sign_in(contributor)

    response = await client.post("/proposer", data=proposal(settings, token, proposer_email=""))

    assert response.status_code == 303
    assert response.headers["location"] == "/mes-propositions"
    [initiative] = await stored(db)
    assert initiative.proposer_id == contributor.id
    assert await count(db, StatusLink) == 0
    page = await client.get("/mes-propositions")
    assert "Repair café de Rezé" in page.text
    assert "Proposée" in page.text
    assert "Merci" in page.text  # the flash after the redirect


async def test_unknown_status_link_is_a_404_page(client):
    response = await client.get("/suivi/not-a-real-token")

    assert response.status_code == 404
    assert "lien de suivi inconnu" in response.text


async def test_my_proposals_needs_an_account(client):
    response = await client.get("/mes-propositions")

    assert response.status_code == 303
    assert response.headers["location"] == "/connexion?suite=/mes-propositions"


async def test_a_form_posted_from_another_site_is_refused_before_any_route(
    client, db, settings, communes
):
    token = await csrf_of(client, "/proposer")
    data = proposal(settings, token)

    foreign = await client.post("/proposer", data=data, headers={"Origin": "https://evil.example"})
    cross = await client.post("/connexion", data=data, headers={"Sec-Fetch-Site": "cross-site"})
    same = await client.post("/proposer", data=data, headers={"Origin": settings.base_url})

    assert foreign.status_code == cross.status_code == 403
    assert "depuis un autre site" in foreign.text
    assert same.status_code == 303
    assert len(await stored(db)) == 1


async def test_json_bodies_are_not_forms_for_the_origin_check(client):
    response = await client.post(
        "/proposer", json={"name": "x"}, headers={"Origin": "https://evil.example"}
    )

    assert response.status_code == 403
    assert "jeton de sécurité" in response.text  # refused by the route's token check instead


async def test_the_form_speaks_english_through_the_catalog(client, communes):
    response = await client.get("/proposer?lang=en")

    assert response.status_code == 200
    assert '<html lang="en">' in response.text
    assert "Send my proposal" in response.text
    assert "Name of the initiative" in response.text
    assert "Reuse and repair" in response.text  # theme labels in English too


async def test_an_absurd_position_never_reaches_the_map(client, settings, communes):
    token = await csrf_of(client, "/proposer")

    response = await client.post(
        "/proposer", data=proposal(settings, token, latitude="1e999", longitude="nan")
    )

    assert response.status_code == 422
    assert 'data-center="47.' in response.text  # the territory's communes, not infinity


async def test_a_file_where_text_is_expected_counts_as_nothing(client, db, settings, communes):
    token = await csrf_of(client, "/proposer")
    data = proposal(settings, token)
    del data["name"]

    response = await client.post(
        "/proposer", data=data, files={"name": ("name.txt", b"<script>", "text/plain")}
    )

    assert response.status_code == 422
    assert 'id="f-name-error">obligatoire' in response.text
    assert await stored(db) == []


async def test_privacy_page_says_what_is_kept_and_whom_to_ask(client, db):
    from directory import instance

    async with db.session() as session:
        await instance.save(session, {"contact_email": "dpo@example.org"})

    response = await client.get("/confidentialite")

    assert response.status_code == 200
    text = html.unescape(response.text)
    assert "effacé 180 jours après un refus" in text
    assert 'href="mailto:dpo@example.org"' in text
