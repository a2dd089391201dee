"""What an import did: exact counts, and the records that need a human's eye."""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

REPORT_LIMIT = 2000  # entries kept per list in a report; the counts stay exact


class IdRuns:
    """A set of ids kept as runs of consecutive ids: an import creates its initiatives a
    batch at a time with consecutive ids, so 100k ids take a few hundred runs, not 100k."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []  # inclusive

    def add(self, ids: Iterable[int]) -> None:
        for i in sorted(ids):
            k = bisect.bisect_right(self.starts, i) - 1
            if k >= 0 and i <= self.ends[k]:
                continue
            if k >= 0 and i == self.ends[k] + 1:
                self.ends[k] = i
            else:
                k += 1
                self.starts.insert(k, i)
                self.ends.insert(k, i)
            if k + 1 < len(self.starts) and self.starts[k + 1] == self.ends[k] + 1:
                self.ends[k] = self.ends.pop(k + 1)
                del self.starts[k + 1]

    def __contains__(self, i: object) -> bool:
        if not isinstance(i, int):
            return False
        k = bisect.bisect_right(self.starts, i) - 1
        return k >= 0 and i <= self.ends[k]

    def __bool__(self) -> bool:
        return bool(self.starts)


@dataclass
class SyncReport:
    """What an import did, record by record where something needs a human's eye."""

    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    restored: int = 0
    withdrawn: int = 0
    conflicts: int = 0
    rejected_count: int = 0
    geocoded: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    warnings_count: int = 0
    without_coordinates: list[dict[str, Any]] = field(default_factory=list)
    without_coordinates_count: int = 0
    unmapped_categories: Counter[str] = field(default_factory=Counter)
    created_ids: IdRuns = field(default_factory=IdRuns)

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged

    def reject(self, position: int, source_id: str, name: str, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < REPORT_LIMIT:
            self.rejected.append(
                {"position": position, "source_id": source_id, "name": name, "reason": reason}
            )

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "imported": self.imported,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "restored": self.restored,
            "withdrawn": self.withdrawn,
            "conflicts": self.conflicts,
            "rejected_count": self.rejected_count,
            "geocoded": self.geocoded,
            "warnings_count": self.warnings_count,
            "without_coordinates_count": self.without_coordinates_count,
            "rejected": self.rejected,
            "warnings": self.warnings,
            "without_coordinates": self.without_coordinates,
            "unmapped_categories": dict(self.unmapped_categories.most_common(200)),
        }
