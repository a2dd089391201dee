"""The one network interface imports need, injected by the caller (web/importing.py)."""

from __future__ import annotations

from typing import Protocol

MAX_IMPORT_BYTES = 50 * 1024 * 1024


class FetchError(Exception):
    """The source could not be read: timeout, HTTP error, too large, refused address."""


class Fetcher(Protocol):
    async def fetch(self, url: str, *, max_bytes: int = MAX_IMPORT_BYTES) -> bytes:
        """The body at `url`, or FetchError with a French reason."""
        ...


def size_label(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} Mo" if n >= 1024 * 1024 else f"{n / 1024:.0f} Ko"
