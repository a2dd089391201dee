""" "Similar elsewhere": initiatives with the same themes and needs, here or followed.

The scoring is transparent, and every result says why it is there:
- 3 points per shared core theme (a sub-theme counts as its core theme);
- 3 points per shared need;
- up to 4 points of text similarity (Jaccard of the stemmed words of name and summary);
- up to 2 points for nearness (2 at 0 km, 1 at 25 km, fading with distance).
Candidates come from indexes, bounded: the BOTH most recent initiatives sharing a theme
and a need, the PER_ITEM most recent of each shared core theme and need, and NEARBY
initiatives within NEARBY_KM sharing one of them. The database counts, for each
candidate, its shared themes and needs (primary-key probes); distance is added in Python,
then the text is compared for the TEXT_CANDIDATES best so far (text adds at most
TEXT_POINTS), and the best `limit` are loaded. Local and followed initiatives alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sqlalchemy import exists, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

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

    initiative: Initiative
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
    theme_ids = sorted(
        own_cores.union(
            await session.scalars(
                select(Theme.id).where(Theme.parent_id.in_(sorted(own_cores) or [-1]))
            )
        )
    )

    # Bounded candidate lists, each read from an index in order, without sorting.
    # Per theme, so each walks one theme's index backwards and probes the needs' key.
    lists = [
        select(InitiativeTheme.initiative_id.label("iid"))
        .where(
            InitiativeTheme.theme_id == theme_id,
            exists().where(
                InitiativeNeed.initiative_id == InitiativeTheme.initiative_id,
                InitiativeNeed.need.in_(needs),
            ),
        )
        .order_by(InitiativeTheme.initiative_id.desc())
        .limit(BOTH)
        for theme_id in (theme_ids if needs else [])
    ]
    lists += [
        select(InitiativeTheme.initiative_id.label("iid"))
        .where(InitiativeTheme.theme_id == theme_id)
        .order_by(InitiativeTheme.initiative_id.desc())
        .limit(PER_ITEM)
        for theme_id in theme_ids
    ] + [
        select(InitiativeNeed.initiative_id.label("iid"))
        .where(InitiativeNeed.need == need)
        .order_by(InitiativeNeed.initiative_id.desc())
        .limit(PER_ITEM)
        for need in needs
    ]
    # Whether a nearby one shares a theme or need: a probe of its keys per row (as an
    # EXISTS, PostgreSQL would hash every initiative of the themes and needs first).
    shares = []
    if theme_ids:
        shares.append(
            select(literal(1))
            .where(
                InitiativeTheme.initiative_id == Initiative.id,
                InitiativeTheme.theme_id.in_(theme_ids),
            )
            .limit(1)
            .scalar_subquery()
            .is_not(None)
        )
    if needs:
        shares.append(
            select(literal(1))
            .where(InitiativeNeed.initiative_id == Initiative.id, InitiativeNeed.need.in_(needs))
            .limit(1)
            .scalar_subquery()
            .is_not(None)
        )
    here = (
        (initiative.latitude, initiative.longitude)
        if initiative.latitude is not None and initiative.longitude is not None
        else None
    )
    if here is not None:
        dlat = NEARBY_KM / 111.195
        dlon = dlat / max(0.1, math.cos(math.radians(here[0])))
        lists.append(
            select(Initiative.id.label("iid"))
            .where(
                Initiative.latitude.between(here[0] - dlat, here[0] + dlat),
                Initiative.longitude.between(here[1] - dlon, here[1] + dlon),
                or_(*shares),
            )
            .limit(NEARBY)
        )
    # Each limited list is a subquery (SQLite refuses LIMIT in a compound).
    candidates = union_all(*[select(q.subquery().c.iid) for q in lists]).subquery().c.iid
    shared_themes = (
        select(func.count(func.distinct(func.coalesce(Theme.parent_id, Theme.id))))
        .select_from(InitiativeTheme)
        .join(Theme, Theme.id == InitiativeTheme.theme_id)
        .where(
            InitiativeTheme.initiative_id == Initiative.id,
            InitiativeTheme.theme_id.in_(theme_ids or [-1]),
        )
        .scalar_subquery()
    )
    shared_needs = (
        select(func.count())
        .where(
            InitiativeNeed.initiative_id == Initiative.id, InitiativeNeed.need.in_(needs or [""])
        )
        .scalar_subquery()
    )
    rows = (
        await session.execute(
            select(
                Initiative.id,
                Initiative.latitude,
                Initiative.longitude,
                shared_themes,
                shared_needs,
            ).where(
                Initiative.id.in_(select(candidates)),
                Initiative.id != initiative.id,
                Initiative.moderation_state == "published",
                ~shadowed_row(),
            )
        )
    ).all()

    # Themes, needs and distance first; the text (stemming is the costly part) only for
    # the best TEXT_CANDIDATES, and never for one that could not reach the top `limit`.
    partial = []
    for iid, lat, lon, n_themes, n_needs in rows:
        if not n_themes and not n_needs:
            continue
        km = distance_km(here, (lat, lon)) if here and lat is not None and lon is not None else None
        base = (
            THEME_POINTS * n_themes
            + NEED_POINTS * n_needs
            + (NEAR_POINTS * NEAR_KM / (NEAR_KM + km) if km is not None else 0.0)
        )
        partial.append((base, km, iid))
    partial.sort(key=lambda s: (-s[0], s[1] if s[1] is not None else math.inf, s[2]))
    if len(partial) > limit:
        threshold = partial[limit - 1][0] - TEXT_POINTS
        partial = [p for p in partial if p[0] >= threshold][:TEXT_CANDIDATES]
    if not partial:
        return []
    ids = [iid for _base, _km, iid in partial]
    texts = {
        iid: (name, summary)
        for iid, name, summary in await session.execute(
            select(Initiative.id, Initiative.name, Initiative.summary).where(Initiative.id.in_(ids))
        )
    }
    own_words = words(initiative.name, initiative.summary)
    scored = []
    for base, km, iid in partial:
        other_words = words(*texts.get(iid, ("", "")))
        union = own_words | other_words
        text = len(own_words & other_words) / len(union) if union else 0.0
        scored.append((base + TEXT_POINTS * text, km, iid, text))
    scored.sort(key=lambda s: (-s[0], s[1] if s[1] is not None else math.inf, s[2]))
    best = scored[:limit]
    best_ids = [iid for _score, _km, iid, _text in best]
    # The results with their needs, actor kinds and themes joined: one statement, but
    # SQLite, given the themes joined, reads the whole theme index (one more for them).
    joined = [joinedload(Initiative.need_rows), joinedload(Initiative.actor_kind_rows)]
    if session.bind.dialect.name == "postgresql":
        joined.append(joinedload(Initiative.themes))
    loaded = {
        i.id: i
        for i in (
            await session.scalars(
                select(Initiative).where(Initiative.id.in_(best_ids)).options(*joined)
            )
        ).unique()
    }
    return [
        Similar(
            initiative=loaded[iid],
            score=round(score, 2),
            km=km,
            themes=[
                cores[t]
                for t in sorted(own_cores & {t.parent_id or t.id for t in loaded[iid].themes})
            ],
            needs=[n.slug for n in NEEDS if n.slug in own_needs & set(loaded[iid].needs)],
            text=round(text, 2),
        )
        for score, km, iid, text in best
        if iid in loaded
    ]
