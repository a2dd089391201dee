"""Sign in, sign out, sign up: sessions, CSRF, rate limits, deactivated accounts."""

from __future__ import annotations

import html

from directory import accounts
from directory.models import Person
from tests.web.contribute.conftest import PASSWORD, csrf_of, stamp


async def test_sign_in_rotates_the_session_and_lands_on_the_queue(client, moderator):
    before = await csrf_of(client)
    old_cookie = client.cookies.get("maillage_session")

    response = await client.post(
        "/connexion",
        data={"csrf_token": before, "email": "MODO@example.org ", "password": PASSWORD},
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/moderation"
    assert client.cookies.get("maillage_session") != old_cookie
    after = await csrf_of(client, "/deconnexion")
    assert after != before  # the pre-login token is dead
    queue = await client.get("/moderation")
    assert queue.status_code == 200
    assert "File de modération" in queue.text


async def test_sign_in_goes_back_where_the_person_was_going(client, moderator):
    redirect = await client.get("/moderation/historique/x")
    assert redirect.headers["location"] == "/connexion?suite=/moderation/historique/x"
    token = await csrf_of(client, redirect.headers["location"])

    response = await client.post(
        "/connexion",
        data={
            "csrf_token": token,
            "email": moderator.email,
            "password": PASSWORD,
            "suite": "/moderation/historique/x",
        },
    )

    assert response.headers["location"] == "/moderation/historique/x"


async def test_no_open_redirect_after_sign_in(client, moderator):
    token = await csrf_of(client)

    response = await client.post(
        "/connexion",
        data={
            "csrf_token": token,
            "email": moderator.email,
            "password": PASSWORD,
            "suite": "//evil.example/phish",
        },
    )

    assert response.headers["location"] == "/moderation"


async def test_wrong_password_is_refused_and_the_email_kept(client, moderator):
    token = await csrf_of(client)

    response = await client.post(
        "/connexion", data={"csrf_token": token, "email": moderator.email, "password": "nope"}
    )

    assert response.status_code == 401
    assert "mot de passe incorrect" in response.text
    assert f'value="{moderator.email}"' in response.text
    assert "person_id" not in response.text


async def test_missing_fields_are_named(client):
    token = await csrf_of(client)

    response = await client.post("/connexion", data={"csrf_token": token, "email": ""})

    assert response.status_code == 422
    assert 'id="f-email-error">obligatoire' in response.text
    assert 'id="f-password-error">obligatoire' in response.text


async def test_sign_in_without_csrf_is_refused(client, moderator):
    response = await client.post(
        "/connexion", data={"email": moderator.email, "password": PASSWORD}
    )

    assert response.status_code == 403
    assert "jeton de sécurité" in response.text
    assert (await client.get("/moderation")).status_code == 303


async def test_repeated_failures_lock_the_account_for_a_while(client, moderator):
    token = await csrf_of(client)
    for _ in range(5):
        response = await client.post(
            "/connexion",
            data={"csrf_token": token, "email": moderator.email, "password": "guess"},
        )
        assert response.status_code == 401

    # Even the right password is refused until the window ends.
    response = await client.post(
        "/connexion", data={"csrf_token": token, "email": moderator.email, "password": PASSWORD}
    )

    assert response.status_code == 429
    assert "Trop de tentatives de connexion" in response.text


async def test_sign_out_needs_a_post_with_csrf(client, moderator, sign_in):
    token = await sign_in(moderator)

    confirm = await client.get("/deconnexion")
    assert confirm.status_code == 200 and 'action="/deconnexion"' in confirm.text
    refused = await client.post("/deconnexion", data={})
    assert refused.status_code == 403
    assert (await client.get("/moderation")).status_code == 200

    response = await client.post("/deconnexion", data={"csrf_token": token})

    assert response.status_code == 303
    assert (await client.get("/moderation")).status_code == 303


async def test_deactivated_account_loses_its_session_and_cannot_sign_in(
    client, db, moderator, admin, sign_in
):
    await sign_in(moderator)
    async with db.session() as session:
        await accounts.set_active(session, await session.get(Person, moderator.id), False)

    assert (await client.get("/moderation")).status_code == 303
    token = await csrf_of(client)
    response = await client.post(
        "/connexion", data={"csrf_token": token, "email": moderator.email, "password": PASSWORD}
    )
    assert response.status_code == 401


async def test_sign_up_creates_a_contributor_and_signs_in(client, db, settings):
    token = await csrf_of(client, "/inscription")

    response = await client.post(
        "/inscription",
        data={
            "csrf_token": token,
            "form_stamp": stamp(settings),
            "email": "nouvelle@example.org",
            "display_name": "Nouvelle",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        },
    )

    assert response.status_code == 303
    page = await client.get("/mes-propositions")
    assert page.status_code == 200
    assert "Votre compte est créé" in html.unescape(page.text)
    moderation = await client.get("/moderation")
    assert moderation.status_code == 403  # a contributor is no moderator


async def test_sign_up_bad_input(client, db, settings, contributor):
    token = await csrf_of(client, "/inscription")
    base = {"csrf_token": token, "form_stamp": stamp(settings), "display_name": "<b>X</b>"}

    mismatch = await client.post(
        "/inscription",
        data={**base, "email": "a@example.org", "password": PASSWORD, "password_confirm": "x"},
    )
    short = await client.post(
        "/inscription",
        data={**base, "email": "a@example.org", "password": "court", "password_confirm": "court"},
    )
    taken = await client.post(
        "/inscription",
        data={
            **base,
            "email": contributor.email,
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        },
    )

    assert mismatch.status_code == 422 and "les deux mots de passe diffèrent" in mismatch.text
    assert short.status_code == 422 and "au moins 10 caractères" in short.text
    assert taken.status_code == 422 and "un compte existe déjà" in html.unescape(taken.text)
    assert "&lt;b&gt;X&lt;/b&gt;" in taken.text
    assert (await client.get("/mes-propositions")).status_code == 303
