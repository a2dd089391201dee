"""Source categories -> themes: a table per source, guessed from labels, edited by the admin."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from directory.errors import NotFound, ValidationError
from directory.imports.models import CategoryMapping
from directory.imports.records import Category
from directory.messages import N_
from directory.models import Theme, utcnow
from directory.text import fold
from directory.vocabulary import CORE_THEMES

# Folded word stems -> core theme, tried in order: the first theme with a hit wins.
KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("tiers-lieux", ("tiers lieu", "tiers-lieu", "espaces de rencontre", "espace de rencontre", "cafe associatif")),
    ("reemploi-reparation", ("repar", "reemploi", "recycl", "dechet", "ressourcerie",
                             "recyclerie", "fabriquer", "seconde main", "occasion")),
    ("fablabs-numerique", ("fablab", "fab lab", "numerique", "informatique", "makers",
                           "logiciel", "internet")),
    ("alimentation", ("aliment", "agricult", "amap", "epicerie", "nourrit", "cuisine",
                      "potager", "maraich", "bio", "circuit court", "restaura", "paysan")),
    ("climat-energie", ("energ", "climat", "renouvelable", "solaire", "eolien", "isolation")),
    ("mobilite", ("mobilit", "transport", "velo", "covoiturage", "autopartage", "deplacement")),
    ("habitat", ("habitat", "logement", "urbanisme", "construction", "batiment")),
    ("sante", ("sante", "soin", "bien etre", "medic", "handicap")),
    ("education-jeunesse", ("educat", "formation", "jeunesse", "ecole", "enfan",
                            "sensibilisation", "pedagog", "apprentissage")),
    ("culture-bibliotheques", ("cultur", "biblioth", "media", "artist", "musique", "theatre",
                               "livre", "patrimoine")),
    ("economie-locale-ess", ("economie", "ess", "monnaie", "echange", "emploi", "insertion",
                             "commerce", "entreprise", "finance")),
    ("participation-citoyenne", ("citoyen", "participat", "democrat", "gouvernance", "droits")),
    ("solidarite-entraide", ("solidar", "entraide", "social", "inclusion", "precarite",
                             "accueil", "migrant", "lien social")),
    ("biodiversite-nature", ("biodivers", "nature", "jardin", "ecologie", "environnement",
                             "foret", "eau", "animaux")),
)  # fmt: skip
_WORD_START = re.compile(r"\w+")


def guess_theme(label: str) -> str | None:
    """The core theme a category label most likely means (exact labels first), or None."""
    folded = fold(label).strip()
    if not folded:
        return None
    for core in CORE_THEMES:
        if folded in (core.slug, fold(core.label_fr), fold(core.label_en)):
            return core.slug
    words = " ".join(_WORD_START.findall(folded))
    for slug, stems in KEYWORDS:
        for stem in stems:
            if re.search(r"\b" + re.escape(stem), words):
                return slug
    return None


async def resolve(
    session: AsyncSession, source_key: str, categories: Iterable[Category]
) -> dict[str, str | None]:
    """Category key -> theme slug for this source; unseen categories get a guessed row."""
    wanted = {c.key: c for c in categories}
    if not wanted:
        return {}
    rows = {
        m.category: m
        for m in await session.scalars(
            select(CategoryMapping).where(
                CategoryMapping.source_key == source_key,
                CategoryMapping.category.in_(list(wanted)),
            )
        )
    }
    for key, category in wanted.items():
        row = rows.get(key)
        if row is None:
            row = CategoryMapping(
                source_key=source_key,
                category=key[:200],
                label=category.label[:300],
                theme_slug=guess_theme(category.label),
                automatic=True,
                updated_at=utcnow(),
            )
            session.add(row)
            rows[key] = row
        elif category.label and not row.label:
            row.label = category.label[:300]
            if row.automatic and row.theme_slug is None:
                row.theme_slug = guess_theme(category.label)
    await session.flush()
    return {key: row.theme_slug for key, row in rows.items()}


def themes_for(categories: list[Category], mapping: dict[str, str | None]) -> list[str]:
    """The themes of a record: each category's, else its parent's when that one is mapped."""
    themes: list[str] = []
    for category in categories:
        slug = mapping.get(category.key) or mapping.get(category.parent)
        if slug and slug not in themes:
            themes.append(slug)
    return themes


async def list_mappings(
    session: AsyncSession, source_key: str | None = None
) -> list[CategoryMapping]:
    query = select(CategoryMapping).order_by(CategoryMapping.source_key, CategoryMapping.label)
    if source_key:
        query = query.where(CategoryMapping.source_key == source_key)
    return list(await session.scalars(query))


async def set_mapping(
    session: AsyncSession, mapping_id: int, theme_slug: str | None
) -> CategoryMapping:
    """The admin's choice for one category (None: no theme); later imports use it."""
    row = await session.get(CategoryMapping, mapping_id)
    if row is None:
        raise NotFound(N_("correspondance %(mapping_id)s introuvable", mapping_id=mapping_id))
    if theme_slug and not await session.scalar(select(Theme.id).where(Theme.slug == theme_slug)):
        raise ValidationError(
            {"theme": N_("thème inconnu : %(theme_slug)s", theme_slug=theme_slug)}
        )
    row.theme_slug = theme_slug or None
    row.automatic = False
    row.updated_at = utcnow()
    await session.flush()
    return row
