"""Sign in, sign out, create a contributor account; with a stored sign-in rate limit."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from directory import antispam, people, sign_ins
from directory.errors import Conflict, ValidationError
from web import auth, forms
from web.contribute import check_antispam, client_ip, rate_limited, too_many
from web.i18n import N_, ngettext
from web.i18n import gettext as _
from web.ui import Page, flash, page, render, see_other


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a path of this site (never //host or a scheme): no open redirect."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return default


def landing(person_role: str) -> str:
    return "/moderation" if person_role in ("admin", "moderator") else "/mes-propositions"


@page()
async def sign_in(page_: Page) -> Response:
    request = page_.request
    target = request.query_params.get("suite", "")
    if request.method == "GET":
        if page_.person is not None:
            return see_other(safe_next(target, landing(page_.person.role)))
        return await render(page_, "admin/login.html", {"values": {"suite": target}, "errors": {}})
    form = await forms.read_form(request)
    email = forms.text(form, "email").strip()[:254]
    password = forms.text(form, "password")[:1000]
    target = forms.text(form, "suite")
    values = {"email": email, "suite": target}
    errors: dict[str, str] = {}
    if not email:
        errors["email"] = N_("obligatoire")
    if not password:
        errors["password"] = N_("obligatoire")
    if errors:
        return await render(
            page_, "admin/login.html", {"values": values, "errors": errors}, status_code=422
        )
    ip_key = f"login-failures:ip:{client_ip(request)}"
    account_key = f"login-failures:account:{email.lower()}"
    by_ip = await antispam.peek(page_.session, ip_key, antispam.LOGIN_FAILURES_PER_IP)
    by_account = await antispam.peek(
        page_.session, account_key, antispam.LOGIN_FAILURES_PER_ACCOUNT
    )
    if not (by_ip.allowed and by_account.allowed):
        wait = max(1, round(max(by_ip.retry_after, by_account.retry_after) / 60))
        errors["_"] = ngettext(
            "Trop de tentatives de connexion : réessayez dans %(num)s minute.",
            "Trop de tentatives de connexion : réessayez dans %(num)s minutes.",
            wait,
        ) % {"num": wait}
        return await render(
            page_, "admin/login.html", {"values": values, "errors": errors}, status_code=429
        )
    person = await people.authenticate(page_.session, email, password)
    if person is None:
        await antispam.hit(page_.session, ip_key, antispam.LOGIN_FAILURES_PER_IP)
        await antispam.hit(page_.session, account_key, antispam.LOGIN_FAILURES_PER_ACCOUNT)
        errors["_"] = N_("Adresse e-mail ou mot de passe incorrect (ou compte désactivé).")
        return await render(
            page_, "admin/login.html", {"values": values, "errors": errors}, status_code=401
        )
    await antispam.clear(page_.session, account_key)
    await auth.begin_session(request, page_.session, person)
    flash(
        request,
        _("Bonjour %(name)s : vous êtes connecté·e.")
        % {"name": person.display_name or person.email},
    )
    return see_other(safe_next(target, landing(person.role)))


@page()
async def sign_out(page_: Page) -> Response:
    request = page_.request
    if request.method == "GET":
        return await render(page_, "admin/logout.html", {})
    await forms.read_form(request)
    await auth.end_session(request, page_.session)
    flash(request, _("Vous êtes déconnecté·e."))
    return see_other("/")


@page()
async def sign_up(page_: Page) -> Response:
    """A contributor account, to propose without giving one's e-mail each time."""
    request = page_.request
    if request.method == "GET":
        return await render(page_, "admin/signup.html", {"values": {}, "errors": {}})
    form = await forms.read_form(request)
    values = {
        "email": forms.text(form, "email").strip()[:254],
        "display_name": forms.text(form, "display_name"),
    }
    password, confirm = forms.text(form, "password"), forms.text(form, "password_confirm")
    errors = await check_antispam(page_, form)
    status = 422
    if not errors:
        if len(values["display_name"]) > 120:
            errors["display_name"] = N_("trop long (maximum 120 caractères)")
        if len(password) > 1000:
            errors["password"] = N_("trop long (maximum 1000 caractères)")
        elif password != confirm:
            errors["password_confirm"] = N_("les deux mots de passe diffèrent")
    if not errors:
        verdict = await rate_limited(page_, "signup", antispam.SIGNUPS_PER_IP)
        if not verdict.allowed:
            errors, status = {"_": too_many(verdict)}, 429
    if not errors:
        try:
            person = await people.create_person(
                page_.session,
                email=values["email"],
                password=password,
                display_name=values["display_name"],
            )
        except ValidationError as exc:
            await page_.rollback()
            errors = exc.errors
        except Conflict as exc:
            await page_.rollback()
            errors = {exc.field or "email": N_("un compte existe déjà pour cette adresse")}
        else:
            await auth.begin_session(request, page_.session, person)
            flash(request, _("Votre compte est créé : vous êtes connecté·e."))
            return see_other("/mes-propositions")
    return await render(
        page_, "admin/signup.html", {"values": values, "errors": errors}, status_code=status
    )


async def _account_page(
    page_: Page, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    assert page_.person is not None
    sessions = await sign_ins.sessions_of(page_.session, page_.person.id)
    token = auth.session_token(page_.request)
    current = next((s.id for s in sessions if sign_ins.is_token_of(s, token)), None)
    return await render(
        page_,
        "admin/account.html",
        {"sessions": sessions, "current_id": current, "errors": errors or {}},
        status_code=status,
    )


@page(role="contributor")
async def account(page_: Page) -> Response:
    """The person's open sessions (end one, or all), and the password change."""
    request = page_.request
    person = page_.person
    assert person is not None
    if request.method == "GET":
        return await _account_page(page_)
    form = await forms.read_form(request)
    action = forms.text(form, "action")
    if action == "end_all":
        await sign_ins.end_sessions(page_.session, person.id)
        forms.rotate_session(request)
        flash(request, _("Toutes vos sessions sont fermées, celle-ci comprise."))
        return see_other("/connexion")
    if action == "end":
        number = forms.text(form, "session")
        ended = number.isdigit() and await sign_ins.end_session_of(
            page_.session, person.id, int(number)
        )
        if ended:
            flash(request, _("Session fermée."))
        return see_other("/compte")
    if action == "password":
        password = forms.text(form, "password")
        errors: dict[str, str] = {}
        if password != forms.text(form, "password_confirm"):
            errors["password_confirm"] = N_("les deux mots de passe diffèrent")
        try:
            await people.change_password(
                page_.session,
                person,
                forms.text(form, "current_password")[:1000],
                password,
                keep_session=auth.session_token(request),
            )
        except ValidationError as exc:
            errors = {**exc.errors, **errors}
        if errors:
            await page_.rollback()
            return await _account_page(page_, errors, 422)
        flash(request, _("Mot de passe changé ; vos autres sessions sont fermées."))
        return see_other("/compte")
    return await _account_page(page_, {"_": N_("action inconnue")}, 422)


def routes() -> list[BaseRoute]:
    return [
        Route("/connexion", sign_in, methods=["GET", "POST"], name="sign_in"),
        Route("/deconnexion", sign_out, methods=["GET", "POST"], name="sign_out"),
        Route("/inscription", sign_up, methods=["GET", "POST"], name="sign_up"),
        Route("/compte", account, methods=["GET", "POST"], name="account"),
    ]
