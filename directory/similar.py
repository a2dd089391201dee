""" "Similar elsewhere": initiatives with the same themes and needs, here or followed.

The scoring is transparent, and every result says why it is there:
- 3 points per shared core theme (a sub-theme counts as its core theme);
- 3 points per shared need;
- up to 4 points of text similarity (Jaccard of the stemmed words of name and summary);
- up to 2 points for nearness (2 at 0 km, 1 at 25 km, fading with distance).
Candidates come from indexes, bounded: the BOTH most recent initiatives sharing a theme
and a need, the PER_ITEM most recent of each shared core theme and need, and NEARBY
initiatives within NEARBY_KM sharing one of them. One statement (compiled once per shape
of the query) reads the candidates, their card's columns and their shared themes and
needs (primary-key probes; sub-themes are mapped to their core theme in Python); distance
is added in Python, then the text is compared for the TEXT_CANDIDATES best so far (text
adds at most TEXT_POINTS), and the best `limit` get their themes. Local and followed
initiatives alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import (
    BindParameter,
    Select,
    String,
    bindparam,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from directory.models import Initiative, InitiativeNeed, InitiativeTheme, Theme
from directory.sameas import shadowed_row
from directory.text import stemmed
from directory.vocabulary import NEEDS, by_slug

BOTH = 100
PER_ITEM = 50
NEARBY = 100
TEXT_CANDIDATES = 40
NEARBY_KM = 15.0
THEME_POINTS = 3.0
NEED_POINTS = 3.0
TEXT_POINTS = 4.0
NEAR_POINTS = 2.0
NEAR_KM = 25.0
EARTH_RADIUS_KM = 6371.0088
_NEEDS = by_slug(NEEDS)


@dataclass
class Similar:
    """One similar initiative, its score and the reasons for it."""

    initiative: Card
    score: float
    km: float | None
    themes: list[Theme] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)
    text: float = 0.0  # Jaccard similarity of the words, 0..1

    def reasons(self, lang: str = "fr") -> list[str]:
        """The explanation, one reason per item (French first, English with lang="en")."""
        en = lang == "en"
        colon = ": " if en else " : "
        found = []
        if self.themes:
            labels = ", ".join(t.label(lang) for t in self.themes)
            found.append(f"{'same theme' if en else 'même thème'}{colon}{labels}")
        if self.needs:
            labels = ", ".join(_NEEDS[n].label(lang) for n in self.needs if n in _NEEDS)
            found.append(f"{'same need' if en else 'même besoin'}{colon}{labels}")
        if self.text >= 0.15:
            found.append("similar words" if en else "mots proches")
        if self.km is not None:
            found.append(f"{self.km:.0f} km" if self.km >= 1 else "< 1 km")
        if self.initiative.origin:
            found.append(f"{'on' if en else 'sur'} {self.initiative.origin}")
        return found

    def explanation(self, lang: str = "fr") -> str:
        return " ; ".join(self.reasons(lang))


def words(*texts: str) -> set[str]:
    """The stemmed words of some texts, short words left out."""
    return {w for t in texts for w in stemmed(t).split() if len(w) > 2}


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class Card:
    """What a result's card shows of a similar initiative (read as plain columns)."""

    id: int
    slug: str
    name: str
    summary: str
    city: str
    origin: str | None
    status: str
    themes: list[Theme] = field(default_factory=list)


def _in(name: str) -> BindParameter:
    return bindparam(name, expanding=True)


@lru_cache(maxsize=64)
def _scored_candidates(n_themes: int, n_needs: int, nearby: bool) -> Select:
    """The statement reading and scoring the candidates, built once per shape.

    Values are bound parameters (t0.., n0.., the expanding `themes` and `needs`, the box),
    so the statement compiles once per shape and SQLAlchemy's cache serves the rest."""
    needs_of = InitiativeNeed.initiative_id
    # Bounded candidate lists, each read from an index in order, without sorting.
    # Per theme, so each walks one theme's index backwards and probes the needs' key.
    lists = [
        select(InitiativeTheme.initiative_id.label("iid"))
        .where(
            InitiativeTheme.theme_id == bindparam(f"t{n}"),
            exists().where(
                needs_of == InitiativeTheme.initiative_id, InitiativeNeed.need.in_(_in("needs"))
            ),
        )
        .order_by(InitiativeTheme.initiative_id.desc())
        .limit(BOTH)
        for n in (range(n_themes) if n_needs else ())
    ]
    lists += [
        select(InitiativeTheme.initiative_id.label("iid"))
        .where(InitiativeTheme.theme_id == bindparam(f"t{n}"))
        .order_by(InitiativeTheme.initiative_id.desc())
        .limit(PER_ITEM)
        for n in range(n_themes)
    ] + [
        select(needs_of.label("iid"))
        .where(InitiativeNeed.need == bindparam(f"n{n}"))
        .order_by(needs_of.desc())
        .limit(PER_ITEM)
        for n in range(n_needs)
    ]
    if nearby:
        # Whether a nearby one shares a theme or need: a probe of its keys per row (as an
        # EXISTS, PostgreSQL would hash every initiative of the themes and needs first).
        shares = [
            select(literal(1))
            .where(
                InitiativeTheme.initiative_id == Initiative.id,
                InitiativeTheme.theme_id.in_(_in("themes")),
            )
            .limit(1)
            .scalar_subquery()
            .is_not(None),
            select(literal(1))
            .where(needs_of == Initiative.id, InitiativeNeed.need.in_(_in("needs")))
            .limit(1)
            .scalar_subquery()
            .is_not(None),
        ]
        lists.append(
            select(Initiative.id.label("iid"))
            .where(
                Initiative.latitude.between(bindparam("south"), bindparam("north")),
                Initiative.longitude.between(bindparam("west"), bindparam("east")),
                or_(*shares),
            )
            .limit(NEARBY)
        )
    # Each limited list is a subquery (SQLite refuses LIMIT in a compound).
    candidates = union_all(*[select(q.subquery().c.iid) for q in lists]).subquery().c.iid
    # The shared themes and needs, as text (sub-themes are mapped to their core in Python).
    shared_themes = (
        select(func.aggregate_strings(cast(InitiativeTheme.theme_id, String), " "))
        .where(
            InitiativeTheme.initiative_id == Initiative.id,
            InitiativeTheme.theme_id.in_(_in("themes")),
        )
        .scalar_subquery()
    )
    shared_needs = (
        select(func.aggregate_strings(InitiativeNeed.need, " "))
        .where(needs_of == Initiative.id, InitiativeNeed.need.in_(_in("needs")))
        .scalar_subquery()
    )
    return select(
        Initiative.id,
        Initiative.latitude,
        Initiative.longitude,
        shared_themes,
        shared_needs,
        Initiative.name,
        Initiative.summary,
        Initiative.slug,
        Initiative.city,
        Initiative.origin,
        Initiative.status,
    ).where(
        Initiative.id.in_(select(candidates)),
        Initiative.id != bindparam("own"),
        Initiative.moderation_state == "published",
        ~shadowed_row(),
    )


_CHILDREN = select(Theme.id, Theme.parent_id).where(Theme.parent_id.in_(_in("cores")))
# The results' themes, for their cards (ORM rows: the cards show Theme labels; SQLite
# reads the whole theme index if they are joined to the initiatives).
_THEMES = (
    select(InitiativeTheme.initiative_id, Theme)
    .join(Theme, Theme.id == InitiativeTheme.theme_id)
    .where(InitiativeTheme.initiative_id.in_(_in("ids")))
    .order_by(Theme.id)
)


def _rank(scored: list[tuple]) -> None:
    scored.sort(key=lambda s: (-s[0], s[1] if s[1] is not None else math.inf, s[2]))


async def similar_initiatives(
    session: AsyncSession, initiative: Initiative, limit: int = 6
) -> list[Similar]:
    """Published initiatives (local and followed) most like this one, best first, explained."""
    # The initiative's themes come loaded with their parent: its core themes need no query.
    cores = {t.parent_id or t.id: t.parent or t for t in initiative.themes}
    own_cores = set(cores)
    own_needs = set(initiative.needs)
    if not own_cores and not own_needs:
        return []
    needs = sorted(own_needs)
    # Their sub-themes count as them (the tree may change: read here, a few rows).
    core_of = {core: core for core in own_cores}
    if own_cores:
        core_of.update((await session.execute(_CHILDREN, {"cores": sorted(own_cores)})).all())
    theme_ids = sorted(core_of)
    here = (
        (initiative.latitude, initiative.longitude)
        if initiative.latitude is not None and initiative.longitude is not None
        else None
    )
    params: dict = {"themes": theme_ids, "needs": needs, "own": initiative.id}
    params.update({f"t{n}": theme_id for n, theme_id in enumerate(theme_ids)})
    params.update({f"n{n}": need for n, need in enumerate(needs)})
    if here is not None:
        dlat = NEARBY_KM / 111.195
        dlon = dlat / max(0.1, math.cos(math.radians(here[0])))
        params.update(
            south=here[0] - dlat, north=here[0] + dlat, west=here[1] - dlon, east=here[1] + dlon
        )
    statement = _scored_candidates(len(theme_ids), len(needs), here is not None)
    rows = (await session.execute(statement, params)).all()

    # Themes, needs and distance first; the text (stemming is the costly part) only for
    # the best TEXT_CANDIDATES, and never for one that could not reach the top `limit`.
    partial = []
    for row in rows:
        iid, lat, lon, theme_ids_text, needs_text = row[:5]
        # The shared core themes and needs, read once for the score and the explanation.
        shared = (
            {core_of[int(t)] for t in theme_ids_text.split()} if theme_ids_text else set(),
            set(needs_text.split()) if needs_text else set(),
        )
        n_themes, n_needs = len(shared[0]), len(shared[1])
        if not n_themes and not n_needs:
            continue
        km = distance_km(here, (lat, lon)) if here and lat is not None and lon is not None else None
        base = (
            THEME_POINTS * n_themes
            + NEED_POINTS * n_needs
            + (NEAR_POINTS * NEAR_KM / (NEAR_KM + km) if km is not None else 0.0)
        )
        partial.append((base, km, iid, row, shared))
    _rank(partial)
    if len(partial) > limit:
        threshold = partial[limit - 1][0] - TEXT_POINTS
        partial = [p for p in partial if p[0] >= threshold][:TEXT_CANDIDATES]
    own_words = words(initiative.name, initiative.summary)
    scored = []
    for base, km, iid, row, shared in partial:
        other_words = words(row.name, row.summary)
        union = own_words | other_words
        text = len(own_words & other_words) / len(union) if union else 0.0
        scored.append((base + TEXT_POINTS * text, km, iid, text, row, shared))
    _rank(scored)
    best = scored[:limit]
    if not best:
        return []
    themes: dict[int, list[Theme]] = {}
    for iid, theme in await session.execute(_THEMES, {"ids": [s[2] for s in best]}):
        themes.setdefault(iid, []).append(theme)
    results = []
    for score, km, iid, text, row, (shared_themes, shared_needs) in best:
        results.append(
            Similar(
                initiative=Card(
                    iid,
                    row.slug,
                    row.name,
                    row.summary,
                    row.city,
                    row.origin,
                    row.status,
                    themes.get(iid, []),
                ),
                score=round(score, 2),
                km=km,
                themes=[cores[t] for t in sorted(shared_themes)],
                needs=[n.slug for n in NEEDS if n.slug in shared_needs],
                text=round(text, 2),
            )
        )
    return results
