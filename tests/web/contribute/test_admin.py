"""Administration: accounts and roles, instance settings, the federation page."""

from __future__ import annotations

import html

from sqlalchemy import select, update

from directory import collections, instance, territory
from directory.models import Commune, Person, utcnow
from directory.models_collections import CollectionItem
from federation import follows, instances
from federation.flow_models import DomainBlock, RemoteInstance
from tests.web.contribute.conftest import count
from tests.web.contribute.remote import record_contact


async def person_by_email(db, email: str) -> Person | None:
    async with db.session() as session:
        return await session.scalar(select(Person).where(Person.email == email))


async def test_admin_pages_are_for_admins_only(client, moderator, sign_in):
    await sign_in(moderator)

    for path in ("/admin", "/admin/comptes", "/admin/parametres", "/admin/federation"):
        response = await client.get(path)
        assert response.status_code == 403, path


async def test_dashboard_links_every_admin_page(client, admin, sign_in):
    await sign_in(admin)

    response = await client.get("/admin")

    assert response.status_code == 200
    for href in ("/moderation", "/admin/comptes", "/admin/parametres", "/admin/federation"):
        assert f'href="{href}"' in response.text


async def test_create_an_account_with_a_role(client, db, admin, sign_in):
    token = await sign_in(admin)

    response = await client.post(
        "/admin/comptes",
        data={
            "csrf_token": token,
            "email": "Referente@Example.org",
            "display_name": "Référente",
            "role": "referent",
            "password": "un mot de passe long",
        },
    )

    assert response.status_code == 303
    created = await person_by_email(db, "referente@example.org")
    assert created is not None and created.role == "referent"
    listing = await client.get("/admin/comptes")
    assert "Compte créé pour referente@example.org" in html.unescape(listing.text)


async def test_account_form_bad_input_is_named_and_kept(client, db, admin, sign_in):
    token = await sign_in(admin)

    response = await client.post(
        "/admin/comptes",
        data={
            "csrf_token": token,
            "email": "pas-un-mail",
            "display_name": "<img src=x onerror=alert(1)>",
            "role": "empereur",
            "password": "court",
        },
    )

    assert response.status_code == 422
    assert 'id="f-email-error">adresse e-mail invalide' in response.text
    assert 'id="f-password-error">au moins 10 caractères' in response.text
    assert 'id="f-role-error">' in response.text
    assert 'value="pas-un-mail"' in response.text
    assert "<img src=x" not in response.text
    assert await count(db, Person) == 1


async def test_duplicate_account_is_refused(client, db, admin, sign_in, moderator):
    token = await sign_in(admin)

    response = await client.post(
        "/admin/comptes",
        data={
            "csrf_token": token,
            "email": moderator.email,
            "role": "contributor",
            "password": "un mot de passe long",
        },
    )

    assert response.status_code == 422
    assert "un compte existe déjà" in html.unescape(response.text)


async def test_change_role_and_deactivate(client, db, admin, moderator, sign_in):
    token = await sign_in(admin)

    promoted = await client.post(
        f"/admin/comptes/{moderator.id}",
        data={"csrf_token": token, "action": "role", "role": "admin"},
    )
    deactivated = await client.post(
        f"/admin/comptes/{moderator.id}", data={"csrf_token": token, "action": "deactivate"}
    )

    assert promoted.status_code == deactivated.status_code == 303
    person = await person_by_email(db, moderator.email)
    assert (person.role, person.active) == ("admin", False)


async def test_the_last_admin_keeps_the_role_and_cannot_deactivate_themself(
    client, db, admin, sign_in
):
    token = await sign_in(admin)

    demoted = await client.post(
        f"/admin/comptes/{admin.id}",
        data={"csrf_token": token, "action": "role", "role": "contributor"},
    )
    self_off = await client.post(
        f"/admin/comptes/{admin.id}", data={"csrf_token": token, "action": "deactivate"}
    )

    assert demoted.status_code == 409
    assert "dernier compte administrateur" in demoted.text
    assert self_off.status_code == 409
    person = await person_by_email(db, admin.email)
    assert (person.role, person.active) == ("admin", True)


async def test_role_change_without_csrf_is_refused(client, db, admin, moderator, sign_in):
    await sign_in(admin)

    response = await client.post(
        f"/admin/comptes/{moderator.id}", data={"action": "role", "role": "admin"}
    )

    assert response.status_code == 403
    assert (await person_by_email(db, moderator.email)).role == "moderator"


def settings_form(token: str, **fields: str) -> dict[str, str]:
    data = {
        "csrf_token": token,
        "territory_name": "Loire-Atlantique",
        "territory_kind": "departement",
        "territory_code": "44",
        **{name: "" for name in instance.KEY_NAMES},
    }
    data.update(fields)
    return data


async def test_settings_are_stored_and_shown(client, db, admin, sign_in):
    token = await sign_in(admin)

    response = await client.post(
        "/admin/parametres",
        data=settings_form(
            token,
            site_name="Initiatives de Loire-Atlantique",
            welcome_text="Bienvenue **à tous**",
            logo_url="https://cdn.example.org/logo.png",
            tile_url="https://tiles.example.org/{z}/{x}/{y}.png",
            licence="ODbL",
        ),
    )

    assert response.status_code == 303
    async with db.session() as session:
        stored = await instance.load(session)
        area = await territory.get_territory(session)
    assert stored["site_name"] == "Initiatives de Loire-Atlantique"
    assert stored["tile_url"] == "https://tiles.example.org/{z}/{x}/{y}.png"
    assert "licence_url" not in stored  # empty: the environment's default stays
    assert (area.name, area.kind, area.code) == ("Loire-Atlantique", "departement", "44")
    page = await client.get("/admin/parametres")
    assert 'value="ODbL"' in page.text
    assert "Initiatives de Loire-Atlantique" in page.text  # the layout uses the new name


async def test_bad_settings_are_named_kept_and_not_stored(client, db, admin, sign_in):
    token = await sign_in(admin)

    response = await client.post(
        "/admin/parametres",
        data=settings_form(
            token,
            territory_name="",
            territory_kind="galaxie",
            logo_url="javascript:alert(1)",
            tile_url="https://tiles.example.org/tile.png",
            site_name="x" * 121,
        ),
    )

    assert response.status_code == 422
    assert 'id="f-logo_url-error">' in response.text
    assert 'id="f-tile_url-error">' in response.text and "{z}" in response.text
    assert 'id="f-site_name-error">trop long' in response.text
    assert 'value="javascript:alert(1)"' in response.text
    async with db.session() as session:
        assert await instance.load(session) == {}
        assert await territory.get_territory(session) is None


async def test_communes_csv_upload(client, db, admin, sign_in):
    token = await sign_in(admin)
    csv = "insee;nom;lat;lon;population;code_postal\n44143;Rezé;47.18;-1.55;42000;44400\n"

    response = await client.post(
        "/admin/parametres",
        data=settings_form(token),
        files={"communes_csv": ("communes.csv", csv.encode(), "text/csv")},
    )

    assert response.status_code == 303
    assert await count(db, Commune) == 1


async def test_bad_communes_csv_is_explained(client, db, admin, sign_in):
    token = await sign_in(admin)

    broken = await client.post(
        "/admin/parametres",
        data=settings_form(token),
        files={"communes_csv": ("c.csv", b"insee;nom\nABCDE;X\n", "text/csv")},
    )
    latin1 = await client.post(
        "/admin/parametres",
        data=settings_form(token),
        files={"communes_csv": ("c.csv", "44143;Rezé;1;1".encode("latin-1"), "text/csv")},
    )

    assert broken.status_code == 422 and "code INSEE invalide" in broken.text
    assert latin1.status_code == 422 and "UTF-8" in latin1.text
    assert await count(db, Commune) == 0


async def test_federation_page_shows_follows_health_and_trust(client, db, admin, sign_in):
    async with db.session() as session:
        await record_contact(session, "region.test")
        await record_contact(session, "broken.test", error="HTTP 500 on delivery")
        await instances.record_software(session, "region.test", "maillage", "0.2.0", at=utcnow())
        await follows.add_following(
            session,
            remote_actor_uri="https://region.test/actors/region",
            remote_host="region.test",
            inbox="https://region.test/inbox",
            follow_id="https://maillage.test/activities/follow-1",
        )
        await follows.add_follower(
            session,
            actor_name="loire-atlantique",
            remote_actor_uri="https://national.test/actors/france",
            remote_host="national.test",
            inbox="https://national.test/inbox",
        )
    await sign_in(admin)

    response = await client.get("/admin/federation")

    assert response.status_code == 200
    text = response.text
    for host in ("region.test", "broken.test", "national.test"):
        assert host in text
    assert "HTTP 500 on delivery" in text
    assert "maillage 0.2.0" in text  # what region.test's NodeInfo said it runs
    assert "en attente" in text  # our follow of region.test
    assert "1 abonnement" in text  # national.test follows us


async def test_federation_page_lists_collection_items_not_fetched(client, db, admin, sign_in):
    async with db.session() as session:
        await collections.replace_remote(
            session,
            uri="https://region.test/collections/tiers",
            origin="region.test",
            name="Tiers",
            summary="",
            items=["https://third.test/initiatives/a", "https://third.test/initiatives/b"],
            local_base_url="https://maillage.test",
        )
        await session.execute(
            update(CollectionItem)
            .where(CollectionItem.target_uri.endswith("/a"))
            .values(fetch_state="failed", fetch_error="rien à cette adresse (404)")
        )
    await sign_in(admin)

    text = html.unescape((await client.get("/admin/federation")).text)

    assert "Initiatives de collections non récupérées" in text
    assert "https://third.test/initiatives/a</a> (Tiers)" in text
    assert "rien à cette adresse (404)" in text
    assert "third.test/initiatives/b" not in text  # still pending, nothing wrong yet


async def test_set_trust_and_block_a_domain(client, db, admin, sign_in):
    async with db.session() as session:
        await record_contact(session, "region.test")
    token = await sign_in(admin)

    trusted = await client.post(
        "/admin/federation",
        data={"csrf_token": token, "action": "trust", "host": "region.test", "trust": "publish"},
    )
    blocked = await client.post(
        "/admin/federation",
        data={"csrf_token": token, "action": "block", "domain": "Spam.Example", "reason": "spam"},
    )

    assert trusted.status_code == blocked.status_code == 303
    async with db.session() as session:
        remote = await session.scalar(select(RemoteInstance))
        assert remote.trust == "publish"
        assert await instances.is_blocked(session, "a.spam.example")
    page = await client.get("/admin/federation")
    assert "spam.example" in page.text

    unblocked = await client.post(
        "/admin/federation",
        data={"csrf_token": token, "action": "unblock", "domain": "spam.example"},
    )
    assert unblocked.status_code == 303
    assert await count(db, DomainBlock) == 0


async def test_federation_bad_input(client, db, admin, sign_in):
    async with db.session() as session:
        await record_contact(session, "region.test")
    token = await sign_in(admin)

    bad_trust = await client.post(
        "/admin/federation",
        data={"csrf_token": token, "action": "trust", "host": "region.test", "trust": "yolo"},
    )
    empty_domain = await client.post(
        "/admin/federation", data={"csrf_token": token, "action": "block", "domain": " "}
    )
    no_csrf = await client.post(
        "/admin/federation", data={"action": "block", "domain": "evil.example"}
    )

    assert bad_trust.status_code == 422 and "attendu : publish, hold, block" in bad_trust.text
    assert (
        empty_domain.status_code == 422 and 'id="f-domain-error">obligatoire' in empty_domain.text
    )
    assert no_csrf.status_code == 403
    assert await count(db, DomainBlock) == 0
    async with db.session() as session:
        assert (await session.scalar(select(RemoteInstance))).trust == "hold"


async def test_tile_server_and_licence_settings_reach_the_pages(client, db, admin, sign_in):
    token = await sign_in(admin)
    await client.post(
        "/admin/parametres",
        data=settings_form(
            token, tile_url="https://tuiles.example.fr/{z}/{x}/{y}.png", licence="ODbL 1.0"
        ),
    )

    page = await client.get("/proposer")

    assert 'data-tile-url="https://tuiles.example.fr/{z}/{x}/{y}.png"' in page.text
    assert "ODbL 1.0" in page.text  # the footer's licence
