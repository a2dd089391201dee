"""The federation page: instances we follow and that follow us, their health, trust, blocks,
and the items of remote collections we could not fetch."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from directory.errors import NotFound, ValidationError
from federation import collection_items, instances, overview
from federation.flow_models import TRUST_POLICIES
from web import forms
from web.i18n import N_
from web.i18n import gettext as _
from web.ui import Page, flash, page, render, see_other


async def _page(page_: Page, values: dict, errors: dict[str, str], status: int = 200) -> Response:
    return await render(
        page_,
        "admin/federation.html",
        {
            "instances": await overview.overview(page_.session),
            "blocks": await overview.blocks(page_.session),
            "unfetched": await collection_items.failures(page_.session),
            "trust_policies": TRUST_POLICIES,
            "values": values,
            "errors": errors,
        },
        status_code=status,
    )


@page(role="admin")
async def federation(page_: Page) -> Response:
    request = page_.request
    if request.method == "GET":
        return await _page(page_, {}, {})
    form = await forms.read_form(request)
    action = forms.text(form, "action")
    host = forms.text(form, "host").strip()
    values = {"domain": forms.text(form, "domain"), "reason": forms.text(form, "reason")}
    try:
        if action == "trust":
            trust = forms.text(form, "trust")
            await instances.set_trust(page_.session, host, trust)
            message = _("%(host)s : politique « %(trust)s » enregistrée.") % {
                "host": host,
                "trust": trust,
            }
        elif action == "block":
            if len(values["reason"]) > 1000:
                raise ValidationError({"reason": N_("trop long (maximum 1000 caractères)")})
            if not values["domain"].strip():
                raise ValidationError({"domain": N_("obligatoire")})
            block = await instances.block_domain(
                page_.session, values["domain"], values["reason"].strip()
            )
            message = _("%(domain)s et ses sous-domaines sont bloqués.") % {"domain": block.domain}
        elif action == "unblock":
            await instances.unblock_domain(page_.session, forms.text(form, "domain"))
            message = _("%(domain)s n'est plus bloqué.") % {"domain": forms.text(form, "domain")}
        else:
            raise ValidationError({"action": N_("action inconnue")})
    except (ValidationError, NotFound) as exc:
        await page_.rollback()
        errors = exc.errors if isinstance(exc, ValidationError) else {"_": str(exc)}
        if action == "trust":
            errors = {f"trust-{host}": "; ".join(errors.values())}
        return await _page(page_, values, errors, 422)
    flash(request, message)
    return see_other("/admin/federation")


def routes() -> list[BaseRoute]:
    return [
        Route("/admin/federation", federation, methods=["GET", "POST"], name="admin_federation")
    ]
