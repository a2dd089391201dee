"""Duplicates: candidates by similar name nearby, same website or e-mail; merge, mark
distinct, or link an initiative of another instance with `sameAs` instead of showing it twice.

Distances follow GoGoCarto: 0.4 km, 0.1 km where initiatives are dense (a city centre).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict, deque
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.schema import CreateTable, DropTable

from directory.batch import emptied
from directory.errors import Conflict, ValidationError
from directory.imports.models import DuplicateDecision, ImportRecord
from directory.initiatives import LISTS, Author, field_values, get_initiative, update_initiative
from directory.messages import N_
from directory.models import Initiative, Relation, Revision, utcnow
from directory.text import fold

DISTANCE_KM = 0.4
DENSE_DISTANCE_KM = 0.1
DENSE_RADIUS_KM = 1.0
DENSE_COUNT = 30  # initiatives within DENSE_RADIUS_KM that make an area dense
NAME_NEAR = 0.75  # name similarity that makes two close initiatives candidates
NAME_SAME_CITY = 0.92  # ... and two in the same commune without coordinates
LIVE_STATES = ("published", "proposed")
STOP_WORDS = {
    "association", "asso", "assoc", "collectif", "le", "la", "les", "l", "de", "du", "des",
    "d", "et", "a", "au", "aux", "en", "the", "of", "and", "sas", "sarl", "scic", "scop",
}  # fmt: skip
_WORDS = re.compile(r"[a-z0-9]+")
KM_PER_DEG = 111.32


def normalised_name(name: str) -> str:
    words = [w for w in _WORDS.findall(fold(name)) if w not in STOP_WORDS]
    return " ".join(words)


def name_similarity(a: str, b: str) -> float:
    """0..1: the better of character similarity and shared words, on normalised names."""
    na, nb = normalised_name(a), normalised_name(b)
    if not na or not nb:
        return 0.0
    if na == nb:
        return 1.0
    ratio = SequenceMatcher(None, na, nb).ratio()
    sa, sb = set(na.split()), set(nb.split())
    jaccard = len(sa & sb) / len(sa | sb)
    return max(ratio, jaccard)


def website_key(url: str) -> str:
    """A website without scheme, www, trailing slash or case: the same site compares equal."""
    text = url.strip().lower()
    text = re.sub(r"^https?://", "", text)
    text = text.removeprefix("www.")
    return text.rstrip("/")


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


@dataclass
class Candidate:
    """Two initiatives that may be one: why, and how close."""

    first_id: int
    second_id: int
    reasons: list[str] = field(default_factory=list)
    similarity: float = 0.0
    distance_km: float | None = None
    across_instances: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "first_id": self.first_id,
            "second_id": self.second_id,
            "reasons": self.reasons,
            "similarity": round(self.similarity, 3),
            "distance_km": None if self.distance_km is None else round(self.distance_km, 3),
            "across_instances": self.across_instances,
        }


_COLUMNS = (
    Initiative.id,
    Initiative.name,
    Initiative.latitude,
    Initiative.longitude,
    Initiative.website,
    Initiative.email,
    Initiative.postal_code,
    Initiative.city,
    Initiative.origin,
)


async def _decided(session: AsyncSession, ids: Iterable[int]) -> set[tuple[int, int]]:
    ids = list(ids)
    rows = await session.execute(
        select(DuplicateDecision.first_id, DuplicateDecision.second_id).where(
            or_(DuplicateDecision.first_id.in_(ids), DuplicateDecision.second_id.in_(ids))
        )
    )
    return {(min(a, b), max(a, b)) for a, b in rows}


async def _dense(session: AsyncSession, lat: float, lon: float) -> bool:
    dlat = DENSE_RADIUS_KM / KM_PER_DEG
    dlon = dlat / max(0.1, math.cos(math.radians(lat)))
    count = await session.scalar(
        select(func.count())
        .select_from(Initiative)
        .where(
            Initiative.latitude.between(lat - dlat, lat + dlat),
            Initiative.longitude.between(lon - dlon, lon + dlon),
            Initiative.moderation_state.in_(LIVE_STATES),
        )
    )
    return (count or 0) >= DENSE_COUNT


async def candidates_for_values(
    session: AsyncSession, values: dict[str, Any], *, exclude_id: int | None = None
) -> list[Candidate]:
    """Existing initiatives that may be the same as these values (a proposal, an import)."""
    me = exclude_id or 0
    found: dict[int, Candidate] = {}

    def add(row: Any, reason: str, similarity: float, km: float | None) -> None:
        if row.id == me:
            return
        candidate = found.setdefault(
            row.id,
            Candidate(min(me, row.id) or row.id, max(me, row.id), similarity=similarity),
        )
        candidate.reasons.append(reason)
        candidate.similarity = max(candidate.similarity, similarity)
        candidate.distance_km = km if km is not None else candidate.distance_km
        candidate.across_instances = row.origin is not None or values.get("origin") is not None

    live = Initiative.moderation_state.in_(LIVE_STATES)
    name = values.get("name") or ""
    site = website_key(values.get("website") or "")
    if site:
        variants = [
            f"{s}{w}{site}{t}"
            for s in ("http://", "https://")
            for w in ("", "www.")
            for t in ("", "/")
        ]
        for row in await session.execute(
            select(*_COLUMNS).where(live, func.lower(Initiative.website).in_(variants))
        ):
            add(row, "même site web", name_similarity(name, row.name), None)
    email = (values.get("email") or "").strip().lower()
    if email:
        for row in await session.execute(
            select(*_COLUMNS).where(live, func.lower(Initiative.email) == email)
        ):
            add(row, "même e-mail", name_similarity(name, row.name), None)
    lat, lon = values.get("latitude"), values.get("longitude")
    if lat is not None and lon is not None:
        radius = DENSE_DISTANCE_KM if await _dense(session, lat, lon) else DISTANCE_KM
        dlat = radius / KM_PER_DEG
        dlon = dlat / max(0.1, math.cos(math.radians(lat)))
        rows = await session.execute(
            select(*_COLUMNS).where(
                live,
                Initiative.latitude.between(lat - dlat, lat + dlat),
                Initiative.longitude.between(lon - dlon, lon + dlon),
            )
        )
        for row in rows:
            km = distance_km(lat, lon, row.latitude, row.longitude)
            similarity = name_similarity(name, row.name)
            if km <= radius and similarity >= NAME_NEAR:
                add(row, f"nom semblable à {km * 1000:.0f} m", similarity, km)
    elif values.get("postal_code") or values.get("city"):
        place = (
            Initiative.postal_code == values["postal_code"]
            if values.get("postal_code")
            else func.lower(Initiative.city) == (values.get("city") or "").lower()
        )
        for row in await session.execute(select(*_COLUMNS).where(live, place)):
            similarity = name_similarity(name, row.name)
            if similarity >= NAME_SAME_CITY:
                add(row, "nom presque identique dans la même commune", similarity, None)
    if not found:
        return []
    decided = await _decided(session, [me, *found]) if me else set()
    return [
        c
        for c in sorted(found.values(), key=lambda c: -c.similarity)
        if (c.first_id, c.second_id) not in decided
    ]


async def candidates_for(session: AsyncSession, ids: Sequence[int]) -> list[Candidate]:
    """Candidates for these initiatives (e.g. just imported), each pair once."""
    pairs: dict[tuple[int, int], Candidate] = {}
    for initiative_id in ids:
        row = (
            await session.execute(select(*_COLUMNS).where(Initiative.id == initiative_id))
        ).first()
        if row is None:
            continue
        values = dict(row._mapping)
        for candidate in await candidates_for_values(session, values, exclude_id=row.id):
            pairs.setdefault((candidate.first_id, candidate.second_id), candidate)
    return list(pairs.values())


async def find_all(
    session: AsyncSession, *, limit: int = 1000, among: Container[int] | None = None
) -> list[Candidate]:
    """Candidate pairs across the whole directory, most similar first (a grid, not n²);
    with `among`, only the pairs that involve one of those initiatives (just imported).

    Nothing grows with the directory: website and e-mail keys go to a temporary table and
    come back grouped; the grid reads the rows by latitude and keeps the five strips of
    cells the current one needs. Pairs go to a temporary table as they are found, a batch
    at a time, and only the `limit` best come back."""
    async with _FoundPairs(session) as found:
        await _shared_keys(session, found, among)
        await _close_names(session, found, among)
        return await found.best(limit)


REASONS = ("même site web", "même e-mail")
_LIVE = Initiative.moderation_state.in_(LIVE_STATES)
_KEYS = Table(
    "duplicate_keys_found",
    MetaData(),
    Column("id", Integer, nullable=False),
    Column("rank", Integer, nullable=False),  # 0 website, 1 e-mail
    Column("key", Text, nullable=False),
    prefixes=["TEMPORARY"],
)


async def _shared_keys(
    session: AsyncSession, found: _FoundPairs, among: Container[int] | None
) -> None:
    """Pairs sharing a website or an e-mail, in groups of 2 to 20 (a shared national site
    is not a duplicate signal). The keys are normalised here, grouped by the database."""
    await emptied(session, _KEYS)
    batch: list[dict[str, Any]] = []
    query = select(Initiative.id, Initiative.website, Initiative.email).where(_LIVE)
    rows = await session.stream(query.execution_options(yield_per=2000))
    async for row in rows:
        if row.website:
            batch.append({"id": row.id, "rank": 0, "key": website_key(row.website)})
        if row.email:
            batch.append({"id": row.id, "rank": 1, "key": row.email.lower()})
        if len(batch) >= _FoundPairs.BATCH:
            await session.execute(insert(_KEYS), batch)
            batch = []
    await rows.close()
    if batch:
        await session.execute(insert(_KEYS), batch)
    k = _KEYS.c
    groups = (
        select(k.rank, k.key).group_by(k.rank, k.key).having(func.count().between(2, 20)).subquery()
    )
    member = _KEYS.alias("member")
    query = (
        select(member.c.rank, member.c.key, Initiative.id, Initiative.name, Initiative.origin)
        .join(groups, and_(groups.c.rank == member.c.rank, groups.c.key == member.c.key))
        .join(Initiative, Initiative.id == member.c.id)
        .order_by(member.c.rank, member.c.key, Initiative.id)
    )

    async def pairs(rank: int, members: list[Any]) -> None:
        if among is not None and not any(m.id in among for m in members):
            return
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if among is None or a.id in among or b.id in among:
                    await found.add(a, b, rank, REASONS[rank], None)

    group: tuple[int, str] | None = None
    members: list[Any] = []
    rows = await session.stream(query.execution_options(yield_per=2000))
    async for row in rows:
        if (row.rank, row.key) != group:
            if members:
                await pairs(group[0], members)  # type: ignore[index]
            group, members = (row.rank, row.key), []
        members.append(row)
    await rows.close()
    if members:
        await pairs(group[0], members)  # type: ignore[index]
    await session.execute(delete(_KEYS))


async def _close_names(
    session: AsyncSession, found: _FoundPairs, among: Container[int] | None
) -> None:
    """Pairs with similar names close to each other, on a grid of DISTANCE_KM cells: each
    cell against its 3×3 neighbourhood, within 100 m where the 5×3 cells around hold
    DENSE_COUNT initiatives. Rows come by latitude, so a strip of cells (one latitude
    cell) is checked once the two strips above it are read, and dropped two strips later."""
    strips: dict[int, dict[int, list[Any]]] = {}  # latitude cell -> longitude cell -> rows
    pending: deque[int] = deque()  # strips read, not yet checked, in order

    def cell(x: int, y: int) -> list[Any]:
        return strips.get(x, {}).get(y, [])

    async def check(x: int) -> None:
        for y, members in strips[x].items():
            if among is not None:  # only the pairs of the initiatives just imported
                members = [a for a in members if a.id in among]
                if not members:
                    continue
            neighbours = [r for dx in (-1, 0, 1) for dy in (-1, 0, 1) for r in cell(x + dx, y + dy)]
            around = sum(len(cell(x + dx, y + dy)) for dx in range(-2, 3) for dy in (-1, 0, 1))
            radius = DENSE_DISTANCE_KM if around >= DENSE_COUNT else DISTANCE_KM
            for a in members:
                for b in neighbours:
                    # Each pair once: from the side of the lower id when both are checked.
                    if b.id == a.id or (b.id < a.id and (among is None or b.id in among)):
                        continue
                    km = distance_km(a.latitude, a.longitude, b.latitude, b.longitude)
                    if km <= radius and name_similarity(a.name, b.name) >= NAME_NEAR:
                        await found.add(a, b, 2, f"nom semblable à {km * 1000:.0f} m", km)

    query = (
        select(Initiative.id, Initiative.name, Initiative.latitude, Initiative.longitude,
               Initiative.origin)
        .where(_LIVE, Initiative.latitude.is_not(None))
        .order_by(Initiative.latitude)
    )  # fmt: skip
    rows = await session.stream(query.execution_options(yield_per=2000))
    async for row in rows:
        x, y = _cell(row)
        while pending and pending[0] + 2 < x:  # the strips it needs are all read
            await check(pending.popleft())
            low = (pending[0] if pending else x) - 2
            for done in [s for s in strips if s < low]:
                del strips[done]
        if x not in strips:
            strips[x] = defaultdict(list)
            pending.append(x)
        strips[x][y].append(row)
    await rows.close()
    while pending:
        await check(pending.popleft())


_PAIRS = Table(
    "duplicate_pairs_found",
    MetaData(),
    Column("first_id", Integer, nullable=False),
    Column("second_id", Integer, nullable=False),
    Column("rank", Integer, nullable=False),  # the order of reasons: website, e-mail, distance
    Column("reason", String(200), nullable=False),
    Column("similarity", Float, nullable=False),
    Column("distance_km", Float),
    Column("across_instances", Boolean, nullable=False),
    prefixes=["TEMPORARY"],
)


class _FoundPairs:
    """Pairs written to a temporary table a batch at a time; the best read back at the end."""

    BATCH = 1000

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.batch: list[dict[str, Any]] = []

    async def __aenter__(self) -> _FoundPairs:
        await self.session.execute(DropTable(_PAIRS, if_exists=True))
        await self.session.execute(CreateTable(_PAIRS))
        return self

    async def __aexit__(self, exc_type: Any, *_: Any) -> None:
        if exc_type is None:  # after an error, PostgreSQL refuses statements until rollback
            await self.session.execute(DropTable(_PAIRS))

    async def add(self, a: Any, b: Any, rank: int, reason: str, km: float | None) -> None:
        self.batch.append(
            {
                "first_id": min(a.id, b.id),
                "second_id": max(a.id, b.id),
                "rank": rank,
                "reason": reason,
                "similarity": name_similarity(a.name, b.name),
                "distance_km": km,
                "across_instances": (a.origin or "") != (b.origin or ""),
            }
        )
        if len(self.batch) >= self.BATCH:
            await self.flush()

    async def flush(self) -> None:
        if self.batch:
            await self.session.execute(insert(_PAIRS), self.batch)
            self.batch = []

    async def best(self, limit: int) -> list[Candidate]:
        """The `limit` pairs with the most reasons, then the most similar names, except
        those a moderator has decided on."""
        await self.flush()
        p, d = _PAIRS.c, DuplicateDecision
        decided = (
            select(d.id)
            .where(
                or_(
                    and_(d.first_id == p.first_id, d.second_id == p.second_id),
                    and_(d.first_id == p.second_id, d.second_id == p.first_id),
                )
            )
            .exists()
        )
        count = func.count().label("n")
        similarity = func.max(p.similarity).label("similarity")
        best = (
            select(
                p.first_id,
                p.second_id,
                count,
                similarity,
                func.max(p.distance_km).label("distance_km"),
                func.max(cast(p.across_instances, Integer)).label("across_instances"),
            )
            .where(~decided)
            .group_by(p.first_id, p.second_id)
            .order_by(count.desc(), similarity.desc(), p.first_id, p.second_id)
            .limit(limit)
            .subquery()
        )
        rows = await self.session.execute(
            select(best, p.reason)
            .join(_PAIRS, and_(p.first_id == best.c.first_id, p.second_id == best.c.second_id))
            .order_by(
                best.c.n.desc(),
                best.c.similarity.desc(),
                best.c.first_id,
                best.c.second_id,
                p.rank,
            )
        )
        found: dict[tuple[int, int], Candidate] = {}
        for row in rows:
            candidate = found.setdefault(
                (row.first_id, row.second_id),
                Candidate(
                    row.first_id,
                    row.second_id,
                    similarity=row.similarity,
                    distance_km=row.distance_km,
                    across_instances=bool(row.across_instances),
                ),
            )
            candidate.reasons.append(row.reason)
        return list(found.values())


_CELL = DISTANCE_KM / KM_PER_DEG


def _cell(row: Any) -> tuple[int, int]:
    return int(row.latitude // _CELL), int(row.longitude // (_CELL * 1.6))


async def _decide(
    session: AsyncSession, first_id: int, second_id: int, decision: str, author: Author, note: str
) -> DuplicateDecision:
    if first_id == second_id:
        raise ValidationError({"second_id": N_("une initiative n'est pas le doublon d'elle-même")})
    a, b = (min(first_id, second_id), max(first_id, second_id))
    existing = await session.scalar(
        select(DuplicateDecision).where(
            DuplicateDecision.first_id == a, DuplicateDecision.second_id == b
        )
    )
    if existing is not None:
        raise Conflict(N_("déjà décidé : %(decision)s", decision=existing.decision))
    row = DuplicateDecision(
        first_id=a, second_id=b, decision=decision, person_id=author.person_id, note=note[:1000]
    )
    session.add(row)
    await session.flush()
    return row


async def mark_distinct(
    session: AsyncSession, first_id: int, second_id: int, *, author: Author, note: str = ""
) -> DuplicateDecision:
    """These two are different initiatives: never propose them as duplicates again."""
    await get_initiative(session, first_id)
    await get_initiative(session, second_id)
    return await _decide(session, first_id, second_id, "distinct", author, note)


async def merge(
    session: AsyncSession, keep_id: int, merged_id: int, *, author: Author, note: str = ""
) -> Initiative:
    """Fold `merged_id` into `keep_id`: empty fields filled, lists joined, sources and
    relations moved; the merged one is withdrawn (its history stays), never deleted."""
    keep = await get_initiative(session, keep_id)
    other = await get_initiative(session, merged_id)
    if not keep.is_local or not other.is_local:
        raise Conflict(
            N_("une initiative d'une autre instance ne se fusionne pas : liez-la (sameAs)")
        )
    mine, theirs = field_values(keep), field_values(other)
    changes: dict[str, Any] = {}
    for name, value in theirs.items():
        if name in LISTS or name in ("social_links", "same_as"):
            joined = list(dict.fromkeys([*(mine[name] or []), *(value or [])]))
            if joined != list(mine[name] or []):
                changes[name] = joined
        elif mine[name] in ("", None) and value not in ("", None):
            changes[name] = value
    if (changes.get("latitude") is None) != (changes.get("longitude") is None):
        changes.pop("latitude", None)
        changes.pop("longitude", None)
    message = f"fusion avec n°{other.id} « {other.name} »" + (f" : {note}" if note else "")
    if changes:
        await update_initiative(
            session, keep, changes, author=author, action="merge", message=message
        )
    else:
        session.add(Revision(initiative_id=keep.id, person_id=author.person_id, author=author.label,
                             action="merge", changes={}, message=message))  # fmt: skip
    old_state = other.moderation_state
    if old_state != "withdrawn":
        other.moderation_state = "withdrawn"
        other.updated_at = utcnow()
    session.add(
        Revision(
            initiative_id=other.id,
            person_id=author.person_id,
            author=author.label,
            action="merge",
            changes={"moderation_state": [old_state, "withdrawn"]},
            message=f"fusionnée dans n°{keep.id} « {keep.name} »",
        )
    )
    # Its sources now feed the kept initiative, so a re-import does not bring it back.
    await session.execute(
        update(ImportRecord)
        .where(ImportRecord.initiative_id == other.id)
        .values(initiative_id=keep.id)
    )
    await session.execute(
        update(Relation)
        .where(Relation.target_id == other.id, Relation.initiative_id != keep.id)
        .values(target_id=keep.id)
    )
    await _decide(session, keep.id, other.id, "merged", author, note)
    await session.flush()
    return keep


async def link_same_as(
    session: AsyncSession, local_id: int, remote_id: int, *, author: Author, note: str = ""
) -> DuplicateDecision:
    """A remote initiative is the same as a local one: the local one gains `sameAs` (which
    federates) and the remote copy is no longer listed beside it."""
    local = await get_initiative(session, local_id)
    remote = await get_initiative(session, remote_id)
    if not local.is_local or remote.is_local or not remote.uri:
        raise ValidationError(
            {"second_id": N_("sameAs relie une initiative locale à une distante")}
        )
    decision = await _decide(session, local.id, remote.id, "same_as", author, note)
    if remote.uri not in local.same_as:
        await update_initiative(
            session, local, {"same_as": [*local.same_as, remote.uri]}, author=author,
            action="same_as", message=f"même initiative que {remote.uri}",
        )  # fmt: skip
    return decision


async def decisions(session: AsyncSession, limit: int = 100) -> list[DuplicateDecision]:
    return list(
        await session.scalars(
            select(DuplicateDecision).order_by(DuplicateDecision.id.desc()).limit(limit)
        )
    )
