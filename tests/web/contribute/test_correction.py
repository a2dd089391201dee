"""Proposing a correction to a published initiative."""

from __future__ import annotations

from sqlalchemy import select

from directory import initiatives
from directory.initiatives import Author
from directory.models import Correction
from tests.web.contribute.conftest import csrf_of, proposal


def correction_form(settings, token, published, **fields):
    """The correction form as the page fills it (current values), with `fields` changed."""
    data = proposal(
        settings,
        token,
        name=published.name,
        summary=published.summary,
        description="",
        themes=["alimentation"],
        actor_kinds=[],
        needs=[],
        city="Rezé",
        insee_code="44143",
        street="",
        postal_code="",
        latitude="47.19",
        longitude="-1.55",
        website="",
        opening_hours="",
        message="",
    )
    data.update(fields)
    return data


async def corrections(db) -> list[Correction]:
    async with db.session() as session:
        return list(await session.scalars(select(Correction)))


async def test_form_is_filled_with_the_current_values(client, published, communes):
    response = await client.get(f"/initiatives/{published.slug}/correction")

    assert response.status_code == 200
    assert 'value="Jardin partagé des Trois-Moulins"' in response.text
    assert 'value="alimentation" checked' in response.text
    assert 'value="47.19"' in response.text


async def test_anonymous_correction_waits_for_moderation(client, db, settings, published, communes):
    token = await csrf_of(client, f"/initiatives/{published.slug}/correction")

    response = await client.post(
        f"/initiatives/{published.slug}/correction",
        data=correction_form(
            settings,
            token,
            published,
            summary="Un jardin ouvert à tous, le mercredi",
            status="paused",
            message="Vu sur leur panneau",
        ),
    )

    assert response.status_code == 303
    assert response.headers["location"].startswith("/suivi/")
    [correction] = await corrections(db)
    assert correction.changes == {
        "summary": ["Un jardin ouvert à tous", "Un jardin ouvert à tous, le mercredi"],
        "status": ["active", "paused"],
    }
    assert correction.proposer_email == "camille@example.org"
    assert correction.message == "Vu sur leur panneau"
    async with db.session() as session:
        unchanged = await initiatives.get_initiative(session, published.id)
    assert unchanged.summary == "Un jardin ouvert à tous"  # not before moderation
    status = await client.get(response.headers["location"])
    assert "Correction de" in status.text and "Proposée" in status.text


async def test_a_correction_that_changes_nothing_is_refused(
    client, db, settings, published, communes
):
    token = await csrf_of(client, f"/initiatives/{published.slug}/correction")

    response = await client.post(
        f"/initiatives/{published.slug}/correction",
        data=correction_form(settings, token, published),
    )

    assert response.status_code == 422
    assert "ne change rien" in response.text
    assert await corrections(db) == []


async def test_bad_correction_input_is_named_and_kept(client, db, settings, published, communes):
    token = await csrf_of(client, f"/initiatives/{published.slug}/correction")

    response = await client.post(
        f"/initiatives/{published.slug}/correction",
        data=correction_form(
            settings, token, published, name="", website="ftp://x", message="m" * 2001
        ),
    )

    assert response.status_code == 422
    assert 'id="f-name-error">obligatoire' in response.text
    assert 'id="f-website-error">' in response.text
    assert 'id="f-message-error">trop long (2001' in response.text
    assert 'value="ftp://x"' in response.text
    assert await corrections(db) == []


async def test_correction_without_csrf_is_refused(client, db, settings, published, communes):
    await csrf_of(client, f"/initiatives/{published.slug}/correction")
    data = correction_form(settings, "wrong", published, summary="Autre")

    response = await client.post(f"/initiatives/{published.slug}/correction", data=data)

    assert response.status_code == 403
    assert await corrections(db) == []


async def test_unpublished_or_unknown_initiatives_take_no_correction(client, db):
    async with db.session() as session:
        hidden = await initiatives.create_initiative(
            session, {"name": "En attente"}, author=Author(None, "t")
        )

    assert (await client.get(f"/initiatives/{hidden.slug}/correction")).status_code == 404
    assert (await client.get("/initiatives/nope/correction")).status_code == 404


async def test_remote_initiatives_are_corrected_at_their_origin(client, db):
    async with db.session() as session:
        remote = await initiatives.create_initiative(
            session,
            {"name": "Ailleurs"},
            author=Author(None, "federation:autre.test"),
            moderation_state="published",
            origin="autre.test",
            uri="https://autre.test/initiatives/ailleurs",
        )

    response = await client.get(f"/initiatives/{remote.slug}/correction")

    assert response.status_code == 409
    assert "autre.test" in response.text


async def test_signed_in_correction_is_listed_in_my_proposals(
    client, db, settings, published, communes, contributor, sign_in
):
    token = await sign_in(contributor)

    response = await client.post(
        f"/initiatives/{published.slug}/correction",
        data=correction_form(settings, token, published, phone="02 40 00 00 00", proposer_email=""),
    )

    assert response.status_code == 303
    page = await client.get("/mes-propositions")
    assert "Jardin partagé des Trois-Moulins" in page.text
    assert "Téléphone" in page.text
