"""The moderation queue: access, diffs, approve / reject / edit then approve, history."""

from __future__ import annotations

import html

import pytest

from directory import contributions, initiatives
from directory.initiatives import Author
from directory.models import Initiative

PROPOSAL = {
    "name": "Épicerie solidaire du Château",
    "summary": "Des courses à petit prix pour les familles",
    "themes": ["alimentation", "solidarite-entraide"],
    "needs": ["precarite-alimentaire"],
    "actor_kinds": ["association"],
    "city": "Rezé",
    "insee_code": "44143",
    "website": "https://epicerie.example.org",
}


@pytest.fixture
async def proposed(db) -> Initiative:
    async with db.session() as session:
        submitted = await contributions.propose_initiative(
            session, PROPOSAL, author=Author(None, "anonyme"), proposer_email="cam@example.org"
        )
        return submitted.initiative


@pytest.fixture
async def correction(db, published):
    async with db.session() as session:
        initiative = await initiatives.get_initiative(session, published.id)
        submitted = await contributions.propose_correction(
            session,
            initiative,
            {"summary": "Ouvert le mercredi", "phone": "02 40 00 00 00"},
            author=Author(None, "anonyme"),
            proposer_email="voisin@example.org",
            message="Vu sur place",
        )
        return submitted.correction


async def state_of(db, initiative_id: int) -> Initiative:
    async with db.session() as session:
        return await initiatives.get_initiative(session, initiative_id)


async def test_anonymous_visitors_are_sent_to_sign_in(client, proposed):
    response = await client.get(f"/moderation/propositions/{proposed.id}")

    assert response.status_code == 303
    assert (
        response.headers["location"] == f"/connexion?suite=/moderation/propositions/{proposed.id}"
    )


async def test_contributors_and_referents_are_refused(client, db, contributor, sign_in):
    await sign_in(contributor)

    response = await client.get("/moderation")

    assert response.status_code == 403
    assert "Accès réservé" in html.unescape(response.text)


async def test_queue_lists_proposals_and_corrections_oldest_first(
    client, moderator, sign_in, correction, proposed
):
    await sign_in(moderator)

    response = await client.get("/moderation")

    assert response.status_code == 200
    text = html.unescape(response.text)
    assert "2 propositions attendent une décision" in text
    assert f'href="/moderation/propositions/{proposed.id}"' in text
    assert f'href="/moderation/corrections/{correction.id}"' in text
    assert text.index("Jardin partagé") < text.index("Épicerie solidaire")  # older first
    assert "cam@example.org" in text


async def test_proposal_page_shows_every_field_as_new(client, moderator, sign_in, proposed):
    await sign_in(moderator)

    response = await client.get(f"/moderation/propositions/{proposed.id}")

    assert response.status_code == 200
    text = html.unescape(response.text)
    assert "Champs de la proposition (tous nouveaux)" in text
    for label, value in [
        ("Nom de l'initiative", "Épicerie solidaire du Château"),
        ("Thèmes", "Solidarité et entraide"),
        ("Besoins auxquels elle répond", "Précarité alimentaire"),
        ("Site web", "https://epicerie.example.org"),
    ]:
        assert label in text and value in text
    assert "Doublons possibles" in text
    assert 'name="action" value="approve"' in text
    assert 'name="action" value="reject"' in text
    assert "?modifier=1" in text


async def test_approve_publishes_and_the_history_says_who(client, db, moderator, sign_in, proposed):
    token = await sign_in(moderator)

    response = await client.post(
        f"/moderation/propositions/{proposed.id}",
        data={"csrf_token": token, "action": "approve", "message": "Bienvenue !"},
    )

    assert response.status_code == 303
    assert (await state_of(db, proposed.id)).moderation_state == "published"
    history = await client.get(f"/moderation/historique/{proposed.slug}")
    text = html.unescape(history.text)
    assert "Décision de modération" in text and "modo@example.org" in text
    assert "Création" in text and "Bienvenue !" in text
    queue = await client.get("/moderation")
    assert "la file est vide" in html.unescape(queue.text)


async def test_reject_needs_a_message_then_tells_the_proposer(
    client, db, moderator, sign_in, proposed
):
    token = await sign_in(moderator)

    empty = await client.post(
        f"/moderation/propositions/{proposed.id}",
        data={"csrf_token": token, "action": "reject", "message": "  "},
    )
    assert empty.status_code == 422
    assert 'id="f-message-error">obligatoire' in empty.text
    assert (await state_of(db, proposed.id)).moderation_state == "proposed"

    response = await client.post(
        f"/moderation/propositions/{proposed.id}",
        data={"csrf_token": token, "action": "reject", "message": "Hors du territoire"},
    )

    assert response.status_code == 303
    rejected = await state_of(db, proposed.id)
    assert (rejected.moderation_state, rejected.moderation_note) == (
        "rejected",
        "Hors du territoire",
    )


async def test_edit_then_approve_applies_the_moderators_changes(
    client, db, moderator, sign_in, proposed, communes
):
    token = await sign_in(moderator)
    form = await client.get(f"/moderation/propositions/{proposed.id}?modifier=1")
    assert 'value="Épicerie solidaire du Château"' in form.text
    data = {
        "csrf_token": token,
        "action": "edit",
        "name": "Épicerie solidaire du Château (Rezé)",
        "summary": PROPOSAL["summary"],
        "themes": PROPOSAL["themes"],
        "needs": PROPOSAL["needs"],
        "actor_kinds": PROPOSAL["actor_kinds"],
        "status": "active",
        "city": "Rezé",
        "insee_code": "44143",
        "website": PROPOSAL["website"],
    }

    bad = await client.post(
        f"/moderation/propositions/{proposed.id}", data={**data, "latitude": "quatre-vingt"}
    )
    assert bad.status_code == 422
    assert 'id="f-latitude-error">doit être un nombre' in bad.text
    assert 'value="quatre-vingt"' in bad.text
    unchanged = await state_of(db, proposed.id)
    assert (unchanged.name, unchanged.moderation_state) == (PROPOSAL["name"], "proposed")

    response = await client.post(f"/moderation/propositions/{proposed.id}", data=data)

    assert response.status_code == 303
    done = await state_of(db, proposed.id)
    assert (done.name, done.moderation_state) == (data["name"], "published")
    async with db.session() as session:
        actions = [r.action for r in await initiatives.revisions(session, proposed.id)]
    assert actions == ["create", "moderation-edit", "moderate"]


async def test_decisions_without_csrf_change_nothing(client, db, moderator, sign_in, proposed):
    await sign_in(moderator)

    response = await client.post(
        f"/moderation/propositions/{proposed.id}", data={"action": "approve"}
    )

    assert response.status_code == 403
    assert (await state_of(db, proposed.id)).moderation_state == "proposed"


async def test_deciding_twice_is_a_clear_conflict(client, db, moderator, sign_in, proposed):
    token = await sign_in(moderator)
    await client.post(
        f"/moderation/propositions/{proposed.id}", data={"csrf_token": token, "action": "approve"}
    )

    again = await client.post(
        f"/moderation/propositions/{proposed.id}",
        data={"csrf_token": token, "action": "reject", "message": "non"},
    )

    assert again.status_code == 409
    assert "déjà" in again.text
    assert (await state_of(db, proposed.id)).moderation_state == "published"


async def test_unknown_action_is_refused(client, db, moderator, sign_in, proposed):
    token = await sign_in(moderator)

    response = await client.post(
        f"/moderation/propositions/{proposed.id}", data={"csrf_token": token, "action": "<x>"}
    )

    assert response.status_code == 409
    assert "Action inconnue" in response.text
    assert "<x>" not in response.text


async def test_correction_page_shows_old_new_and_current(
    client, moderator, sign_in, correction, published
):
    await sign_in(moderator)

    response = await client.get(f"/moderation/corrections/{correction.id}")

    assert response.status_code == 200
    text = html.unescape(response.text)
    assert '<del><span class="pre">Un jardin ouvert à tous</span></del>' in text
    assert '<ins><span class="pre">Ouvert le mercredi</span></ins>' in text
    assert "02 40 00 00 00" in text
    assert "Vu sur place" in text
    assert "voisin@example.org" in text


async def test_approving_a_correction_updates_the_initiative(
    client, db, moderator, sign_in, correction, published
):
    token = await sign_in(moderator)

    response = await client.post(
        f"/moderation/corrections/{correction.id}",
        data={"csrf_token": token, "action": "approve"},
    )

    assert response.status_code == 303
    updated = await state_of(db, published.id)
    assert (updated.summary, updated.phone) == ("Ouvert le mercredi", "02 40 00 00 00")


async def test_edit_then_apply_a_correction(
    client, db, moderator, sign_in, correction, published, communes
):
    token = await sign_in(moderator)
    form = await client.get(f"/moderation/corrections/{correction.id}?modifier=1")
    assert 'value="Ouvert le mercredi"' in form.text  # the proposed value, ready to edit

    response = await client.post(
        f"/moderation/corrections/{correction.id}",
        data={
            "csrf_token": token,
            "action": "edit",
            "name": published.name,
            "summary": "Ouvert le mercredi après-midi",
            "themes": ["alimentation"],
            "status": "active",
            "city": "Rezé",
            "insee_code": "44143",
            "latitude": "47.19",
            "longitude": "-1.55",
            "phone": "02 40 00 00 00",
        },
    )

    assert response.status_code == 303
    updated = await state_of(db, published.id)
    assert updated.summary == "Ouvert le mercredi après-midi"


async def test_rejecting_a_correction_keeps_the_initiative(
    client, db, moderator, sign_in, correction, published
):
    token = await sign_in(moderator)

    response = await client.post(
        f"/moderation/corrections/{correction.id}",
        data={"csrf_token": token, "action": "reject", "message": "Information non vérifiable"},
    )

    assert response.status_code == 303
    assert (await state_of(db, published.id)).summary == "Un jardin ouvert à tous"


async def test_unknown_items_are_404_pages(client, moderator, sign_in):
    await sign_in(moderator)

    for path in (
        "/moderation/propositions/999",
        "/moderation/corrections/999",
        "/moderation/historique/nope",
        "/moderation/historique/999",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "text/html" in response.headers["content-type"]


async def test_duplicate_candidates_are_shown_beside_the_proposal(
    client, db, moderator, sign_in, proposed
):
    pytest.importorskip("directory.imports.duplicates")  # the imports area fills this slot
    async with db.session() as session:
        await initiatives.create_initiative(
            session,
            {**PROPOSAL, "name": "Épicerie solidaire du Château"},
            author=Author(None, "import:test"),
            moderation_state="published",
        )
    await sign_in(moderator)

    response = await client.get(f"/moderation/propositions/{proposed.id}")

    text = html.unescape(response.text)
    assert "Ces initiatives ressemblent à la proposition" in text
    assert "même site web" in text


async def test_a_long_queue_is_paged(client, db, moderator, sign_in):
    async with db.session() as session:
        for n in range(52):
            await initiatives.create_initiative(
                session, {"name": f"Proposition {n:02d}"}, author=Author(None, "federation:x")
            )
    await sign_in(moderator)

    first = await client.get("/moderation")
    second = await client.get("/moderation?page=2")
    silly = await client.get("/moderation?page=-3")

    assert "52 propositions attendent une décision" in html.unescape(first.text)
    assert "Proposition 00" in first.text and "Proposition 50" not in first.text
    assert "Proposition 50" in second.text and "Proposition 51" in second.text
    assert 'href="/moderation?page=2"' in first.text
    assert silly.status_code == 200 and "Proposition 00" in silly.text
