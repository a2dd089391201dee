"""Moderation domain: the queue, diffs, decisions, accounts, instance settings."""

from __future__ import annotations

import pytest

from directory import accounts, contributions, initiatives, instance, moderation, people
from directory.errors import Conflict, NotFound, ValidationError
from directory.initiatives import Author

ANON = Author(None, "anonyme")
MODO = Author(None, "modo")
DATA = {"name": "Café des enfants", "summary": "Un café pour les familles", "themes": ["sante"]}


async def test_queue_holds_proposals_and_pending_corrections(session):
    proposed = (
        await contributions.propose_initiative(session, DATA, author=ANON, proposer_email="a@b.fr")
    ).initiative
    published = await initiatives.create_initiative(
        session, {"name": "Jardin"}, author=MODO, moderation_state="published"
    )
    correction = (
        await contributions.propose_correction(
            session, published, {"summary": "Nouveau"}, author=ANON, proposer_email="c@d.fr"
        )
    ).correction

    items = await moderation.queue(session)

    assert [(i.kind, i.id) for i in items] == [
        ("proposal", proposed.id),
        ("correction", correction.id),
    ]
    assert items[0].proposer == "a@b.fr"
    assert set(items[0].fields) == {"name", "summary", "themes", "status"}
    assert items[1].fields == ("summary",)
    assert await moderation.pending_count(session) == 2


async def test_proposal_diff_lists_every_filled_field(session):
    proposed = (
        await contributions.propose_initiative(session, DATA, author=ANON, proposer_email="a@b.fr")
    ).initiative

    rows = moderation.proposal_diff(proposed)

    assert [(r.field, r.old, r.new) for r in rows] == [
        ("name", None, "Café des enfants"),
        ("summary", None, "Un café pour les familles"),
        ("themes", None, ["sante"]),
        ("status", None, "active"),
    ]


async def test_correction_diff_flags_fields_changed_since(session):
    published = await initiatives.create_initiative(
        session, {"name": "Jardin", "summary": "A"}, author=MODO, moderation_state="published"
    )
    correction = (
        await contributions.propose_correction(
            session, published, {"summary": "B", "phone": "0102030405"}, author=ANON
        )
    ).correction
    await initiatives.update_initiative(session, published, {"summary": "C"}, author=MODO)

    rows = {r.field: r for r in moderation.correction_diff(correction, published)}

    assert (rows["summary"].old, rows["summary"].new, rows["summary"].current) == ("A", "B", "C")
    assert rows["summary"].stale
    assert not rows["phone"].stale


async def test_reject_needs_a_reason_and_decisions_happen_once(session):
    proposed = (
        await contributions.propose_initiative(session, DATA, author=ANON, proposer_email="a@b.fr")
    ).initiative

    with pytest.raises(ValidationError):
        await moderation.reject_proposal(session, proposed, author=MODO, message=" ")
    with pytest.raises(ValidationError):
        await moderation.reject_proposal(session, proposed, author=MODO, message="x" * 1001)
    await moderation.approve_proposal(session, proposed, author=MODO, edits={"name": "Le Café"})
    with pytest.raises(Conflict):
        await moderation.approve_proposal(session, proposed, author=MODO)

    assert (proposed.name, proposed.moderation_state) == ("Le Café", "published")


async def test_status_links_find_their_proposal_only(session):
    submitted = await contributions.propose_initiative(
        session, DATA, author=ANON, proposer_email="a@b.fr"
    )

    assert await contributions.by_status_token(session, submitted.token) is submitted.initiative
    with pytest.raises(NotFound):
        await contributions.by_status_token(session, submitted.token + "x")
    with pytest.raises(NotFound):
        await contributions.by_status_token(session, "")


async def test_corrections_only_for_published_initiatives(session):
    proposed = (
        await contributions.propose_initiative(session, DATA, author=ANON, proposer_email="a@b.fr")
    ).initiative

    with pytest.raises(Conflict):
        await contributions.propose_correction(session, proposed, {"summary": "x"}, author=ANON)


def test_proposer_email_is_required_when_anonymous():
    with pytest.raises(ValidationError) as caught:
        contributions.clean_proposer("", "", signed_in=False)
    assert "proposer_email" in caught.value.errors
    assert contributions.clean_proposer("", "hello", signed_in=True) == ("", "hello")
    assert contributions.clean_proposer(" A@B.fr ", "", signed_in=False) == ("a@b.fr", "")


async def test_last_active_admin_is_protected(session):
    admin = await people.create_person(session, email="a@x.fr", password="0123456789", role="admin")
    other = await people.create_person(session, email="b@x.fr", password="0123456789", role="admin")

    await accounts.set_active(session, other, False)
    with pytest.raises(Conflict):
        await accounts.set_role(session, admin, "moderator")
    with pytest.raises(Conflict):
        await accounts.set_active(session, admin, False)
    with pytest.raises(ValidationError):
        await accounts.set_role(session, other, "roi")
    await accounts.set_active(session, other, True)
    await accounts.set_role(session, admin, "moderator")

    assert [p.email for p in await accounts.list_people(session)] == ["b@x.fr", "a@x.fr"]


async def test_instance_settings_validate_store_and_reset(session):
    with pytest.raises(ValidationError) as caught:
        await instance.save(
            session,
            {"logo_url": "data:image/png;base64,xx", "tile_url": "https://t/{z}.png", "nope": "1"},
        )
    assert set(caught.value.errors) == {"logo_url", "tile_url", "nope"}
    assert await instance.load(session) == {}

    changed = await instance.save(session, {"site_name": " Mon annuaire ", "licence": ""})
    assert changed == {"site_name": "Mon annuaire"}
    assert await instance.save(session, {"site_name": ""}) == {"site_name": ""}
    assert await instance.load(session) == {}
