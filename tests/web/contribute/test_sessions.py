"""Sessions kept on the server: sign-out, a lowered role, a disabled account or a new
password end them, even in a browser that kept (or stole) the cookie."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from directory import accounts, people, sign_ins
from directory.models import Person, SignIn
from tests.web.contribute.conftest import PASSWORD, csrf_of

NEW_PASSWORD = "another long passphrase"


def browser(client: httpx.AsyncClient, app) -> httpx.AsyncClient:
    """Another browser, with cookies of its own."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=str(client.base_url))


def copy_of(client: httpx.AsyncClient, app) -> httpx.AsyncClient:
    """Another browser holding a copy of `client`'s session cookie (a stolen cookie)."""
    thief = browser(client, app)
    thief.cookies.set("maillage_session", client.cookies["maillage_session"])
    return thief


async def live_sessions(db, person: Person) -> int:
    async with db.session() as session:
        return (
            await session.scalar(
                select(func.count()).select_from(SignIn).where(SignIn.person_id == person.id)
            )
            or 0
        )


async def test_a_replayed_cookie_after_sign_out_signs_nobody_in(
    app, client, db, moderator, sign_in
):
    token = await sign_in(moderator)
    async with copy_of(client, app) as thief:
        assert (await thief.get("/moderation")).status_code == 200

        await client.post("/deconnexion", data={"csrf_token": token})

        assert await live_sessions(db, moderator) == 0
        page = await thief.get("/moderation")
        assert page.status_code == 303
        assert page.headers["location"].startswith("/connexion")
        api = await thief.get("/api/v1/tokens")
        assert api.status_code == 401


async def test_lowering_a_role_ends_the_sessions_of_that_person(
    app, client, db, moderator, sign_in
):
    await sign_in(moderator)
    async with db.session() as session:
        await accounts.set_role(session, await session.get(Person, moderator.id), "contributor")

    assert await live_sessions(db, moderator) == 0
    assert (await client.get("/compte")).status_code == 303


async def test_raising_a_role_keeps_the_session(client, db, contributor, sign_in):
    await sign_in(contributor)
    async with db.session() as session:
        await accounts.set_role(session, await session.get(Person, contributor.id), "moderator")

    assert (await client.get("/moderation")).status_code == 200


async def test_an_admin_disabling_or_demoting_someone_ends_their_sessions(
    app, client, db, admin, moderator, sign_in
):
    async with browser(client, app) as other:
        token = await csrf_of(other)
        await other.post(
            "/connexion", data={"csrf_token": token, "email": moderator.email, "password": PASSWORD}
        )
        assert (await other.get("/moderation")).status_code == 200
        admin_token = await sign_in(admin)

        response = await client.post(
            f"/admin/comptes/{moderator.id}",
            data={"csrf_token": admin_token, "action": "role", "role": "referent"},
        )

        assert response.status_code == 303
        assert (await other.get("/moderation")).status_code == 303
        assert (await client.get("/admin/comptes")).status_code == 200  # the admin's stays


async def test_an_admin_can_close_the_sessions_of_an_account(
    app, client, db, admin, moderator, sign_in
):
    async with db.session() as session:
        await sign_ins.open_session(session, await session.get(Person, moderator.id))
        await sign_ins.open_session(session, await session.get(Person, moderator.id))
    token = await sign_in(admin)

    response = await client.post(
        f"/admin/comptes/{moderator.id}", data={"csrf_token": token, "action": "sign_out"}
    )

    assert response.status_code == 303
    assert await live_sessions(db, moderator) == 0
    assert await live_sessions(db, admin) == 1


async def test_the_account_page_lists_sessions_and_signs_out_everywhere(
    app, client, db, contributor, sign_in
):
    await sign_in(contributor)
    async with browser(client, app) as other:
        token = await csrf_of(other)
        await other.post(
            "/connexion",
            data={"csrf_token": token, "email": contributor.email, "password": PASSWORD},
        )
        page = await client.get("/compte", headers={"user-agent": "Firefox de test"})
        assert page.status_code == 200
        assert page.text.count('name="action" value="end"') == 2
        assert "ce navigateur" in page.text
        csrf = await csrf_of(client, "/compte")

        response = await client.post("/compte", data={"csrf_token": csrf, "action": "end_all"})

        assert response.status_code == 303
        assert await live_sessions(db, contributor) == 0
        assert (await other.get("/compte")).status_code == 303
        assert (await client.get("/compte")).status_code == 303


async def test_closing_one_session_from_the_list(app, client, db, contributor, sign_in):
    async with db.session() as session:
        await sign_ins.open_session(
            session, await session.get(Person, contributor.id), user_agent="Vieux téléphone"
        )
    csrf = await sign_in(contributor)
    async with db.session() as session:
        rows = await sign_ins.sessions_of(session, contributor.id)
    phone = next(r for r in rows if r.user_agent == "Vieux téléphone")

    response = await client.post(
        "/compte", data={"csrf_token": csrf, "action": "end", "session": str(phone.id)}
    )

    assert response.status_code == 303
    assert await live_sessions(db, contributor) == 1
    assert (await client.get("/compte")).status_code == 200


async def test_someone_else_s_session_cannot_be_closed_from_one_s_account(
    client, db, contributor, moderator, sign_in
):
    async with db.session() as session:
        await sign_ins.open_session(session, await session.get(Person, moderator.id))
        rows = await sign_ins.sessions_of(session, moderator.id)
    csrf = await sign_in(contributor)

    await client.post(
        "/compte", data={"csrf_token": csrf, "action": "end", "session": str(rows[0].id)}
    )

    assert await live_sessions(db, moderator) == 1


async def test_a_password_change_ends_the_other_sessions_only(
    app, client, db, contributor, sign_in
):
    async with db.session() as session:
        await sign_ins.open_session(session, await session.get(Person, contributor.id))
    csrf = await sign_in(contributor)
    async with copy_of(client, app) as copy:
        response = await client.post(
            "/compte",
            data={
                "csrf_token": csrf,
                "action": "password",
                "current_password": PASSWORD,
                "password": NEW_PASSWORD,
                "password_confirm": NEW_PASSWORD,
            },
        )

        assert response.status_code == 303
        assert await live_sessions(db, contributor) == 1
        assert (await client.get("/compte")).status_code == 200
        assert (await copy.get("/compte")).status_code == 200  # same cookie: this very session
    async with db.session() as session:
        assert people.check_password(await session.get(Person, contributor.id), NEW_PASSWORD)


async def test_a_wrong_current_password_changes_nothing(client, db, contributor, sign_in):
    async with db.session() as session:
        await sign_ins.open_session(session, await session.get(Person, contributor.id))
    csrf = await sign_in(contributor)

    response = await client.post(
        "/compte",
        data={
            "csrf_token": csrf,
            "action": "password",
            "current_password": "not the one",
            "password": NEW_PASSWORD,
            "password_confirm": "different passphrase",
        },
    )

    assert response.status_code == 422
    assert 'id="f-current_password-error"' in response.text
    assert 'id="f-password_confirm-error"' in response.text
    assert await live_sessions(db, contributor) == 2
    async with db.session() as session:
        assert people.check_password(await session.get(Person, contributor.id), PASSWORD)


async def test_an_expired_session_signs_nobody_in(client, db, contributor, sign_in):
    await sign_in(contributor)
    async with db.session() as session:
        row = (await sign_ins.sessions_of(session, contributor.id))[0]
        row.last_seen_at = row.last_seen_at - sign_ins.LIFETIME - sign_ins.TOUCH_EVERY

    assert (await client.get("/compte")).status_code == 303
    assert await live_sessions(db, contributor) == 0


async def test_an_unknown_token_in_a_validly_signed_cookie_is_refused(app, settings):
    import base64
    import json

    from itsdangerous import TimestampSigner

    signer = TimestampSigner(settings.secret_key)
    forged = base64.b64encode(json.dumps({"sid": "made-up", "person_id": 1}).encode())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=settings.base_url) as browser:
        browser.cookies.set("maillage_session", signer.sign(forged).decode())
        assert (await browser.get("/compte")).status_code == 303
