""" "Similar elsewhere": initiatives with the same themes and needs, here or followed.

The scoring is transparent, and every result says why it is there:
- 3 points per shared core theme (a sub-theme counts as its core theme);
- 3 points per shared need;
- up to 4 points of text similarity (Jaccard of the stemmed words of name and summary);
- up to 2 points for nearness (2 at 0 km, 1 at 25 km, fading with distance).
Candidates come from indexes, bounded: the PER_ITEM most recent initiatives of each
shared core theme and need, and NEARBY initiatives within NEARBY_KM; they are scored in
Python and those sharing no theme nor need are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sqlalchemy import select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from directory.models import Initiative, InitiativeNeed, InitiativeTheme, Theme
from directory.sameas import not_shadowed
from directory.text import stemmed
from directory.vocabulary import NEEDS, by_slug

PER_ITEM = 150
NEARBY = 150
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
    themes = {t.id: t for t in await session.scalars(select(Theme))}
    core_of = {tid: (t.parent_id or tid) for tid, t in themes.items()}
    own_cores = {core_of[t.id] for t in initiative.themes if t.id in core_of}
    own_needs = set(initiative.needs)
    if not own_cores and not own_needs:
        return []
    theme_ids = [tid for tid, core in core_of.items() if core in own_cores]

    # Bounded candidates, each list read from an index without sorting: the most recent
    # PER_ITEM initiatives of each shared theme and need, plus up to NEARBY initiatives
    # around this one (those sharing nothing are dropped when scored).
    lists = [
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
        for need in sorted(own_needs)
    ]
    if initiative.latitude is not None and initiative.longitude is not None:
        dlat = NEARBY_KM / 111.195
        dlon = dlat / max(0.1, math.cos(math.radians(initiative.latitude)))
        lists.append(
            select(Initiative.id.label("iid"))
            .where(
                Initiative.latitude.between(initiative.latitude - dlat, initiative.latitude + dlat),
                Initiative.longitude.between(
                    initiative.longitude - dlon, initiative.longitude + dlon
                ),
            )
            .limit(NEARBY)
        )
    # One round trip; each limited list is a subquery (SQLite refuses LIMIT in a compound).
    every = union_all(*[select(q.subquery().c.iid) for q in lists])
    found = dict.fromkeys(await session.scalars(every))
    found.pop(initiative.id, None)
    candidate_ids = list(found)
    if not candidate_ids:
        return []
    rows = (
        await session.execute(
            select(
                Initiative.id,
                Initiative.name,
                Initiative.summary,
                Initiative.latitude,
                Initiative.longitude,
            ).where(
                Initiative.id.in_(candidate_ids),
                Initiative.moderation_state == "published",
                not_shadowed(),
            )
        )
    ).all()
    their_themes: dict[int, set[int]] = {}
    for iid, tid in await session.execute(
        select(InitiativeTheme.initiative_id, InitiativeTheme.theme_id).where(
            InitiativeTheme.initiative_id.in_(candidate_ids)
        )
    ):
        their_themes.setdefault(iid, set()).add(core_of.get(tid, tid))
    their_needs: dict[int, set[str]] = {}
    for iid, need in await session.execute(
        select(InitiativeNeed.initiative_id, InitiativeNeed.need).where(
            InitiativeNeed.initiative_id.in_(candidate_ids)
        )
    ):
        their_needs.setdefault(iid, set()).add(need)

    own_words = words(initiative.name, initiative.summary)
    here = (
        (initiative.latitude, initiative.longitude)
        if initiative.latitude is not None and initiative.longitude is not None
        else None
    )
    # First without the text (stemming is the costly part), then the text for those that
    # could still reach the top `limit`: text adds at most TEXT_POINTS.
    partial = []
    for row in rows:
        common_themes = own_cores & their_themes.get(row.id, set())
        common_needs = own_needs & their_needs.get(row.id, set())
        if not common_themes and not common_needs:
            continue
        km = (
            distance_km(here, (row.latitude, row.longitude))
            if here and row.latitude is not None and row.longitude is not None
            else None
        )
        base = (
            THEME_POINTS * len(common_themes)
            + NEED_POINTS * len(common_needs)
            + (NEAR_POINTS * NEAR_KM / (NEAR_KM + km) if km is not None else 0.0)
        )
        partial.append((base, km, row, common_themes, common_needs))
    partial.sort(key=lambda s: -s[0])
    if len(partial) > limit:
        threshold = partial[limit - 1][0] - TEXT_POINTS
        partial = [p for p in partial if p[0] >= threshold]
    scored = []
    for base, km, row, common_themes, common_needs in partial:
        other_words = words(row.name, row.summary)
        union = own_words | other_words
        text = len(own_words & other_words) / len(union) if union else 0.0
        score = base + TEXT_POINTS * text
        scored.append((score, km, row.id, common_themes, common_needs, text))
    scored.sort(key=lambda s: (-s[0], s[1] if s[1] is not None else math.inf, s[2]))
    best = scored[:limit]
    loaded = {
        i.id: i
        for i in await session.scalars(
            select(Initiative).where(Initiative.id.in_([s[2] for s in best]))
        )
    }
    return [
        Similar(
            initiative=loaded[iid],
            score=round(score, 2),
            km=km,
            themes=[themes[t] for t in sorted(common_themes)],
            needs=[n.slug for n in NEEDS if n.slug in common_needs],
            text=round(text, 2),
        )
        for score, km, iid, common_themes, common_needs, text in best
        if iid in loaded
    ]
