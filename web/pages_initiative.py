"""The initiative page (HTML, or ActivityPub by content negotiation) and its history."""

from __future__ import annotations

import json
from typing import Any

from markupsafe import Markup
from sqlalchemy import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from directory import browse
from directory.models import Initiative, Person
from directory.similar import similar_initiatives
from web.i18n import N_
from web.i18n import gettext as _
from web.templating import render


async def _published(session, slug: str) -> Initiative:
    initiative = await session.scalar(select(Initiative).where(Initiative.slug == slug))
    if initiative is None or initiative.moderation_state != "published":
        raise HTTPException(404, "initiative introuvable")
    return initiative


def page_url(request: Request, initiative: Initiative) -> str:
    return f"{request.app.state.settings.base_url}/initiatives/{initiative.slug}"


def json_ld(request: Request, initiative: Initiative, lang: str) -> Markup:
    """schema.org description of the initiative, safe to put in a <script> element."""
    settings = request.app.state.settings
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Organization",
        "@id": page_url(request, initiative),
        "name": initiative.name,
        "url": page_url(request, initiative),
        "description": initiative.summary or None,
        "keywords": ", ".join(t.label(lang) for t in initiative.themes) or None,
        "sameAs": [
            u for u in [initiative.website, *initiative.same_as, *initiative.social_links] if u
        ]
        or None,
        "email": initiative.email or None,
        "telephone": initiative.phone or None,
        "image": initiative.image_url or None,
        "address": {
            "@type": "PostalAddress",
            "streetAddress": initiative.street or None,
            "postalCode": initiative.postal_code or None,
            "addressLocality": initiative.city or None,
            "addressCountry": "FR",
        }
        if initiative.city or initiative.street
        else None,
        "location": {
            "@type": "Place",
            "geo": {
                "@type": "GeoCoordinates",
                "latitude": initiative.latitude,
                "longitude": initiative.longitude,
            },
        }
        if initiative.latitude is not None and initiative.longitude is not None
        else None,
        "dateModified": initiative.updated_at.isoformat() if initiative.updated_at else None,
        "isPartOf": {"@type": "WebSite", "name": settings.territory_name, "url": settings.base_url},
        "license": settings.licence_url,
    }
    text = json.dumps({k: v for k, v in data.items() if v is not None}, ensure_ascii=False)
    # No "<" at all inside the script element (JSON allows the \u003c escape).
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


async def _activitypub(request: Request, initiative: Initiative) -> Response | None:
    """The ActivityPub rendering when the client asks for it (web.activitypub, when present)."""
    try:
        from web.activitypub import activitypub_response  # type: ignore[attr-defined]
    except ImportError:
        return None
    return await activitypub_response(request, initiative)


async def initiative_page(request: Request) -> Response:
    """Every public field, the map, provenance, relations, similar initiatives."""
    slug = request.path_params["slug"]
    async with request.app.state.db.session() as session:
        initiative = await session.scalar(select(Initiative).where(Initiative.slug == slug))
        if initiative is not None:
            answer = await _activitypub(request, initiative)
            if answer is not None:
                return answer
        if initiative is None or initiative.moderation_state != "published":
            raise HTTPException(404, "initiative introuvable")
        relations = [  # not a target held unpublished (awaiting moderation, refused)
            (relation, other)
            for relation, other in await browse.related(session, initiative)
            if other is None or other.moderation_state == "published"
        ]
        similar = await similar_initiatives(session, initiative, limit=4)
        commune = (
            await browse.commune(session, initiative.insee_code) if initiative.insee_code else None
        )
    from web.i18n import current_language, lazy_language

    lazy_language(request)
    lang = current_language()
    return await render(
        request,
        "initiative.html",
        {
            "item": initiative,
            "relations": relations,
            "similar": similar,
            "commune": commune,
            "canonical": page_url(request, initiative),
            "json_ld": json_ld(request, initiative, lang),
            "description_text": initiative.summary
            or (initiative.description[:280] if initiative.description else "")
            or _("Une initiative de l'annuaire"),
        },
        headers={"Vary": "Accept, Accept-Language, Cookie"},
    )


def public_author(revision, people: dict[int, Person]) -> str:
    """Who made a revision, without e-mail addresses."""
    if revision.person_id is not None and revision.person_id in people:
        person = people[revision.person_id]
        return person.display_name or _("Contributeur·ice n° %(num)s") % {"num": person.id}
    label = revision.author or ""
    if "@" in label and not label.startswith(("import:", "federation:")):
        return _("Proposition anonyme")
    if label.startswith("import:"):
        return _("Import « %(name)s »") % {"name": label.partition(":")[2]}
    if label.startswith("federation:"):
        return _("Fédération : %(host)s") % {"host": label.partition(":")[2]}
    return label or _("Anonyme")


# Field names as a reader sees them in the history.
FIELD_LABELS = {
    "name": N_("Nom"),
    "summary": N_("Résumé"),
    "description": N_("Description"),
    "themes": N_("Thèmes"),
    "actor_kinds": N_("Types d'acteurs"),
    "needs": N_("Besoins"),
    "status": N_("Statut"),
    "street": N_("Adresse"),
    "postal_code": N_("Code postal"),
    "city": N_("Commune"),
    "insee_code": N_("Code INSEE"),
    "latitude": N_("Latitude"),
    "longitude": N_("Longitude"),
    "website": N_("Site web"),
    "email": N_("Courriel"),
    "phone": N_("Téléphone"),
    "fediverse": N_("Compte fédivers"),
    "social_links": N_("Réseaux sociaux"),
    "opening_hours": N_("Horaires"),
    "image_url": N_("Image"),
    "same_as": N_("Mêmes initiatives ailleurs"),
    "relations": N_("Initiatives liées"),
}
ACTIONS = {
    "create": N_("Création"),
    "update": N_("Modification"),
    "moderate": N_("Modération"),
    "publish": N_("Publication"),
    "correction": N_("Correction acceptée"),
    "relation": N_("Liens"),
}


async def history_page(request: Request) -> Response:
    """The revisions of an initiative: when, who (no e-mail), which fields changed."""
    async with request.app.state.db.session() as session:
        initiative = await _published(session, request.path_params["slug"])
        revisions = await browse.public_revisions(session, initiative.id)
        ids = {r.person_id for r in revisions if r.person_id is not None}
        people = (
            {p.id: p for p in await session.scalars(select(Person).where(Person.id.in_(ids)))}
            if ids
            else {}
        )
    rows = [
        {
            "revision": r,
            "author": public_author(r, people),
            "action": _(ACTIONS.get(r.action, r.action)),
            "fields": [_(FIELD_LABELS.get(f, f)) for f in (r.changes or {}) if f in FIELD_LABELS],
        }
        for r in revisions
    ]
    return await render(request, "history.html", {"item": initiative, "rows": rows})
