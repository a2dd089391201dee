"""What every parser yields: a source record ready for validation, or a refusal with its reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ParseError(Exception):
    """The whole file is unreadable (encoding, broken JSON, missing columns): nothing is imported."""


@dataclass(frozen=True)
class Category:
    """A source category: its key (the source's id, or its folded label), label and parent key."""

    key: str
    label: str = ""
    parent: str = ""


@dataclass
class SourceRecord:
    position: int  # 1-based position in the file, for the report
    source_id: str
    fields: dict[str, Any]  # initiative fields, already normalised (see normalise.py)
    categories: list[Category] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    published: bool = True  # False when the source holds it as pending moderation

    @property
    def name(self) -> str:
        return str(self.fields.get("name") or "")


@dataclass
class Rejected:
    """A record refused as a whole; `reason` says why in the user's words (French)."""

    position: int
    source_id: str
    name: str
    reason: str
