"""Helpers shared by the public pages: filter choices, the filter values of a URL."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request

from directory import browse
from directory.errors import ValidationError
from directory.models import Commune
from directory.search import SearchQuery, query_from_params
from directory.themes import all_themes
from directory.vocabulary import ACTOR_KINDS, NEEDS, STATUSES

FILTER_NAMES = ("q", "theme", "actor_kind", "need", "commune")


@dataclass
class FilterChoices:
    themes: list
    actor_kinds: tuple
    needs: tuple
    statuses: tuple
    communes: list[tuple[str, str, int]]


async def filter_choices(session: AsyncSession) -> FilterChoices:
    """Every value a visitor can filter on (communes: those with initiatives)."""
    return FilterChoices(
        themes=await all_themes(session),
        actor_kinds=ACTOR_KINDS,
        needs=NEEDS,
        statuses=STATUSES,
        communes=await browse.commune_counts(session),
    )


def form_values(request: Request) -> dict[str, str]:
    """The single-valued filters of the URL, as a form shows them."""
    return {name: request.query_params.get(name, "").strip() for name in FILTER_NAMES}


def filter_query_string(request: Request, names: tuple[str, ...] = FILTER_NAMES) -> str:
    """The URL's filters only (no paging, no view), to build links to other views."""
    return urlencode(
        [(k, v) for k, v in request.query_params.multi_items() if k in names and v.strip()]
    )


def parse_query(request: Request, **overrides: Any) -> tuple[SearchQuery, dict[str, str]]:
    """The SearchQuery of a URL; bad parameters are dropped and reported, never a 500."""
    items = [
        (k, v)
        for k, v in request.query_params.multi_items()
        if k not in ("bbox", "zoom", "lang", "embed", "widget", "list")
    ]
    try:
        query = query_from_params(QueryParams(items))
        errors: dict[str, str] = {}
    except ValidationError as exc:
        errors = dict(exc.errors)
        query = query_from_params(QueryParams([(k, v) for k, v in items if k not in errors]))
    return replace(query, **overrides), errors


async def known_commune(session: AsyncSession, code: str) -> tuple[Commune | None, int]:
    """A commune and its published count; 404 unless it is known or has initiatives."""
    commune = await browse.commune(session, code)
    count = await browse.count_published(session, commune=code)
    if commune is None and count == 0:
        raise HTTPException(404, "commune introuvable")
    return commune, count
