"""The territorial diagnostic: who does what where, and which needs nobody covers.

Every figure is an aggregate computed by the database, never a Python loop over
initiatives. Only published initiatives count. "Ended" per month is based on the
initiatives whose status is now `ended`, dated by their last update (`updated_at`): the
month the initiative was marked as ended, or last edited after that.

Stored counts and their refresh rule. Counting 100k initiatives takes seconds, so counts
are stored per (commune, origin, status, dimension, value) in `diagnostic_counts`
(models_diagnostic.py, migration 0008). Database triggers record in
`diagnostic_changes` the commune of every published initiative whose state, status,
origin, commune, creation date, themes, actor kinds or needs change (or whose update
date changes while it is ended), and "*" when the theme tree changes. Then:
- `refresh()` recounts the recorded communes and removes their records: the worker runs it
  at every round (web/diagnostic.py), right after a change;
- `compute()` reads the stored counts of the other communes and counts the recorded ones
  live, so a page is never stale, and costs more only between a change and the refresh.
Filters the counts do not hold (themes, actor kinds, needs, text) are computed directly,
cached per database connection under the search_state token (directory/facets.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from directory.facets import cached, connection_cache, theme_ids_of, theme_rows
from directory.filters import conditions, has_text
from directory.models import (
    Commune,
    Initiative,
    InitiativeActorKind,
    InitiativeNeed,
    InitiativeTheme,
    Theme,
    utcnow,
)
from directory.models_diagnostic import (
    ALL_COMMUNES,
    TERRITORY,
    DiagnosticChange,
    DiagnosticCount,
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
    latitude: float | None = None
    longitude: float | None = None

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

    def uncovered_by_commune(self) -> list[tuple[CommuneCount, list[Term]]]:
        """Each commune with at least one uncovered need, and those needs (the map's data)."""
        found = []
        for c in self.communes:
            needs = [n for n in self.needs if not self.count(n.slug, c.insee_code)]
            if needs:
                found.append((c, needs))
        return found

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
    computed_at: datetime = field(default_factory=utcnow)  # the directory as of then

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
    """The whole diagnostic for the territory (or one commune, by INSEE code), up to date.

    From the stored counts when the query only narrows by commune and status; else
    computed directly (cached per connection unless use_cache=False or with text).
    """
    query = scope_query(query or SearchQuery(), commune=commune, include_remote=include_remote)
    if countable(query):
        return await _from_counts(session, query, include_remote)
    if not use_cache or has_text(query):
        return await compute_directly(session, query, include_remote)
    fingerprint = tuple(
        (await session.execute(select(func.count(Commune.id), func.sum(Commune.population)))).one()
    )
    key = ("diagnostic", replace(query, page=1, sort="name"), include_remote, fingerprint)
    return await cached(
        await connection_cache(session),
        key,
        lambda: compute_directly(session, query, include_remote),
    )


def countable(query: SearchQuery) -> bool:
    """Whether the stored counts answer the query (it narrows by commune and status only)."""
    return not (
        query.themes
        or query.actor_kinds
        or query.needs
        or query.bbox
        or query.near
        or has_text(query)
    )


# --- Stored counts ---------------------------------------------------------------------

# (insee_code, is_local, status, dimension, value, n): one row of diagnostic_counts.
CountRow = tuple[str, bool, str, str, str, int]


async def changed_communes(session: AsyncSession) -> set[str]:
    """The communes whose stored counts are stale ("*": all of them)."""
    return set(await session.scalars(select(DiagnosticChange.insee_code).distinct()))


async def refresh(session: AsyncSession) -> int:
    """Recount the communes changed since the last refresh; how many were recounted.

    The worker calls it at every round. On SQLite, call it first in its transaction (its
    first statement takes the write lock, so the recount sees every committed change).
    Concurrent refreshes on PostgreSQL wait for each other (a transaction-level lock).
    """
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(7007)"))
    claimed = set(
        await session.scalars(delete(DiagnosticChange).returning(DiagnosticChange.insee_code))
    )
    if session.bind.dialect.name == "postgresql":
        # The triggers remember which communes this transaction has recorded: forget them,
        # as their records are gone.
        await session.execute(text("SELECT set_config('maillage.diagnostic_marked', '', true)"))
    if not claimed:
        return 0
    codes = None if ALL_COMMUNES in claimed else sorted(claimed)
    c = DiagnosticCount
    columns = ("insee_code", "is_local", "status", "dimension", "value", "n")
    territory: dict[tuple[bool, str, str, str], int] = {}
    rows = await count_rows(session, codes)
    if codes is None:
        await session.execute(delete(c))
    else:
        # The territory's totals move by the difference between old and new counts.
        for *key, n in await session.execute(
            select(c.is_local, c.status, c.dimension, c.value, c.n).where(c.insee_code == TERRITORY)
        ):
            territory[tuple(key)] = n
        for *key, n in await session.execute(
            select(c.is_local, c.status, c.dimension, c.value, c.n).where(c.insee_code.in_(codes))
        ):
            territory[tuple(key)] = territory.get(tuple(key), 0) - n
        await session.execute(delete(c).where(c.insee_code.in_([*codes, TERRITORY])))
    for _insee, *key, n in rows:
        territory[tuple(key)] = territory.get(tuple(key), 0) + n
    rows += [(TERRITORY, *key, n) for key, n in territory.items() if n]
    for first in range(0, len(rows), 5000):
        await session.execute(
            insert(c), [dict(zip(columns, r, strict=True)) for r in rows[first : first + 5000]]
        )
    return len(claimed)


def _month(column: ColumnElement, dialect: str) -> ColumnElement[str]:
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)


async def count_rows(session: AsyncSession, codes: Sequence[str] | None) -> list[CountRow]:
    """The counts of these communes (every commune when None), from the directory itself."""
    where = [Initiative.moderation_state == "published"]
    if codes is not None:
        where.append(Initiative.insee_code.in_(codes))
    return await _count_where(session, where)


async def _count_where(
    session: AsyncSession, where: list[ColumnElement[bool]], *, by_commune: bool = True
) -> list[CountRow]:
    """The count rows of the initiatives matching `where`, in one statement.

    The matching initiatives are read once (a CTE used several times, which both databases
    materialise), each with its creation month, its month of ending and whether it has
    several kinds of actors; each dimension is then a GROUP BY over them (the join tables
    by their primary key). by_commune=False keeps the commune only where the page shows it
    (totals, and active initiatives per need): fewer rows (code None) for a direct count."""
    dialect = session.bind.dialect.name
    kinds = (
        select(func.count())
        .where(InitiativeActorKind.initiative_id == Initiative.id)
        .scalar_subquery()
    )
    m = (
        select(
            Initiative.id,
            Initiative.insee_code.label("insee"),
            Initiative.origin.is_(None).label("local"),
            Initiative.status,
            _month(Initiative.created_at, dialect).label("created"),
            case(
                (
                    Initiative.status == "ended",
                    func.coalesce(_month(Initiative.updated_at, dialect), ""),
                )
            ).label("ended"),
            (kinds >= 2).label("multi"),
        )
        .where(*where)
        .cte("matching")
    )
    full = (m.c.insee, m.c.local, m.c.status)
    grouping = full if by_commune else full[1:]  # (PostgreSQL refuses GROUP BY NULL)
    keys = full if by_commune else (null(), *grouping)
    per_need = full if by_commune else (case((m.c.status == "active", m.c.insee)), *full[1:])
    empty = literal("")
    core = func.coalesce(Theme.parent_id, Theme.id)
    statement = union_all(
        select(*full, literal("all"), empty, func.count()).group_by(*full),
        select(*keys, literal("created"), func.coalesce(m.c.created, ""), func.count()).group_by(
            *grouping, m.c.created
        ),
        select(*keys, literal("ended"), m.c.ended, func.count())
        .where(m.c.ended.is_not(None))
        .group_by(*grouping, m.c.ended),
        select(*keys, literal("multi"), empty, func.count()).where(m.c.multi).group_by(*grouping),
        select(*keys, literal("theme"), cast(core, String), func.count(func.distinct(m.c.id)))
        .join(InitiativeTheme, InitiativeTheme.initiative_id == m.c.id)
        .join(Theme, Theme.id == InitiativeTheme.theme_id)
        .group_by(*grouping, core),
        *(
            select(*shown, literal(name), value, func.count())
            .join(table, table.initiative_id == m.c.id)
            .group_by(*grouped, value)
            for name, table, value, shown, grouped in (
                ("kind", InitiativeActorKind, InitiativeActorKind.kind, keys, grouping),
                ("need", InitiativeNeed, InitiativeNeed.need, per_need, per_need),
            )
        ),
    )
    return [
        (insee, bool(local), status, dimension, value, n)
        for insee, local, status, dimension, value, n in await session.execute(statement)
    ]


@dataclass
class _Tally:
    """The counts of a scope, summed from stored and live rows."""

    total: int = 0
    active: int = 0
    multi: int = 0
    per_commune: dict[str, int] = field(default_factory=dict)
    values: dict[str, dict[str, int]] = field(default_factory=dict)  # dimension -> value -> n
    cells: dict[tuple[str, str], int] = field(default_factory=dict)  # (need, insee) -> active

    def add(
        self, code: str | None, dimension: str, value: str, status: str, n: int, totals: bool = True
    ) -> None:
        """Count a row in the totals (unless totals=False) and for its commune (code) where
        the page shows one per commune: the totals, and the active ones per need."""
        if totals and dimension == "all":
            self.total += n
            self.active += n if status == "active" else 0
        elif totals and dimension == "multi":
            self.multi += n
        elif totals:
            counts = self.values.setdefault(dimension, {})
            counts[value] = counts.get(value, 0) + n
        if code is None:
            return
        if dimension == "all":
            self.per_commune[code] = self.per_commune.get(code, 0) + n
        elif dimension == "need" and status == "active":
            self.cells[(value, code)] = self.cells.get((value, code), 0) + n


async def _from_counts(
    session: AsyncSession, query: SearchQuery, include_remote: bool
) -> Diagnostic:
    changed = await changed_communes(session)
    scope = list(query.communes) or None
    tally = _Tally()
    if ALL_COMMUNES in changed:
        live: Iterable[CountRow] = await count_rows(session, scope)
    else:
        stale = sorted(changed if scope is None else changed & set(scope))
        live = await count_rows(session, stale) if stale else []
        c = DiagnosticCount
        where = []
        if not include_remote:
            where.append(c.is_local.is_(True))
        if query.statuses:
            where.append(c.status.in_(query.statuses))
        per_commune = or_(c.dimension == "all", and_(c.dimension == "need", c.status == "active"))
        if scope is None:
            # The territory's stored totals, less those of the changed communes (counted
            # live below); then the communes' totals and coverage, from the index on
            # (dimension, status, insee_code).
            for insee, *row in await session.execute(
                select(c.insee_code, c.dimension, c.value, c.status, c.n).where(
                    *where, c.insee_code.in_([TERRITORY, *stale])
                )
            ):
                *key, n = row
                tally.add(None, *key, n if insee == TERRITORY else -n)
            for row in await session.execute(
                select(c.insee_code, c.dimension, c.value, c.status, func.sum(c.n))
                .where(*where, per_commune, c.insee_code.not_in([TERRITORY, *stale]))
                .group_by(c.insee_code, c.dimension, c.value, c.status)
            ):
                tally.add(*row, totals=False)
        else:
            code = case((per_commune, c.insee_code), else_=null())
            for row in await session.execute(
                select(code, c.dimension, c.value, c.status, func.sum(c.n))
                .where(*where, c.insee_code.in_(scope), c.insee_code.not_in(stale))
                .group_by(code, c.dimension, c.value, c.status)
            ):
                tally.add(*row)
    for insee, local, status, dimension, value, n in live:
        if (include_remote or local) and (not query.statuses or status in query.statuses):
            tally.add(insee, dimension, value, status, n)
    return await _tallied(session, query, include_remote, tally)


async def _tallied(
    session: AsyncSession, query: SearchQuery, include_remote: bool, tally: _Tally
) -> Diagnostic:
    themes = {str(k): v for k, v in tally.values.get("theme", {}).items()}
    months = {
        key: Month(
            key,
            tally.values.get("created", {}).get(key, 0),
            tally.values.get("ended", {}).get(key, 0),
        )
        for key in set(tally.values.get("created", {})) | set(tally.values.get("ended", {}))
        if key
    }
    return await _assemble(
        session,
        query,
        include_remote,
        total=tally.total,
        active=tally.active,
        per_commune=tally.per_commune,
        themes=themes,
        kinds=tally.values.get("kind", {}),
        needs=tally.values.get("need", {}),
        cells=tally.cells,
        months=[months[k] for k in sorted(months)],
        multi=tally.multi,
    )


# --- Direct computation (filters the stored counts do not hold) ------------------------


async def compute_directly(
    session: AsyncSession, query: SearchQuery, include_remote: bool
) -> Diagnostic:
    """The diagnostic counted from the directory itself (GROUP BY over the join tables)."""
    # The themes' ids as values, so that the theme index drives (not a subquery per statement).
    themes = await theme_rows(session, await connection_cache(session)) if query.themes else []
    where = conditions(
        query,
        session.bind.dialect.name,
        theme_ids=theme_ids_of(themes, query.themes) if query.themes else None,
    )
    tally = _Tally()
    for insee, _local, status, dimension, value, n in await _count_where(
        session, where, by_commune=False
    ):
        tally.add(insee, dimension, value, status, n)
    return await _tallied(session, query, include_remote, tally)


async def _assemble(
    session: AsyncSession,
    query: SearchQuery,
    include_remote: bool,
    *,
    total: int,
    active: int,
    per_commune: dict[str, int],
    themes: dict[str, int],  # core theme id (as text) -> initiatives
    kinds: dict[str, int],
    needs: dict[str, int],
    cells: dict[tuple[str, str], int],
    months: list[Month],
    multi: int,
) -> Diagnostic:
    """The Diagnostic of these counts, with the communes' names, populations and rates."""
    communes = select(Commune)
    if query.communes:
        communes = communes.where(Commune.insee_code.in_({*query.communes, *per_commune}))
    all_communes = {c.insee_code: c for c in await session.scalars(communes)}
    scope_codes = list(query.communes) if query.communes else list(all_communes)
    scope = [all_communes[code] for code in scope_codes if code in all_communes]
    population = (
        sum(c.population for c in scope) if scope and all(c.population for c in scope) else None
    )
    by_commune = _communes(all_communes, scope_codes, per_commune)
    by_kind = _terms(ACTOR_KINDS, kinds, population)
    core_themes = await session.execute(
        select(Theme.id, Theme.slug, Theme.label_fr, Theme.label_en)
        .where(Theme.parent_id.is_(None))
        .order_by(Theme.id)
    )
    by_theme = sorted(
        (
            Count(slug, label_fr, label_en, n := themes.get(str(tid), 0), rate(n, population))
            for tid, slug, label_fr, label_en in core_themes
        ),
        key=lambda c: -c.count,
    )
    coverage_needs = [n for n in NEEDS if not query.needs or n.slug in query.needs]
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
        by_need=_terms(NEEDS, needs, population),
        by_commune=by_commune,
        coverage=Coverage(
            needs=coverage_needs, communes=[c for c in by_commune if c.known], cells=cells
        ),
        months=months,
        actor_kinds_present=sum(1 for c in by_kind if c.count),
        multi_actor=multi,
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
            latitude=communes[code].latitude,
            longitude=communes[code].longitude,
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
