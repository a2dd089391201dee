"""Domain errors; the web layer maps them onto HTTP statuses."""

from __future__ import annotations


class DomainError(Exception):
    """Base of the errors the domain raises on purpose."""


class ValidationError(DomainError):
    """Input refused; `errors` maps each field to its reason (French, user-facing)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in errors.items()))
        self.errors = errors


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    """The write contradicts what is stored (duplicate slug or source id, stale state)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotEditable(Conflict):
    """Remote initiatives belong to their origin and are never edited here."""
