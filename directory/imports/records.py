"""What every parser yields: a source record ready for validation, or a refusal with its reason."""

from __future__ import annotations

from collections.abc import Callable
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
    digest: str = ""  # set when it came from a RawRecord: the digest of its source form

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


@dataclass
class RawRecord:
    """A source element not parsed yet. On a re-import most elements are unchanged: the
    digest of the element as the source gives it (and of the themes its categories map to)
    decides, and only the changed ones pay for sanitizing and validation."""

    position: int
    source_id: str
    source_form: bytes  # the element as canonical JSON (sorted keys)
    categories: list[Category]
    parse: Callable[[], SourceRecord | Rejected]
