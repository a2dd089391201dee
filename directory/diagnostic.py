"""The territorial diagnostic: who does what where, and which needs nobody covers.

Every figure is an aggregate computed by the database (GROUP BY over the join tables,
filtered by the site's SearchQuery conditions), never a Python loop over initiatives.
Only published initiatives count. "Ended" per month is based on the initiatives whose
status is now `ended`, dated by their last update (`updated_at`): the month the
initiative was marked as ended, or last edited after that.

Refresh rule: the whole-territory figures read every published row (seconds at 100k on
a busy SQLite), so results are cached per database connection under the search_state
token (directory/facets.py), which triggers renew on every committed change to
initiatives' state, status, origin, commune, themes, actor kinds or needs, plus a
fingerprint of the communes (their count and total population). Queries with full text
are never cached. Known limit: a later edit of an already ended initiative moves its
"ended" month without renewing the token, until the next change that does.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from directory.facets import cached, connection_cache
from directory.filters import conditions, has_text
from directory.models import (
    Commune,
    Initiative,
    InitiativeActorKind,
    InitiativeNeed,
    InitiativeTheme,
    Theme,
)
from directory.search import SearchQuery
from directory.vocabulary import ACTOR_KINDS, NEEDS, Term

PER = 10_000  # "per 10,000 inhabitants"


@dataclass(frozen=True)
class Count:
    """One bar: a value (theme, actor kind, need), its labels, count and rate."""

    key: str
    label_fr: str
    label_en: str
    count: int
    per_10k: float | None = None

    def label(self, lang: str = "fr") -> str:
        return self.label_en if lang == "en" else self.label_fr


@dataclass(frozen=True)
class CommuneCount:
    insee_code: str
    name: str
    count: int
    population: int | None
    has_coordinates: bool
    known: bool  # False: an INSEE code of initiatives that is not among our communes

    @property
    def per_10k(self) -> float | None:
        return rate(self.count, self.population)


@dataclass(frozen=True)
class Month:
    month: str  # "2026-03"
    created: int
    ended: int


@dataclass
class Coverage:
    """Needs x communes: how many active initiatives address each need in each commune."""

    needs: list[Term]
    communes: list[CommuneCount]
    cells: dict[tuple[str, str], int]  # (need, insee) -> active initiatives

    def count(self, need: str, insee: str) -> int:
        return self.cells.get((need, insee), 0)

    @property
    def uncovered(self) -> list[tuple[Term, CommuneCount]]:
        return [
            (n, c)
            for c in self.communes
            for n in self.needs
            if not self.count(n.slug, c.insee_code)
        ]


@dataclass
class Diagnostic:
    query: SearchQuery
    include_remote: bool
    commune: CommuneCount | None
    total: int
    active: int
    population: int | None  # of the scope, when known for every commune in it
    communes_without_population: list[CommuneCount]
    communes_without_coordinates: list[CommuneCount]
    by_theme: list[Count]
    by_actor_kind: list[Count]
    by_need: list[Count]
    by_commune: list[CommuneCount]
    coverage: Coverage
    months: list[Month]
    actor_kinds_present: int = 0
    actor_kinds_possible: int = len(ACTOR_KINDS)
    multi_actor: int = 0  # initiatives involving at least two kinds of actors
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.total == 0


def rate(count: int, population: int | None) -> float | None:
    """Count per 10,000 inhabitants (one decimal), None when the population is unknown."""
    if not population:
        return None
    return round(count * PER / population, 1)


def scope_query(query: SearchQuery, *, commune: str | None, include_remote: bool) -> SearchQuery:
    """The query the diagnostic runs: published only, local unless asked, one commune maybe."""
    return replace(
        query,
        moderation_states=("published",),
        origin="all" if include_remote else "local",
        communes=(commune,) if commune else query.communes,
        text=query.text,
    )


async def compute(
    session: AsyncSession,
    query: SearchQuery | None = None,
    *,
    commune: str | None = None,
    include_remote: bool = False,
    use_cache: bool = True,
) -> Diagnostic:
    """The whole diagnostic for the territory (or one commune, by INSEE code), cached."""
    query = scope_query(query or SearchQuery(), commune=commune, include_remote=include_remote)
    if not use_cache or has_text(query):
        return await _compute(session, query, include_remote)
    fingerprint = tuple(
        (await session.execute(select(func.count(Commune.id), func.sum(Commune.population)))).one()
    )
    key = ("diagnostic", replace(query, page=1, sort="name"), include_remote, fingerprint)
    return await cached(
        await connection_cache(session), key, lambda: _compute(session, query, include_remote)
    )


async def _compute(session: AsyncSession, query: SearchQuery, include_remote: bool) -> Diagnostic:
    dialect = session.bind.dialect.name
    where = conditions(query, dialect)
    active_where = [*where, Initiative.status == "active"]

    total, active = (
        await session.execute(
            select(
                func.count(Initiative.id),
                func.count(Initiative.id).filter(Initiative.status == "active"),
            ).where(*where)
        )
    ).one()

    all_communes = {c.insee_code: c for c in await session.scalars(select(Commune))}
    scope_codes = list(query.communes) if query.communes else list(all_communes)
    scope = [all_communes[code] for code in scope_codes if code in all_communes]
    population = (
        sum(c.population for c in scope) if scope and all(c.population for c in scope) else None
    )

    per_commune = dict(
        (
            await session.execute(
                select(Initiative.insee_code, func.count(Initiative.id))
                .where(*where)
                .group_by(Initiative.insee_code)
            )
        ).all()
    )
    by_commune = _communes(all_communes, scope_codes, per_commune)

    by_theme = await _themes(session, where, population)
    by_kind = _terms(
        ACTOR_KINDS,
        await _grouped(session, InitiativeActorKind.kind, InitiativeActorKind, where),
        population,
    )
    by_need = _terms(
        NEEDS, await _grouped(session, InitiativeNeed.need, InitiativeNeed, where), population
    )
    cells = {
        (need, insee): n
        for need, insee, n in (
            await session.execute(
                select(InitiativeNeed.need, Initiative.insee_code, func.count())
                .join(Initiative, Initiative.id == InitiativeNeed.initiative_id)
                .where(*active_where)
                .group_by(InitiativeNeed.need, Initiative.insee_code)
            )
        ).all()
    }
    needs = [n for n in NEEDS if not query.needs or n.slug in query.needs]
    coverage = Coverage(needs=needs, communes=[c for c in by_commune if c.known], cells=cells)

    multi = (
        select(InitiativeActorKind.initiative_id)
        .join(Initiative, Initiative.id == InitiativeActorKind.initiative_id)
        .where(*where)
        .group_by(InitiativeActorKind.initiative_id)
        .having(func.count() >= 2)
    )
    multi_actor = await session.scalar(select(func.count()).select_from(multi.subquery())) or 0

    single = query.communes[0] if len(query.communes) == 1 else None
    return Diagnostic(
        query=query,
        include_remote=include_remote,
        commune=next((c for c in by_commune if c.insee_code == single and c.known), None),
        total=total,
        active=active,
        population=population,
        communes_without_population=[c for c in by_commune if c.known and not c.population],
        communes_without_coordinates=[c for c in by_commune if c.known and not c.has_coordinates],
        by_theme=by_theme,
        by_actor_kind=by_kind,
        by_need=by_need,
        by_commune=by_commune,
        coverage=coverage,
        months=await _months(session, where, dialect),
        actor_kinds_present=sum(1 for c in by_kind if c.count),
        multi_actor=multi_actor,
    )


def _communes(
    communes: dict[str, Commune], scope_codes: list[str], counts: dict[str, int]
) -> list[CommuneCount]:
    """Every commune of the scope (with 0s), then codes of initiatives we do not know."""
    rows = [
        CommuneCount(
            insee_code=code,
            name=communes[code].name,
            count=counts.get(code, 0),
            population=communes[code].population,
            has_coordinates=communes[code].latitude is not None
            and communes[code].longitude is not None,
            known=True,
        )
        for code in scope_codes
        if code in communes
    ]
    rows += [
        CommuneCount(code, code or "—", n, None, False, False)
        for code, n in counts.items()
        if code not in communes
    ]
    return sorted(rows, key=lambda c: (-c.count, c.name))


async def _grouped(
    session: AsyncSession, key: ColumnElement, table: type, where: list[ColumnElement[bool]]
) -> dict[str, int]:
    rows = await session.execute(
        select(key, func.count())
        .join(Initiative, Initiative.id == table.initiative_id)
        .where(*where)
        .group_by(key)
    )
    return dict(rows.all())


def _terms(terms: tuple[Term, ...], counts: dict[str, int], population: int | None) -> list[Count]:
    rows = [
        Count(
            t.slug,
            t.label_fr,
            t.label_en,
            counts.get(t.slug, 0),
            rate(counts.get(t.slug, 0), population),
        )
        for t in terms
    ]
    return sorted(rows, key=lambda c: -c.count)


async def _themes(
    session: AsyncSession, where: list[ColumnElement[bool]], population: int | None
) -> list[Count]:
    """Counts per core theme (a sub-theme counts for its parent, each initiative once)."""
    core = func.coalesce(Theme.parent_id, Theme.id)
    counts = dict(
        (
            await session.execute(
                select(core, func.count(func.distinct(InitiativeTheme.initiative_id)))
                .join(Theme, Theme.id == InitiativeTheme.theme_id)
                .join(Initiative, Initiative.id == InitiativeTheme.initiative_id)
                .where(*where)
                .group_by(core)
            )
        ).all()
    )
    themes = await session.scalars(
        select(Theme).where(Theme.parent_id.is_(None)).order_by(Theme.id)
    )
    rows = [
        Count(
            t.slug,
            t.label_fr,
            t.label_en,
            counts.get(t.id, 0),
            rate(counts.get(t.id, 0), population),
        )
        for t in themes
    ]
    return sorted(rows, key=lambda c: -c.count)


async def _months(
    session: AsyncSession, where: list[ColumnElement[bool]], dialect: str
) -> list[Month]:
    """Initiatives created and ended per month (UTC), oldest first."""

    def month(column: ColumnElement) -> ColumnElement[str]:
        if dialect == "postgresql":
            return func.to_char(func.timezone("UTC", column), "YYYY-MM")
        return func.strftime("%Y-%m", column)

    created = dict(
        (
            await session.execute(
                select(m := month(Initiative.created_at), func.count()).where(*where).group_by(m)
            )
        ).all()
    )
    ended = dict(
        (
            await session.execute(
                select(m := month(Initiative.updated_at), func.count())
                .where(*where, Initiative.status == "ended")
                .group_by(m)
            )
        ).all()
    )
    return [
        Month(key, created.get(key, 0), ended.get(key, 0))
        for key in sorted(set(created) | set(ended))
        if key
    ]
