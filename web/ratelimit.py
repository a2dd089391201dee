"""Counting failed sign-in attempts per key (IP address, account) in a sliding window.

Kept in the memory of one web process (held on `app.state`, never at module level): with
N processes behind the proxy an attacker gets at most N times the allowance, which still
turns a password guessing run into years. A shared table would make it exact; the
sign-in forms can reuse this class as is.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class FailureLimiter:
    """At most `limit` failures per key within `window` seconds."""

    limit: int
    window: float
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def _recent(self, key: str) -> deque[float]:
        now = self.clock()
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures

    def retry_after(self, key: str) -> int:
        """Seconds before `key` may try again; 0 when it may try now."""
        failures = self._recent(key)
        if len(failures) < self.limit:
            return 0
        return max(1, int(failures[0] + self.window - self.clock()) + 1)

    def fail(self, key: str) -> None:
        self._recent(key)
        self._failures.setdefault(key, deque()).append(self.clock())
        if len(self._failures) > 100_000:  # bound memory under a spray of addresses
            self._failures.pop(next(iter(self._failures)))

    def reset(self, key: str) -> None:
        self._failures.pop(key, None)
