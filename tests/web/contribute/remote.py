"""Remote-instance state for the admin federation page, through the worker's own store."""

from __future__ import annotations

from directory.models import utcnow
from federation import instances


async def record_contact(session, host: str, *, error: str = "") -> None:
    """Note a contact (or a failed one) with `host`, as the delivery worker does."""
    await instances.get_or_create_instance(session, host)
    if error:
        await instances.record_contacts(session, set(), {host: error}, at=utcnow())
    else:
        await instances.record_contacts(session, {host}, {}, at=utcnow())
