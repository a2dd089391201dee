"""Our sent activities as their ids serve them (`{base}/activities/{token}`).

Every activity we send is stored before delivery (outbox_activities), so its id resolves
to exactly what was sent. Who may read it follows its addressing: public activities are
readable by anyone (with a signature when authorized fetch is on); the others (Follow,
Accept, Reject, Undo{Follow}) only by a signed request from one of their addressees or
their server. A Create/Update/Announce whose initiative is no longer published here is
gone (410): withdrawn content does not stay readable through an old activity. Never commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from directory.models import Initiative
from federation.flow_models import FederatedObject, OutboxActivity
from federation.parse import PUBLIC_ALIASES, ids_of
from federation.urls import host_of

# Activities that carry or point at an initiative: gone when the initiative is.
ABOUT_INITIATIVE = ("Create", "Update", "Announce")
ADDRESS_FIELDS = ("to", "cc", "bto", "bcc", "audience")


async def sent_activity(session: AsyncSession, activity_id: str) -> OutboxActivity | None:
    """The activity we sent with this id, or None."""
    return await session.scalar(
        select(OutboxActivity).where(OutboxActivity.activity_id == activity_id)
    )


def body_of(row: OutboxActivity) -> dict[str, Any]:
    """The activity exactly as it was sent."""
    return orjson.loads(row.body)


def addressees(activity: Mapping[str, Any]) -> set[str]:
    """Every id the activity is addressed to (to, cc, bto, bcc, audience)."""
    return {uri for name in ADDRESS_FIELDS for uri in ids_of(activity.get(name))}


def is_public(activity: Mapping[str, Any]) -> bool:
    return bool(addressees(activity) & PUBLIC_ALIASES)


def may_read(activity: Mapping[str, Any], reader: str) -> bool:
    """True when `reader` (a verified key owner) is an addressee or on an addressee's host
    (servers fetch with their instance actor's key on behalf of their users)."""
    if is_public(activity):
        return True
    found = addressees(activity)
    return reader in found or host_of(reader) in {host_of(uri) for uri in found if uri}


async def is_gone(session: AsyncSession, row: OutboxActivity) -> bool:
    """True when the initiative a Create/Update/Announce is about is no longer published."""
    if row.activity_type not in ABOUT_INITIATIVE or not row.object_uri:
        return False
    federated = await session.scalar(
        select(FederatedObject).where(FederatedObject.object_uri == row.object_uri)
    )
    if federated is None or federated.state != "published" or federated.initiative_id is None:
        return True
    state = await session.scalar(
        select(Initiative.moderation_state).where(Initiative.id == federated.initiative_id)
    )
    return state != "published"
