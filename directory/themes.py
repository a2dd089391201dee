"""The theme vocabulary in the database: core themes (seeded) and local sub-themes."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from directory.errors import Conflict, NotFound, ValidationError
from directory.messages import N_
from directory.models import Theme
from directory.text import slugify
from directory.vocabulary import CORE_THEMES


async def ensure_core_themes(session: AsyncSession) -> None:
    """Insert the core themes that are missing and refresh their labels (idempotent)."""
    existing = {t.slug: t for t in await session.scalars(select(Theme).where(Theme.is_core))}
    for core in CORE_THEMES:
        theme = existing.get(core.slug)
        if theme is None:
            session.add(
                Theme(
                    slug=core.slug,
                    iri=core.iri,
                    label_fr=core.label_fr,
                    label_en=core.label_en,
                    hashtag=core.hashtag,
                    is_core=True,
                )
            )
        else:
            theme.label_fr, theme.label_en, theme.hashtag = (
                core.label_fr,
                core.label_en,
                core.hashtag,
            )
    await session.flush()


async def all_themes(session: AsyncSession) -> list[Theme]:
    """Core themes in vocabulary order, then local sub-themes by label."""
    rows = list(await session.scalars(select(Theme)))
    order = {t.slug: i for i, t in enumerate(CORE_THEMES)}
    return sorted(rows, key=lambda t: (not t.is_core, order.get(t.slug, 0), t.label_fr))


async def all_slugs(session: AsyncSession) -> set[str]:
    return set(await session.scalars(select(Theme.slug)))


async def themes_by_slug(session: AsyncSession, slugs: Iterable[str]) -> list[Theme]:
    wanted = list(dict.fromkeys(slugs))
    if not wanted:
        return []
    found = {t.slug: t for t in await session.scalars(select(Theme).where(Theme.slug.in_(wanted)))}
    missing = [s for s in wanted if s not in found]
    if missing:
        raise ValidationError({"themes": N_("inconnu : %(names)s", names=", ".join(missing))})
    return [found[s] for s in wanted]


async def theme_by_iri(session: AsyncSession, iri: str) -> Theme | None:
    return await session.scalar(select(Theme).where(Theme.iri == iri))


async def add_local_theme(
    session: AsyncSession,
    *,
    label_fr: str,
    label_en: str = "",
    parent_slug: str,
    iri_base: str,
) -> Theme:
    """A local sub-theme mapped to a core theme; its IRI lives under this instance."""
    label_fr = label_fr.strip()
    if not label_fr or len(label_fr) > 120:
        raise ValidationError({"label_fr": N_("obligatoire, 120 caractères au plus")})
    parent = await session.scalar(select(Theme).where(Theme.slug == parent_slug, Theme.is_core))
    if parent is None:
        raise NotFound(N_("thème principal %(parent_slug)r introuvable", parent_slug=parent_slug))
    slug = slugify(label_fr)
    if await session.scalar(select(Theme.id).where(Theme.slug == slug)):
        raise Conflict(N_("le thème %(slug)r existe déjà", slug=slug), field="label_fr")
    theme = Theme(
        slug=slug,
        iri=f"{iri_base.rstrip('/')}/themes/{slug}",
        label_fr=label_fr,
        label_en=label_en.strip() or label_fr,
        hashtag="",
        is_core=False,
        parent_id=parent.id,
    )
    session.add(theme)
    await session.flush()
    return theme
