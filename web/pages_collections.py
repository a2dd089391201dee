"""Curated collections (list, page, Atom feed, embed, editing) and the links editor.

A collection's URL is also its ActivityPub id: `/collections/{slug}` answers AS2 to
clients that ask for it (content negotiation, as initiatives do). Référents create
collections and edit theirs; moderators and admins edit every local one
(directory/collections.may_edit). A remote target (an initiative on another instance,
given by its URL) is fetched and validated first (federation/lookup.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from directory import collections, relations
from directory.errors import Conflict, NotEditable, NotFound, ValidationError
from directory.models import Initiative
from directory.models_collections import Collection
from directory.vocabulary import RELATION_KINDS
from federation import lookup
from federation import render as as2_render
from federation.urls import Urls
from web import activitypub, forms, i18n, templating
from web.i18n import N_
from web.i18n import gettext as _
from web.pages_embed import FRAMEABLE
from web.templating import isodate, templates_of
from web.ui import Page, flash, page, refusal, render, see_other

CURATED_LIMIT = 200
FIELD_LABELS = {
    "name": N_("Nom de la collection"),
    "summary": N_("Présentation"),
    "target": N_("Initiative"),
    "kind": N_("Type de lien"),
    "note": N_("Note"),
    "order": N_("Ordre"),
}


# --- Public: list, page (HTML or AS2), feed, embed. ----------------------------------


async def collections_index(request: Request) -> Response:
    """Every current collection: ours first, then those of the instances we follow."""
    async with request.app.state.db.session() as session:
        found = await collections.list_collections(session)
    return await templating.render(
        request,
        "collections.html",
        {"collections": found, "may_create": collections.may_create},
    )


async def _current(session, slug: str) -> Collection:
    try:
        collection = await collections.get_collection(session, slug)
    except NotFound:
        raise HTTPException(404, "collection introuvable") from None
    return collection


async def _as2(request: Request, session, collection: Collection) -> Response:
    settings = request.app.state.settings
    urls = Urls.of(settings)
    if not collection.is_local:
        if collection.uri:
            return RedirectResponse(collection.uri, status_code=302)
        raise HTTPException(404, "collection introuvable")
    denied = await activitypub._authorize(request, session, required=True)
    if denied is not None:
        return denied
    uri = urls.collection(collection.slug)
    if collection.deleted_at is not None:
        body = as2_render.tombstone(
            uri, deleted=collection.deleted_at, former_type="OrderedCollection"
        )
        return activitypub.as2(request, {"@context": as2_render.CONTEXT, **body}, status=410)
    items = await collections.item_uris(session, collection)
    return activitypub.as2(request, as2_render.render_collection(collection, items, urls, settings))


async def collection_page(request: Request) -> Response:
    """A collection's initiatives in order, with its feed, embed code and provenance."""
    async with request.app.state.db.session() as session:
        collection = await _current(session, request.path_params["slug"])
        if activitypub.wants_activitypub(request):
            return await _as2(request, session, collection)
        if collection.deleted_at is not None:
            raise HTTPException(410, "cette collection a été supprimée")
        items = await collections.items_of(session, collection, public=True)
    base = request.app.state.settings.base_url
    return await templating.render(
        request,
        "collection.html",
        {
            "collection": collection,
            "items": items,
            "may_edit": lambda person: collections.may_edit(person, collection),
            "canonical": f"{base}/collections/{collection.slug}",
            "embed_src": f"{base}/embed/collection/{collection.slug}",
        },
        headers={"Vary": "Accept, Accept-Language, Cookie"},
    )


async def collection_feed(request: Request) -> Response:
    """The collection's initiatives as Atom, in the curator's order."""
    settings = request.app.state.settings
    async with request.app.state.db.session() as session:
        collection = await _current(session, request.path_params["slug"])
        if collection.deleted_at is not None:
            raise HTTPException(410, "cette collection a été supprimée")
        items = [i.initiative for i in await collections.items_of(session, collection)]
    items = [i for i in items if i is not None]
    lang = i18n.lazy_language(request)
    body = (
        templates_of(request)
        .get_template("feed.xml")
        .render(
            lang=lang,
            settings=settings,
            items=items,
            title=collection.name,
            self_url=f"{settings.base_url}{request.url.path}",
            alternate=f"{settings.base_url}/collections/{collection.slug}",
            updated=isodate(collection.updated_at),
        )
    )
    return Response(
        body,
        media_type="application/atom+xml; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300"},
    )


async def collection_embed(request: Request) -> Response:
    """The collection as a compact list, for an iframe on another site."""
    async with request.app.state.db.session() as session:
        collection = await _current(session, request.path_params["slug"])
        if collection.deleted_at is not None:
            raise HTTPException(410, "cette collection a été supprimée")
        items = await collections.items_of(session, collection, public=True)
    return await templating.render(
        request,
        "embed_collection.html",
        {"site": {}, "person": None, "embed": True, "collection": collection, "items": items},
        headers=FRAMEABLE,
    )


async def curated_collections(request: Request) -> Response:
    """The territory actor's curated collections, each object inline (followers backfill
    them once, then keep up through Create/Update/Delete)."""
    settings = request.app.state.settings
    if request.path_params["name"] != settings.territory_username:
        raise HTTPException(404, "collection inconnue pour cet acteur")
    urls = Urls.of(settings)
    async with request.app.state.db.session() as session:
        denied = await activitypub._authorize(request, session, required=True)
        if denied is not None:
            return denied
        found = [c for c, _n in await collections.list_collections(session) if c.is_local]
        items = [
            as2_render.render_collection(
                c,
                await collections.item_uris(session, c),
                urls,
                settings,
                with_context=False,
            )
            for c in found[:CURATED_LIMIT]
        ]
    body = as2_render.ordered_collection(
        urls.curated_collections(settings.territory_username), total=len(found), items=items
    )
    return activitypub.as2(request, body)


# --- Référents: create and edit collections. -----------------------------------------


def _errors_of(exc: Exception, field: str = "_") -> dict[str, str]:
    if isinstance(exc, ValidationError):
        return dict(exc.errors)
    if isinstance(exc, Conflict):
        return {getattr(exc, "field", None) or field: str(exc)}
    return {field: str(exc)}


async def _editor(
    page_: Page,
    collection: Collection | None,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    items = await collections.items_of(page_.session, collection) if collection else []
    return await render(
        page_,
        "collection_form.html",
        {
            "collection": collection,
            "items": items,
            "values": values,
            "errors": errors,
            "field_labels": FIELD_LABELS,
        },
        status_code=status,
    )


@page(role="referent")
async def new_collection(page_: Page) -> Response:
    """The form that creates a collection (référents and above)."""
    request = page_.request
    if request.method == "GET":
        return await _editor(page_, None, {}, {})
    form = await forms.read_form(request)
    values = {"name": forms.text(form, "name"), "summary": forms.text(form, "summary")}
    try:
        collection = await collections.create_collection(
            page_.session, name=values["name"], summary=values["summary"], person=page_.person
        )
    except ValidationError as exc:
        await page_.rollback()
        return await _editor(page_, None, values, exc.errors, 422)
    flash(request, _("Collection « %(name)s » créée.") % {"name": collection.name})
    return see_other(f"/collections/{collection.slug}/modifier")


async def _ensure_target(page_: Page, target: str) -> str:
    """Fetch and store a remote target first, so that the domain finds it (a moderator's
    link approves it); what to add to the message when it awaits moderation here."""
    request = page_.request
    fetcher = await activitypub.instance_fetcher(request.app)
    found = await lookup.ensure_remote_initiative(
        page_.session,
        fetcher,
        request.app.state.settings,
        request.app.state.db,
        target,
        vouched_by=page_.person,
    )
    if found is not None and relations.awaiting_moderation(found):
        return " " + _("Elle apparaîtra une fois approuvée par la modération.")
    return ""


async def _apply(page_: Page, collection: Collection, form) -> str:
    """One edit from the form's `action`; the message to flash. Raises domain errors."""
    session, action = page_.session, forms.text(form, "action")
    item_id = forms.text(form, "item")
    if action == "details":
        changed = await collections.update_collection(
            session,
            collection,
            name=forms.text(form, "name"),
            summary=forms.text(form, "summary"),
        )
        return _("Collection enregistrée.") if changed else _("Rien n'a changé.")
    if action == "add":
        target = forms.text(form, "target").strip()
        pending = await _ensure_target(page_, target)
        await collections.add_item(
            session, collection, target=target, base_url=page_.request.app.state.settings.base_url
        )
        return _("Initiative ajoutée à la collection.") + pending
    if action in ("remove", "up", "down"):
        if not item_id.isdigit():
            raise NotFound("cette initiative n'est pas dans la collection")
        if action == "remove":
            await collections.remove_item(session, collection, int(item_id))
            return _("Initiative retirée de la collection.")
        await collections.move_item(session, collection, int(item_id), -1 if action == "up" else 1)
        return _("Ordre enregistré.")
    if action == "delete":
        if forms.text(form, "confirm") != "oui":
            raise ValidationError({"confirm": "cochez la case pour confirmer la suppression"})
        await collections.delete_collection(session, collection)
        return _("Collection supprimée.")
    raise ValidationError({"_": "action inconnue"})


@page(role="referent")
async def edit_collection(page_: Page) -> Response:
    """Rename, describe, add, remove and reorder initiatives, delete."""
    request = page_.request
    collection = await collections.get_collection(page_.session, request.path_params["slug"])
    if not collections.may_edit(page_.person, collection):
        return await refusal(
            page_,
            403,
            N_("Accès réservé"),
            N_(
                "Seuls la personne qui a créé cette collection, les modérateur·ices et les "
                "administrateur·ices peuvent la modifier."
            ),
        )
    values = {"name": collection.name, "summary": collection.summary}
    if request.method == "GET":
        return await _editor(page_, collection, values, {})
    form = await forms.read_form(request)
    action = forms.text(form, "action")
    try:
        message = await _apply(page_, collection, form)
    except (ValidationError, Conflict, NotFound, NotEditable) as exc:
        await page_.rollback(collection)
        typed = {k: forms.text(form, k) for k in ("name", "summary", "target")}
        if action != "details":
            typed.update(name=collection.name, summary=collection.summary)
        status = 409 if isinstance(exc, Conflict) else 422
        field = "target" if action == "add" else "_"
        return await _editor(page_, collection, typed, _errors_of(exc, field), status)
    flash(request, message)
    if action == "delete":
        return see_other("/collections")
    return see_other(f"/collections/{collection.slug}/modifier")


# --- Référents: links between initiatives (HTML; the JSON API is in web/diagnostic.py). --


async def _local_published(page_: Page, slug: str) -> Initiative:
    initiative = await page_.session.scalar(select(Initiative).where(Initiative.slug == slug))
    if initiative is None or initiative.moderation_state != "published":
        raise NotFound("initiative introuvable")
    return initiative


async def _links_page(
    page_: Page,
    initiative: Initiative,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    from directory import browse

    lang = i18n.current_language()
    return await render(
        page_,
        "initiative_links.html",
        {
            "item": initiative,
            "relations": await browse.related(page_.session, initiative),
            "kinds": [(k.slug, k.label(lang)) for k in RELATION_KINDS],
            "values": values,
            "errors": errors,
            "field_labels": FIELD_LABELS,
        },
        status_code=status,
    )


@page(role="referent")
async def initiative_links(page_: Page) -> Response:
    """Link one of our initiatives to others, here or elsewhere (référents and above)."""
    request = page_.request
    initiative = await _local_published(page_, request.path_params["slug"])
    if not initiative.is_local:
        return await refusal(
            page_,
            409,
            N_("Initiative d'une autre instance"),
            N_("Ses liens se modifient sur l'instance qui la publie."),
        )
    if request.method == "GET":
        return await _links_page(page_, initiative, {"kind": "similar"}, {})
    form = await forms.read_form(request)
    values = {k: forms.text(form, k) for k in ("target", "kind", "note")}
    try:
        if forms.text(form, "action") == "remove":
            relation_id = forms.text(form, "relation")
            if not relation_id.isdigit():
                raise NotFound("lien introuvable")
            await relations.remove_relation(
                page_.session, initiative, int(relation_id), person_id=page_.person.id
            )
            message = _("Lien retiré.")
        else:
            pending = await _ensure_target(page_, values["target"])
            await relations.add_relation(
                page_.session,
                initiative,
                target=values["target"],
                kind=values["kind"],
                note=values["note"],
                person_id=page_.person.id,
                base_url=request.app.state.settings.base_url,
            )
            message = _("Lien ajouté.") + pending
    except (ValidationError, Conflict, NotFound) as exc:
        await page_.rollback(initiative)
        status = 409 if isinstance(exc, Conflict) else 422
        return await _links_page(page_, initiative, values, _errors_of(exc, "target"), status)
    flash(request, message)
    return see_other(f"/initiatives/{initiative.slug}/liens")


def _fetcher_first(endpoint):
    """Posts may fetch a remote target: make the instance's fetcher before the page's unit
    of work begins (its first use stores the instance actor in a transaction of its own,
    and SQLite has one writer at a time)."""

    async def handle(request: Request) -> Response:
        if request.method == "POST":
            await activitypub.instance_fetcher(request.app)
        return await endpoint(request)

    return handle


def routes() -> list[BaseRoute]:
    return [
        Route("/collections", collections_index, name="collections"),
        Route(
            "/collections/nouvelle",
            new_collection,
            methods=["GET", "POST"],
            name="collection_new",
        ),
        Route("/collections/{slug}/flux.atom", collection_feed, name="collection_feed"),
        Route(
            "/collections/{slug}/modifier",
            _fetcher_first(edit_collection),
            methods=["GET", "POST"],
            name="collection_edit",
        ),
        Route("/collections/{slug}", collection_page, name="collection"),
        Route("/embed/collection/{slug}", collection_embed, name="collection_embed"),
        Route("/actors/{name}/collections", curated_collections, name="curated_collections"),
        Route(
            "/initiatives/{slug}/liens",
            _fetcher_first(initiative_links),
            methods=["GET", "POST"],
            name="initiative_links",
        ),
    ]
