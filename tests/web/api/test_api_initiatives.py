"""Reading, proposing, editing, correcting and moderating initiatives through /api/v1."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from directory import initiatives
from directory.models import Correction, Initiative, Revision
from tests.web.api.conftest import PROPOSER_EMAIL, REPAIR_CAFE

BASE = "/api/v1/initiatives"
ALL_ROLES = ("anonymous", "contributor", "referent", "moderator", "admin")
MODERATORS = ("moderator", "admin")
NOT_MODERATORS = ("anonymous", "contributor", "referent")


async def count(db, model) -> int:
    async with db.session() as session:
        return await session.scalar(select(func.count()).select_from(model))


# --- Reading one ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
async def test_published_initiative_is_readable_by_everyone(api, callers, published, role):
    response = await api.get(f"{BASE}/{published.slug}", headers=callers[role].headers)

    assert response.status_code == 200
    record = response.json()
    assert record["name"] == "Repair café de Rezé"
    assert record["uri"] == "https://maillage.test/initiatives/repair-cafe-de-reze"
    assert record["local"] is True
    assert record["origin"] == "maillage.test"
    assert record["themes"][0]["iri"] == "urn:maillage:theme:reemploi-reparation"
    assert record["themes"][0]["labels"] == {
        "fr": "Réemploi et réparation",
        "en": "Reuse and repair",
    }
    assert "<strong>samedi par mois</strong>" in record["description_html"]
    assert record["address"]["insee_code"] == "44143"
    assert (record["latitude"], record["longitude"]) == (47.19, -1.56)
    assert ("proposer_email" in record) == (role in MODERATORS)


@pytest.mark.parametrize("role", NOT_MODERATORS)
async def test_proposal_is_hidden_from_everyone_but_moderators_and_its_proposer(
    api, callers, proposed, role
):
    response = await api.get(f"{BASE}/{proposed.slug}", headers=callers[role].headers)

    if role == "contributor":  # the proposer: sees it and its state, not the private note
        assert response.status_code == 200
        assert response.json()["moderation_state"] == "proposed"
        assert "moderation_note" not in response.json()
    else:
        assert response.status_code == 404


@pytest.mark.parametrize("role", MODERATORS)
async def test_moderators_read_proposals_with_private_fields(api, callers, proposed, role):
    response = await api.get(f"{BASE}/{proposed.slug}", headers=callers[role].headers)

    assert response.status_code == 200
    record = response.json()
    assert record["moderation_state"] == "proposed"
    assert record["proposer_email"] == PROPOSER_EMAIL
    assert record["moderation_note"].startswith("note privée")


async def test_remote_initiative_is_readable_with_its_origin(api, remote):
    response = await api.get(f"{BASE}/{remote.slug}")

    assert response.status_code == 200
    record = response.json()
    assert record["local"] is False
    assert record["origin"] == "morbihan.example"
    assert record["uri"] == "https://morbihan.example/initiatives/ressourcerie-de-vannes"
    assert record["via"] == ["morbihan.example"]


async def test_unknown_initiative_is_404_as_json(api):
    response = await api.get(f"{BASE}/nulle-part")

    assert response.status_code == 404
    assert response.json()["status"] == 404
    assert "nulle-part" in response.json()["error"]


async def test_invalid_token_is_401_even_on_public_reads(api, published):
    response = await api.get(
        f"{BASE}/{published.slug}", headers={"Authorization": "Bearer mlg_faux"}
    )

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_session_cookie_authenticates_like_a_token(app, api, db, callers, proposed):
    """The signed session cookie of the HTML pages works on the API too."""
    import base64
    import json

    from itsdangerous import TimestampSigner

    from directory import sign_ins
    from directory.models import Person

    async with db.session() as session:
        moderator = await session.get(Person, callers["moderator"].person_id)
        sid = await sign_ins.open_session(session, moderator)
    signer = TimestampSigner(app.state.settings.secret_key)
    payload = base64.b64encode(json.dumps({"sid": sid}).encode())
    api.cookies.set("maillage_session", signer.sign(payload).decode())

    response = await api.get(f"{BASE}/{proposed.slug}")

    assert response.status_code == 200
    assert response.json()["proposer_email"] == PROPOSER_EMAIL


# --- Proposing --------------------------------------------------------------------------


async def test_anonymous_proposal_lands_in_moderation(api, db, settings):
    response = await api.post(BASE, json={**REPAIR_CAFE, "proposer_email": "Anne@Example.org"})

    assert response.status_code == 201
    assert response.headers["location"] == f"{settings.base_url}{BASE}/repair-cafe-de-reze"
    assert response.json()["moderation_state"] == "proposed"
    assert "proposer_email" not in response.json()
    async with db.session() as session:
        stored = await initiatives.get_initiative(session, "repair-cafe-de-reze")
        assert stored.moderation_state == "proposed"
        assert stored.proposer_email == "anne@example.org"
        assert stored.proposer_id is None
    # not public until a moderator publishes it
    assert (await api.get(response.headers["location"])).status_code == 404


async def test_anonymous_proposal_without_email_is_refused_with_other_errors(api, db):
    response = await api.post(BASE, json={**REPAIR_CAFE, "latitude": 123})

    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"proposer_email", "latitude"}
    assert await count(db, Initiative) == 0


async def test_anonymous_proposal_with_bad_email_is_refused(api, db):
    response = await api.post(BASE, json={**REPAIR_CAFE, "proposer_email": "pas-un-mail"})

    assert response.status_code == 422
    assert response.json()["fields"] == {"proposer_email": "adresse e-mail invalide"}
    assert await count(db, Initiative) == 0


@pytest.mark.parametrize("role", ("contributor", "referent", "moderator", "admin"))
async def test_signed_in_proposal_uses_the_account_and_still_waits(api, db, callers, role):
    response = await api.post(BASE, json=REPAIR_CAFE, headers=callers[role].headers)

    assert response.status_code == 201
    assert response.json()["moderation_state"] == "proposed"
    async with db.session() as session:
        stored = await initiatives.get_initiative(session, response.json()["slug"])
        assert stored.proposer_id == callers[role].person_id
        assert stored.proposer_email == ""
        history = await initiatives.revisions(session, stored.id)
        assert history[0].person_id == callers[role].person_id


async def test_proposal_with_a_taken_slug_is_409(api, callers, published):
    response = await api.post(
        BASE, json={**REPAIR_CAFE, "slug": published.slug}, headers=callers["contributor"].headers
    )

    assert response.status_code == 409
    assert "slug" in response.json()["fields"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("name", 42),
        ("name", "x" * 201),
        ("themes", ["astrologie"]),
        ("themes", {"a": 1}),
        ("actor_kinds", ["licorne"]),
        ("needs", [1, 2]),
        ("latitude", "nord"),
        ("latitude", True),
        ("longitude", 181),
        ("website", "javascript:alert(1)"),
        ("email", "pas-un-mail"),
        ("status", "zombie"),
        ("status", {"a": [1]}),
        ("status", ["active"]),
        ("insee_code", "ABCDE"),
        ("slug", "Pas Un Slug"),
        ("couleur", "rouge"),
    ],
)
async def test_bad_fields_are_named_and_nothing_is_stored(api, db, callers, field, value):
    response = await api.post(
        BASE, json={**REPAIR_CAFE, field: value}, headers=callers["contributor"].headers
    )

    assert response.status_code == 422
    assert field in response.json()["fields"]
    assert await count(db, Initiative) == 0
    assert await count(db, Revision) == 0


# --- Editing and correcting -------------------------------------------------------------


@pytest.mark.parametrize("role", MODERATORS)
async def test_moderators_edit_directly_with_a_revision(api, db, callers, published, role):
    response = await api.patch(
        f"{BASE}/{published.slug}",
        json={"summary": "Tous les samedis", "needs": ["isolement"], "message": "horaires"},
        headers=callers[role].headers,
    )

    assert response.status_code == 200
    body = response.json()
    assert body["changes"]["summary"] == [
        "Réparer ensemble petits appareils et vélos",
        "Tous les samedis",
    ]
    assert body["initiative"]["needs"] == ["isolement"]
    async with db.session() as session:
        history = await initiatives.revisions(session, published.id)
        assert history[-1].action == "update"
        assert history[-1].person_id == callers[role].person_id
        assert history[-1].message == "horaires"


@pytest.mark.parametrize("role", ("contributor", "referent"))
async def test_signed_in_non_moderators_propose_a_correction(api, db, callers, published, role):
    response = await api.patch(
        f"{BASE}/{published.slug}",
        json={"phone": "02 40 00 00 00", "message": "nouveau numéro"},
        headers=callers[role].headers,
    )

    assert response.status_code == 202
    body = response.json()
    assert body["state"] == "proposed"
    async with db.session() as session:
        correction = await session.get(Correction, body["correction"])
        assert correction.proposer_id == callers[role].person_id
        assert correction.changes == {"phone": ["", "02 40 00 00 00"]}
        unchanged = await initiatives.get_initiative(session, published.slug)
        assert unchanged.phone == ""


async def test_anonymous_correction_needs_an_email(api, db, published):
    refused = await api.patch(f"{BASE}/{published.slug}", json={"phone": "02 40 00 00 00"})
    accepted = await api.patch(
        f"{BASE}/{published.slug}",
        json={"phone": "02 40 00 00 00", "proposer_email": "voisin@example.org"},
    )

    assert refused.status_code == 422
    assert set(refused.json()["fields"]) == {"proposer_email"}
    assert accepted.status_code == 202
    async with db.session() as session:
        correction = await session.get(Correction, accepted.json()["correction"])
        assert correction.proposer_email == "voisin@example.org"
    assert await count(db, Correction) == 1


async def test_correction_that_changes_nothing_is_422(api, callers, published):
    response = await api.patch(
        f"{BASE}/{published.slug}",
        json={"name": published.name},
        headers=callers["contributor"].headers,
    )

    assert response.status_code == 422


async def test_proposer_edits_own_pending_proposal_directly(api, callers, proposed):
    response = await api.patch(
        f"{BASE}/{proposed.slug}",
        json={"summary": "Des parcelles pour tous"},
        headers=callers["contributor"].headers,
    )

    assert response.status_code == 200
    assert response.json()["initiative"]["summary"] == "Des parcelles pour tous"


async def test_others_cannot_see_or_edit_a_proposal(api, callers, proposed):
    response = await api.patch(
        f"{BASE}/{proposed.slug}", json={"summary": "x"}, headers=callers["referent"].headers
    )

    assert response.status_code == 404


@pytest.mark.parametrize("role", ALL_ROLES)
async def test_remote_initiatives_are_not_editable_here(api, db, callers, remote, role):
    response = await api.patch(
        f"{BASE}/{remote.slug}",
        json={"summary": "modifiée ici", "proposer_email": "a@example.org"},
        headers=callers[role].headers,
    )

    assert response.status_code == 409
    assert "morbihan.example" in response.json()["error"]
    assert await count(db, Correction) == 0


async def test_failed_edit_changes_nothing(api, db, callers, published):
    response = await api.patch(
        f"{BASE}/{published.slug}",
        json={"summary": "Nouveau résumé", "latitude": 500},
        headers=callers["moderator"].headers,
    )

    assert response.status_code == 422
    async with db.session() as session:
        stored = await initiatives.get_initiative(session, published.slug)
        assert stored.summary == REPAIR_CAFE["summary"]
        assert [r.action for r in await initiatives.revisions(session, stored.id)] == ["create"]


async def test_edit_renaming_slug_to_a_taken_one_is_409(api, db, callers, published):
    other = await api.post(
        BASE, json={**REPAIR_CAFE, "slug": "autre"}, headers=callers["contributor"].headers
    )
    response = await api.patch(
        f"{BASE}/{published.slug}", json={"slug": "autre"}, headers=callers["admin"].headers
    )

    assert other.status_code == 201
    assert response.status_code == 409


# --- Moderation -------------------------------------------------------------------------


@pytest.mark.parametrize("role", MODERATORS)
async def test_moderators_publish_a_proposal(api, db, callers, proposed, role):
    response = await api.post(
        f"{BASE}/{proposed.slug}/moderation",
        json={"state": "published", "message": "vérifiée par téléphone"},
        headers=callers[role].headers,
    )

    assert response.status_code == 200
    assert response.json()["moderation_state"] == "published"
    assert response.json()["published"] is not None
    public = await api.get(f"{BASE}/{proposed.slug}")
    assert public.status_code == 200
    assert "vérifiée" not in public.text


@pytest.mark.parametrize("role", NOT_MODERATORS)
async def test_others_cannot_moderate(api, db, callers, proposed, role):
    response = await api.post(
        f"{BASE}/{proposed.slug}/moderation",
        json={"state": "published"},
        headers=callers[role].headers,
    )

    assert response.status_code == (401 if role == "anonymous" else 403)
    async with db.session() as session:
        assert (await initiatives.get_initiative(session, proposed.slug)).moderation_state == (
            "proposed"
        )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"state": "proposed"}, "state"),
        ({"state": "supprimée"}, "state"),
        ({}, "state"),
        ({"state": "rejected", "message": ["non"]}, "message"),
        ({"state": "rejected", "raison": "spam"}, "raison"),
    ],
)
async def test_bad_moderation_requests_are_422(api, callers, proposed, body, field):
    response = await api.post(
        f"{BASE}/{proposed.slug}/moderation", json=body, headers=callers["moderator"].headers
    )

    assert response.status_code == 422
    assert field in response.json()["fields"]


async def test_moderating_to_the_same_state_is_409(api, callers, published):
    response = await api.post(
        f"{BASE}/{published.slug}/moderation",
        json={"state": "published"},
        headers=callers["moderator"].headers,
    )

    assert response.status_code == 409


async def test_moderating_an_unknown_initiative_is_404(api, callers):
    response = await api.post(
        f"{BASE}/inconnue/moderation",
        json={"state": "published"},
        headers=callers["moderator"].headers,
    )

    assert response.status_code == 404


async def test_withdrawn_initiative_disappears_from_public_view(api, callers, published):
    response = await api.post(
        f"{BASE}/{published.slug}/moderation",
        json={"state": "withdrawn"},
        headers=callers["admin"].headers,
    )

    assert response.status_code == 200
    assert (await api.get(f"{BASE}/{published.slug}")).status_code == 404


# --- History ----------------------------------------------------------------------------


async def test_history_shows_names_not_emails_to_the_public(api, callers, published):
    await api.patch(
        f"{BASE}/{published.slug}",
        json={"summary": "Nouveau", "message": "résumé plus court"},
        headers=callers["moderator"].headers,
    )
    await api.post(
        f"{BASE}/{published.slug}/moderation",
        json={"state": "withdrawn", "message": "note de modération confidentielle"},
        headers=callers["moderator"].headers,
    )
    await api.post(
        f"{BASE}/{published.slug}/moderation",
        json={"state": "published"},
        headers=callers["moderator"].headers,
    )

    public = await api.get(f"{BASE}/{published.slug}/history")
    private = await api.get(f"{BASE}/{published.slug}/history", headers=callers["admin"].headers)

    assert public.status_code == private.status_code == 200
    actions = [r["action"] for r in public.json()["items"]]
    assert actions == ["create", "update", "moderate", "moderate"]
    update = public.json()["items"][1]
    assert update["author"] == {"name": "Camille Moderator"}
    assert update["message"] == "résumé plus court"
    assert update["changes"]["summary"][1] == "Nouveau"
    assert "@" not in public.text
    assert "confidentielle" not in public.text
    assert private.json()["items"][1]["author"]["email"] == "moderator@maillage.test"
    assert "confidentielle" in private.text


async def test_history_of_a_hidden_proposal_is_404(api, proposed):
    assert (await api.get(f"{BASE}/{proposed.slug}/history")).status_code == 404
