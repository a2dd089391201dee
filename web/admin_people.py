"""Administration: accounts and roles, instance settings and territory."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from directory import accounts, instance, people, sign_ins, territory
from directory.errors import Conflict, ValidationError
from directory.vocabulary import ROLES, TERRITORY_KINDS
from web import forms, i18n
from web.i18n import N_
from web.i18n import gettext as _
from web.ui import Page, flash, page, render, see_other

COMMUNES_CSV_LIMIT = 5_000_000


@page(role="admin")
async def dashboard(page_: Page) -> Response:
    return await render(
        page_,
        "admin/dashboard.html",
        {
            "people": await accounts.list_people(page_.session),
            "territory": await territory.get_territory(page_.session),
        },
    )


async def _people_page(
    page_: Page, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    return await render(
        page_,
        "admin/people.html",
        {
            "people": await accounts.list_people(page_.session),
            "roles": ROLES,
            "role_options": [(r.slug, r.label(i18n.current_language())) for r in ROLES],
            "values": values,
            "errors": errors,
        },
        status_code=status,
    )


@page(role="admin")
async def people_list(page_: Page) -> Response:
    """Accounts, and the form that creates one."""
    request = page_.request
    if request.method == "GET":
        return await _people_page(page_, {"role": "contributor"}, {})
    form = await forms.read_form(request)
    values = {
        "email": forms.text(form, "email").strip()[:254],
        "display_name": forms.text(form, "display_name"),
        "role": forms.text(form, "role"),
    }
    password = forms.text(form, "password")
    errors: dict[str, str] = {}
    if len(values["display_name"]) > 120:
        errors["display_name"] = N_("trop long (maximum 120 caractères)")
    if len(password) > 1000:
        errors["password"] = N_("trop long (maximum 1000 caractères)")
    if not errors:
        try:
            person = await people.create_person(
                page_.session,
                email=values["email"],
                password=password,
                role=values["role"],
                display_name=values["display_name"],
            )
        except ValidationError as exc:
            await page_.rollback()
            errors = exc.errors
        except Conflict as exc:
            await page_.rollback()
            errors = {exc.field or "email": str(exc)}
        else:
            flash(request, _("Compte créé pour %(email)s.") % {"email": person.email})
            return see_other("/admin/comptes")
    return await _people_page(page_, values, errors, 422)


@page(role="admin")
async def person_update(page_: Page) -> Response:
    """Change one account's role, or (de)activate it."""
    request = page_.request
    person = await accounts.get_person(page_.session, int(request.path_params["id"]))
    form = await forms.read_form(request)
    action = forms.text(form, "action")
    try:
        if action == "role":
            await accounts.set_role(page_.session, person, forms.text(form, "role"))
            message = _("%(email)s : rôle changé.") % {"email": person.email}
        elif action in ("deactivate", "activate"):
            if action == "deactivate" and page_.person and person.id == page_.person.id:
                raise Conflict("vous ne pouvez pas désactiver votre propre compte", "active")
            await accounts.set_active(page_.session, person, action == "activate")
            done = (
                _("%(email)s : compte réactivé.")
                if action == "activate"
                else _("%(email)s : compte désactivé.")
            )
            message = done % {"email": person.email}
        elif action == "sign_out":
            ended = await sign_ins.end_sessions(page_.session, person.id)
            message = _("%(email)s : %(num)s session(s) fermée(s).") % {
                "email": person.email,
                "num": ended,
            }
        else:
            raise ValidationError({"action": N_("action inconnue")})
    except (ValidationError, Conflict) as exc:
        await page_.rollback(person)
        reason = "; ".join(exc.errors.values()) if isinstance(exc, ValidationError) else str(exc)
        return await _people_page(
            page_, {"role": "contributor"}, {f"person-{person.id}": reason}, 409
        )
    flash(request, message)
    return see_other("/admin/comptes")


async def _settings_page(
    page_: Page, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    settings = page_.request.app.state.settings
    return await render(
        page_,
        "admin/settings.html",
        {
            "values": values,
            "errors": errors,
            "kind_options": [(k.slug, k.label(i18n.current_language())) for k in TERRITORY_KINDS],
            "defaults": {
                "site_name": settings.territory_name,
                "licence": settings.licence,
                "licence_url": settings.licence_url,
                "tile_url": settings.tile_url,
                "tile_attribution": settings.tile_attribution,
            },
            "communes": len(await territory.communes(page_.session)),
        },
        status_code=status,
    )


@page(role="admin")
async def settings_page(page_: Page) -> Response:
    """Territory (name, kind, code, communes) and what the site shows (name, logo, tiles...)."""
    request = page_.request
    current = await territory.get_territory(page_.session)
    if request.method == "GET":
        values: dict[str, Any] = dict(await instance.load(page_.session))
        settings = request.app.state.settings
        values["territory_name"] = current.name if current else settings.territory_name
        values["territory_kind"] = current.kind if current else settings.territory_kind
        values["territory_code"] = current.code if current else settings.territory_code
        return await _settings_page(page_, values, {})
    form = await forms.read_form(request)
    values = {name: forms.text(form, name) for name in instance.KEY_NAMES}
    for name in ("territory_name", "territory_kind", "territory_code"):
        values[name] = forms.text(form, name)
    errors: dict[str, str] = {}
    rows: list[territory.CommuneRow] = []
    upload = form.get("communes_csv")
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read(COMMUNES_CSV_LIMIT + 1)
        if len(raw) > COMMUNES_CSV_LIMIT:
            errors["communes_csv"] = N_("fichier trop volumineux (5 Mo au plus)")
        else:
            try:
                rows = territory.parse_communes_csv(raw.decode("utf-8-sig"))
            except UnicodeDecodeError:
                errors["communes_csv"] = N_("le fichier doit être encodé en UTF-8")
            except ValidationError as exc:
                first = list(exc.errors.items())[:3]
                errors["communes_csv"] = "; ".join(f"{where} : {why}" for where, why in first)
    try:
        instance.clean_settings({name: values[name] for name in instance.KEY_NAMES})
    except ValidationError as exc:
        errors.update(exc.errors)
    if len(values["territory_code"]) > 20:
        errors["territory_code"] = N_("trop long (maximum 20 caractères)")
    if len(values["territory_name"]) > 200:
        errors["territory_name"] = N_("trop long (maximum 200 caractères)")
    if not errors:
        try:
            await territory.set_territory(
                page_.session,
                name=values["territory_name"],
                kind=values["territory_kind"],
                code=values["territory_code"].strip(),
                communes=rows,
            )
            await instance.save(page_.session, {n: values[n] for n in instance.KEY_NAMES})
        except ValidationError as exc:
            await page_.rollback()
            errors = {f"territory_{k}": v for k, v in exc.errors.items()}
        else:
            done = _("Réglages enregistrés.")
            if rows:
                done += " " + _("%(count)d communes importées.") % {"count": len(rows)}
            flash(request, done)
            return see_other("/admin/parametres")
    return await _settings_page(page_, values, errors, 422)


def routes() -> list[BaseRoute]:
    return [
        Route("/admin", dashboard, name="admin"),
        Route("/admin/comptes", people_list, methods=["GET", "POST"], name="admin_people"),
        Route("/admin/comptes/{id:int}", person_update, methods=["POST"], name="admin_person"),
        Route("/admin/parametres", settings_page, methods=["GET", "POST"], name="admin_settings"),
    ]
