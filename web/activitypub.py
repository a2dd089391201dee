"""ActivityPub endpoints: WebFinger, NodeInfo, host-meta, actors and their collections,
the Maillage context, the activities we sent (at their ids), and the AS2 side of
initiative URLs (content negotiation).

Authorized fetch (settings.authorized_fetch): collections and objects then need a valid
signed GET; the instance actor, WebFinger and NodeInfo stay public, and actor documents
stay readable (peers need their keys) but a signature, when sent, must verify.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from directory.db import Database
from directory.models import Initiative, Theme
from federation import activities, collections, instances, render
from federation.fetch import Fetcher
from federation.http import AiohttpClient, HttpClient
from federation.icon import actor_icon_png
from federation.keys import get_or_create_actor, instance_actor, signing_key
from federation.models import INSTANCE, TERRITORY, THEME, LocalActor
from federation.remote import key_resolver
from federation.signatures import SignatureError, Verified, signature_key_id, verify_request
from federation.urls import INSTANCE_ACTOR, Urls, host_of
from web.errors import message_of, problem
from web.i18n import N_
from web.settings import Settings

AS_PROFILE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
ACTIVITY_JSON = "application/activity+json"
JRD = "application/jrd+json"
NODEINFO_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/2.1"
SOFTWARE_VERSION = "0.1.0"
REPOSITORY = "https://github.com/maillage/maillage"


# The network client and fetcher, shared by the routes that need to reach peers.


def http_client(app: Starlette) -> HttpClient:
    """The instance's injected HTTP client (`app.state.http`); an aiohttp one by default."""
    client = getattr(app.state, "http", None)
    if client is None:
        settings: Settings = app.state.settings
        client = AiohttpClient(allow_private_addresses=settings.allow_private_addresses)
        app.state.http = client
    return client


async def instance_fetcher(app: Starlette, session: AsyncSession | None = None) -> Fetcher:
    """The Fetcher signing with the instance actor's key, made once per process (loading
    an RSA private key costs ~0.2 s: not something to do per request)."""
    fetcher = getattr(app.state, "instance_fetcher", None)
    if fetcher is not None:
        return fetcher
    settings: Settings = app.state.settings
    # Its own committed transaction: the cached key must be the one stored, even if the
    # caller's unit of work is rolled back.
    async with app.state.db.session() as own:
        actor = await instance_actor(own, settings)
    resolve = getattr(app.state, "resolve_host", None)
    kwargs = {"resolve": resolve} if resolve is not None else {}
    fetcher = Fetcher(http_client(app), settings, signing_key(actor, Urls.of(settings)), **kwargs)
    app.state.instance_fetcher = fetcher
    return fetcher


async def verify_signed_request(
    request: Request, session: AsyncSession, body: bytes = b""
) -> Verified:
    """Verify the request's HTTP signature (raises SignatureError with the reason)."""
    fetcher = await instance_fetcher(request.app, session)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return await verify_request(
        request.method, target, request.headers, body, key_resolver(session, fetcher)
    )


# Content negotiation.


def _accept_entries(header: str) -> list[tuple[str, float, str]]:
    entries = []
    for part in header.split(","):
        media, *params = [p.strip() for p in part.split(";")]
        q = 1.0
        rest = []
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
            else:
                rest.append(param)
        entries.append((media.lower(), q, ";".join(rest)))
    return entries


def wants_activitypub(request: Request) -> bool:
    """True when the Accept header prefers AS2 JSON to HTML."""
    best_ap, best_html = 0.0, 0.0
    for media, q, params in _accept_entries(request.headers.get("accept", "")):
        if media == ACTIVITY_JSON or (media == "application/ld+json"):
            if media == "application/ld+json" and params and "activitystreams" not in params:
                continue
            best_ap = max(best_ap, q)
        elif media in ("text/html", "application/xhtml+xml"):
            best_html = max(best_html, q)
    return best_ap > 0 and best_ap >= best_html


def as2(request: Request | None, body: dict[str, Any], status: int = 200) -> Response:
    """AS2 JSON in the media type the client asked for."""
    accept = request.headers.get("accept", "") if request is not None else ""
    media = AS_PROFILE if "application/ld+json" in accept and ACTIVITY_JSON not in accept else None
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type=media or f"{ACTIVITY_JSON}; charset=utf-8",
        headers={"Vary": "Accept, Signature", "Access-Control-Allow-Origin": "*"},
    )


def _json(body: dict[str, Any], media: str, status: int = 200) -> Response:
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type=media,
        headers={"Access-Control-Allow-Origin": "*"},
    )


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _db(request: Request) -> Database:
    return request.app.state.db


async def _authorize(request: Request, session: AsyncSession, *, required: bool) -> Response | None:
    """None when the request may proceed; a 401 when its signature is missing or bad, a 403
    when it comes from a blocked domain."""
    settings = _settings(request)
    if not settings.authorized_fetch:
        return None
    if not required and "signature" not in request.headers:
        return None
    reader = await _signed_reader(request, session)
    return reader if isinstance(reader, Response) else None


async def _signed_reader(request: Request, session: AsyncSession) -> Verified | Response:
    """Who signed the request (whatever the settings); a 401 or 403 answer otherwise."""
    key_id = signature_key_id(request.headers)
    if key_id and await instances.is_blocked(session, host_of(key_id)):
        return problem(request, 403, N_("ce domaine est bloqué par cette instance"))
    try:
        verified = await verify_signed_request(request, session)
    except SignatureError as exc:
        return problem(request, 401, N_("signature refusée : %(reason)s", reason=exc.reason))
    if await instances.is_blocked(session, host_of(verified.owner)):
        return problem(request, 403, N_("ce domaine est bloqué par cette instance"))
    return verified


# Discovery: WebFinger, host-meta, NodeInfo.


async def _actor_for_resource(
    session: AsyncSession, settings: Settings, resource: str
) -> LocalActor | None:
    urls = Urls.of(settings)
    host = settings.host.lower()
    name: str | None = None
    if resource.lower().startswith("acct:"):
        user, _, domain = resource[5:].lstrip("@").rpartition("@")
        if domain.lower() != host:
            return None
        name = INSTANCE_ACTOR if user.lower() == host else user
    elif resource.rstrip("/") in (urls.base, urls.origin):
        name = INSTANCE_ACTOR  # FEP-d556: the server itself
    else:
        name = urls.actor_name(resource)
    if not name:
        return None
    return await get_or_create_actor(session, settings, name)


async def webfinger(request: Request) -> Response:
    """`/.well-known/webfinger?resource=acct:name@host` (or an actor URL, or the host)."""
    resource = request.query_params.get("resource", "").strip()
    if not resource:
        return problem(request, 400, N_("le paramètre `resource` est requis (acct:nom@hôte)"))
    settings = _settings(request)
    urls = Urls.of(settings)
    async with _db(request).session() as session:
        actor = await _actor_for_resource(session, settings, resource)
        if actor is None:
            return problem(
                request, 404, N_("aucun compte %(resource)s sur cette instance", resource=resource)
            )
        page = await _actor_page(session, actor, urls)
    actor_id = urls.actor(actor.name)
    body = {
        "subject": f"acct:{actor.name}@{settings.host}",
        "aliases": [actor_id, page],
        "links": [
            {"rel": "self", "type": ACTIVITY_JSON, "href": actor_id},
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": page},
        ],
    }
    return _json(body, JRD)


async def host_meta(request: Request) -> Response:
    """`/.well-known/host-meta`: the WebFinger template (XRD)."""
    base = Urls.of(_settings(request)).base
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template="{base}/.well-known/webfinger?resource={{uri}}"/>\n'
        "</XRD>\n"
    )
    return Response(xml, media_type="application/xrd+xml; charset=utf-8")


async def nodeinfo_links(request: Request) -> Response:
    """`/.well-known/nodeinfo`: the NodeInfo 2.1 document and the instance actor (FEP-2677)."""
    urls = Urls.of(_settings(request))
    return _json(
        {
            "links": [
                {"rel": NODEINFO_SCHEMA, "href": f"{urls.base}/nodeinfo/2.1"},
                {
                    "rel": "https://www.w3.org/ns/activitystreams#Application",
                    "href": urls.instance_actor,
                },
            ]
        },
        "application/json",
    )


async def nodeinfo(request: Request) -> Response:
    """The NodeInfo 2.1 document: software, protocols, usage counts, territory metadata."""
    settings = _settings(request)
    urls = Urls.of(settings)
    async with _db(request).session() as session:
        posts = await collections.count_published_local(session)
        people = await collections.count_people(session)
    body = {
        "version": "2.1",
        "software": {
            "name": "maillage",
            "version": SOFTWARE_VERSION,
            "repository": REPOSITORY,
            "homepage": REPOSITORY,
        },
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": ["atom1.0"]},
        "openRegistrations": False,
        "usage": {
            "users": {"total": people, "activeMonth": people, "activeHalfyear": people},
            "localPosts": posts,
        },
        "metadata": {
            "nodeName": f"Maillage · {settings.territory_name}",
            "nodeDescription": f"Annuaire fédéré des initiatives de {settings.territory_name}",
            "territory": {
                "name": settings.territory_name,
                "kind": settings.territory_kind,
                "code": settings.territory_code,
                "actor": urls.actor(settings.territory_username),
            },
            "instanceActor": urls.instance_actor,
            "licence": {"name": settings.licence, "url": settings.licence_url},
        },
    }
    return _json(body, f'application/json; profile="{NODEINFO_SCHEMA}#"')


# Actors.


async def _theme_of(session: AsyncSession, actor: LocalActor) -> Theme | None:
    return await session.get(Theme, actor.theme_id) if actor.theme_id else None


async def _actor_page(session: AsyncSession, actor: LocalActor, urls: Urls) -> str:
    if actor.kind == THEME:
        theme = await _theme_of(session, actor)
        if theme is not None:
            return urls.theme_page(theme.slug)
    return urls.home


async def _load_actor(request: Request, session: AsyncSession) -> LocalActor | None:
    return await get_or_create_actor(session, _settings(request), request.path_params["name"])


async def actor_document(request: Request) -> Response:
    """An actor: AS2 for ActivityPub clients, a redirect to its HTML page for browsers."""
    settings = _settings(request)
    urls = Urls.of(settings)
    async with _db(request).session() as session:
        actor = await _load_actor(request, session)
        if actor is None:
            return problem(request, 404, N_("acteur inconnu"))
        if not wants_activitypub(request):
            return RedirectResponse(await _actor_page(session, actor, urls), status_code=303)
        if actor.kind != INSTANCE:
            denied = await _authorize(request, session, required=False)
            if denied is not None:
                return denied
        theme = await _theme_of(session, actor)
        body = render.render_actor(actor, urls, settings, theme=theme)
    return as2(request, body)


async def actor_icon(request: Request) -> Response:
    async with _db(request).session() as session:
        actor = await _load_actor(request, session)
    if actor is None:
        return problem(request, 404, N_("acteur inconnu"))
    return Response(
        actor_icon_png(actor.name),
        media_type="image/png",
        headers={"Cache-Control": "public, max-age=86400"},
    )


def _cursor(request: Request, name: str = "cursor") -> int | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 12:
        raise ValueError(N_("curseur invalide : %(value)r", value=value))
    return int(value)


def _page_url(collection: str, cursor: int | str | None) -> str:
    query = urlencode({"cursor": cursor}) if cursor is not None else "page=true"
    return f"{collection}?{query}"


def _paged(request: Request) -> bool:
    """True when a page is asked for, False for the collection's summary."""
    return "page" in request.query_params or "cursor" in request.query_params


def _cursor_page(
    collection_id: str, cursor: int | None, rows: list, items: list[dict[str, Any]], total: int
) -> dict[str, Any]:
    """One page of a cursor-paged collection; a full page links to the next from its last row."""
    next_page = (
        _page_url(collection_id, rows[-1].id) if len(rows) == collections.PAGE_SIZE else None
    )
    return render.collection_page(
        _page_url(collection_id, cursor),
        part_of=collection_id,
        items=items,
        next_page=next_page,
        total=total,
    )


async def _collection_route(request: Request, build) -> Response:
    """Common shape of collection routes: find the actor, authorize, build."""
    settings = _settings(request)
    urls = Urls.of(settings)
    async with _db(request).session() as session:
        actor = await _load_actor(request, session)
        if actor is None:
            return problem(request, 404, N_("acteur inconnu"))
        denied = await _authorize(request, session, required=True)
        if denied is not None:
            return denied
        try:
            body = await build(session, actor, urls, settings)
        except ValueError as exc:
            return problem(request, 400, message_of(exc))
    if body is None:
        return problem(request, 404, N_("collection inconnue pour cet acteur"))
    return as2(request, body)


async def outbox(request: Request) -> Response:
    """Create{Page} by the territory actor, Announce{Page} by theme actors, newest first."""

    async def build(session, actor: LocalActor, urls: Urls, settings: Settings):
        collection_id = urls.outbox(actor.name)
        if actor.kind == INSTANCE:
            return render.ordered_collection(collection_id, total=0, items=[])
        theme_id = actor.theme_id if actor.kind == THEME else None
        total = await collections.count_published_local(session, theme_id=theme_id)
        if not _paged(request):
            return render.ordered_collection(
                collection_id, total=total, first=_page_url(collection_id, None)
            )
        before = _cursor(request)
        rows = await collections.published_local_before(
            session, before_id=before, theme_id=theme_id, limit=collections.PAGE_SIZE
        )
        actor_id = urls.actor(actor.name)
        relations = await collections.relations_by_initiative(session, [i.id for i in rows])
        items = []
        for initiative in rows:
            if actor.kind == TERRITORY:
                page = render.render_initiative(
                    initiative,
                    urls,
                    settings,
                    relations=relations.get(initiative.id, []),
                    with_context=False,
                )
                items.append(render.create(f"{page['id']}#create", actor_id, page))
            else:
                uri = urls.initiative_uri(initiative)
                items.append(
                    render.announce(
                        f"{uri}#announce-{actor.name}",
                        actor_id,
                        uri,
                        followers=urls.followers(actor.name),
                        published=initiative.published_at,
                    )
                )
        for item in items:
            item.pop("@context", None)
        return _cursor_page(collection_id, before, rows, items, total)

    return await _collection_route(request, build)


async def followers(request: Request) -> Response:
    """Followers: the count only (who follows whom is not published)."""

    async def build(session, actor: LocalActor, urls: Urls, settings: Settings):
        total = await collections.count_followers(session, actor.name)
        return render.ordered_collection(urls.followers(actor.name), total=total)

    return await _collection_route(request, build)


async def following(request: Request) -> Response:
    """Following: the count only (the territory actor follows other instances)."""

    async def build(session, actor: LocalActor, urls: Urls, settings: Settings):
        total = await collections.count_following(session) if actor.kind == TERRITORY else 0
        return render.ordered_collection(urls.following(actor.name), total=total)

    return await _collection_route(request, build)


async def featured(request: Request) -> Response:
    """A few recent initiatives as URIs (Mastodon does not backfill; it reads this)."""

    async def build(session, actor: LocalActor, urls: Urls, settings: Settings):
        rows = []
        if actor.kind != INSTANCE:
            rows = await collections.published_local_before(
                session,
                limit=collections.FEATURED_SIZE,
                theme_id=actor.theme_id if actor.kind == THEME else None,
            )
        items = [urls.initiative_uri(i) for i in rows]
        return render.ordered_collection(urls.featured(actor.name), total=len(items), items=items)

    return await _collection_route(request, build)


async def initiatives_collection(request: Request) -> Response:
    """The territory actor's `initiatives`: every current initiative, cursor-paged (backfill)."""

    async def build(session, actor: LocalActor, urls: Urls, settings: Settings):
        if actor.kind != TERRITORY:
            return None
        collection_id = urls.initiatives_collection(actor.name)
        total = await collections.count_published_local(session)
        if not _paged(request):
            return render.ordered_collection(
                collection_id, total=total, first=_page_url(collection_id, None)
            )
        after = _cursor(request)
        rows = await collections.published_local_after(
            session, after_id=after or 0, limit=collections.PAGE_SIZE
        )
        relations = await collections.relations_by_initiative(session, [i.id for i in rows])
        items = [
            render.render_initiative(
                initiative,
                urls,
                settings,
                relations=relations.get(initiative.id, []),
                with_context=False,
            )
            for initiative in rows
        ]
        return _cursor_page(collection_id, after, rows, items, total)

    return await _collection_route(request, build)


async def context_document(request: Request) -> Response:
    """The Maillage JSON-LD context (the terms our documents also inline)."""
    return Response(
        orjson.dumps(render.context_document()),
        media_type="application/ld+json",
        headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=86400"},
    )


# Initiatives: the AS2 side of {base}/initiatives/{slug}.


async def activitypub_response(request: Request, initiative: Initiative) -> Response | None:
    """The AS2 form of one of our initiatives when the Accept header asks for it, else None.

    The public pages' HTML route calls this first. Remote initiatives are not re-served as
    ours (a redirect to their id on their origin); withdrawn ones leave a Tombstone (410);
    unpublished ones do not exist for the outside (404).
    """
    if not wants_activitypub(request):
        return None
    settings = _settings(request)
    urls = Urls.of(settings)
    if not initiative.is_local:
        # Not ours to serve: send the client to the origin, which speaks for it.
        if initiative.uri and initiative.uri.startswith(("https://", "http://")):
            return RedirectResponse(initiative.uri, status_code=302)
        return problem(request, 404, N_("cette initiative est publiée par une autre instance"))
    async with _db(request).session() as session:
        denied = await _authorize(request, session, required=True)
        if denied is not None:
            return denied
        if initiative.moderation_state == "withdrawn":
            return as2(
                request,
                {
                    "@context": render.CONTEXT,
                    **render.tombstone(
                        urls.initiative_uri(initiative), deleted=initiative.updated_at
                    ),
                },
                status=410,
            )
        if initiative.moderation_state != "published":
            return problem(request, 404, N_("initiative inconnue"))
        loaded = await collections.initiative_for_render(session, initiative.id)
        if loaded is None:
            return problem(request, 404, N_("initiative inconnue"))
        relations = await collections.relations_of(session, loaded.id)
        body = render.render_initiative(loaded, urls, settings, relations=relations)
    return as2(request, body)


# Our sent activities, at their ids.


async def activity_document(request: Request) -> Response:
    """`/activities/{token}`: an activity we sent, as sent (AS2 only).

    Public ones follow the authorized-fetch setting; the others need a signature by one of
    their addressees (or their server). Create/Update/Announce of an initiative no longer
    published here answer 410 with a Tombstone. Browsers are sent to the object's page.
    """
    urls = Urls.of(_settings(request))
    activity_id = urls.activity(request.path_params["token"])
    async with _db(request).session() as session:
        row = await activities.sent_activity(session, activity_id)
        if row is None:
            return problem(request, 404, N_("activité inconnue"))
        body = activities.body_of(row)
        public = activities.is_public(body)
        if not wants_activitypub(request):
            target = row.object_uri
            if public and row.activity_type in activities.ABOUT_INITIATIVE and target:
                return RedirectResponse(target, status_code=303)
            return problem(request, 406, N_("cette adresse sert uniquement du JSON ActivityPub"))
        if public:
            denied = await _authorize(request, session, required=True)
            if denied is not None:
                return denied
        else:
            reader = await _signed_reader(request, session)
            if isinstance(reader, Response):
                return reader
            if not activities.may_read(body, reader.owner):
                return problem(request, 404, N_("activité inconnue"))
        if await activities.is_gone(session, row):
            gone = render.tombstone(activity_id, former_type=row.activity_type)
            return as2(request, {"@context": render.CONTEXT, **gone}, status=410)
    return as2(request, body)


async def initiative_as2(request: Request) -> Response:
    """Stand-in for the public pages' `/initiatives/{slug}`: AS2 only, 406 for browsers."""
    if not wants_activitypub(request):
        return problem(request, 406, N_("cette adresse sert ici uniquement du JSON ActivityPub"))
    async with _db(request).session() as session:
        initiative = await _initiative_by_slug(session, request.path_params["slug"])
    if initiative is None:
        return problem(request, 404, N_("initiative inconnue"))
    response = await activitypub_response(request, initiative)
    assert response is not None
    return response


async def _initiative_by_slug(session: AsyncSession, slug: str) -> Initiative | None:
    return (
        await session.execute(select(Initiative).where(Initiative.slug == slug))
    ).scalar_one_or_none()


def _pages_serve_initiatives() -> bool:
    """Whether the public pages already route /initiatives/{slug} (then they call us)."""
    try:
        from web import pages
    except ImportError:
        return False
    return any(getattr(r, "path", None) == "/initiatives/{slug}" for r in pages.routes())


def routes() -> list[BaseRoute]:
    found: list[BaseRoute] = [
        Route("/.well-known/webfinger", webfinger),
        Route("/.well-known/host-meta", host_meta),
        Route("/.well-known/nodeinfo", nodeinfo_links),
        Route("/nodeinfo/2.1", nodeinfo),
        Route("/ns", context_document),
        Route("/actors/{name}", actor_document),
        Route("/actors/{name}/icon.png", actor_icon),
        Route("/actors/{name}/outbox", outbox),
        Route("/actors/{name}/followers", followers),
        Route("/actors/{name}/following", following),
        Route("/actors/{name}/featured", featured),
        Route("/actors/{name}/initiatives", initiatives_collection),
        Route("/activities/{token}", activity_document),
    ]
    if not _pages_serve_initiatives():
        found.append(Route("/initiatives/{slug}", initiative_as2))
    return found
