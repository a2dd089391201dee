"""Remote instances (software, trust policy, health) and the domain blocklist. Never commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, literal, or_, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from directory.errors import NotFound, ValidationError
from federation.flow_models import TRUST_POLICIES, DomainBlock, RemoteInstance


def normalise_domain(domain: str) -> str:
    """A host or domain in lower case, without scheme, path or trailing dot."""
    value = domain.strip().lower()
    if "://" in value:
        value = value.split("://", 1)[1]
    value = value.split("/", 1)[0].rstrip(".")
    if value.startswith("@"):
        value = value[1:]
    if "@" in value:
        value = value.rsplit("@", 1)[1]
    if not value or " " in value:
        raise ValidationError({"domain": "nom de domaine invalide"})
    return value


def _suffixes(host: str) -> list[str]:
    """`a.b.example.org:8443` -> the host itself and each parent domain."""
    name = host.lower().split(":", 1)[0] if host.count(":") == 1 else host.lower()
    parts = name.split(".")
    return [host.lower(), *(".".join(parts[i:]) for i in range(len(parts) - 1))]


async def is_blocked(session: AsyncSession, host: str) -> bool:
    """True when the host or one of its parent domains is blocked, or its policy is block."""
    if not host:
        return False
    query = union_all(
        select(literal(1)).where(DomainBlock.domain.in_(_suffixes(host))),
        select(literal(1)).where(RemoteInstance.host == host, RemoteInstance.trust == "block"),
    ).limit(1)
    return (await session.scalar(query)) is not None


async def block_domain(session: AsyncSession, domain: str, reason: str = "") -> DomainBlock:
    """Block a domain (idempotent); its subdomains are blocked too."""
    domain = normalise_domain(domain)
    block = await session.scalar(select(DomainBlock).where(DomainBlock.domain == domain))
    if block is None:
        block = DomainBlock(domain=domain, reason=reason)
        session.add(block)
    elif reason:
        block.reason = reason
    await session.flush()
    return block


async def unblock_domain(session: AsyncSession, domain: str) -> None:
    """Lift a block; NotFound when the domain was not blocked."""
    domain = normalise_domain(domain)
    result = await session.execute(delete(DomainBlock).where(DomainBlock.domain == domain))
    if not result.rowcount:
        raise NotFound(f"{domain} n'est pas bloqué")


async def blocked_domains(session: AsyncSession) -> list[DomainBlock]:
    return list(await session.scalars(select(DomainBlock).order_by(DomainBlock.domain)))


async def get_or_create_instance(session: AsyncSession, host: str) -> RemoteInstance:
    """The row of a remote instance, created (trust: hold) on first contact."""
    host = host.lower()
    instance = await session.scalar(select(RemoteInstance).where(RemoteInstance.host == host))
    if instance is None:
        instance = RemoteInstance(host=host)
        session.add(instance)
        await session.flush()
    return instance


async def set_trust(session: AsyncSession, host: str, trust: str) -> RemoteInstance:
    """Set an instance's trust policy: publish, hold or block."""
    if trust not in TRUST_POLICIES:
        raise ValidationError({"trust": f"attendu : {', '.join(TRUST_POLICIES)}"})
    instance = await get_or_create_instance(session, normalise_domain(host))
    instance.trust = trust
    await session.flush()
    return instance


async def trust_of(session: AsyncSession, host: str) -> str:
    """The trust policy for a host (hold for an instance we never met)."""
    trust = await session.scalar(select(RemoteInstance.trust).where(RemoteInstance.host == host))
    return trust or "hold"


async def list_instances(session: AsyncSession) -> list[RemoteInstance]:
    return list(await session.scalars(select(RemoteInstance).order_by(RemoteInstance.host)))


async def record_contacts(
    session: AsyncSession, reached: set[str], errors: dict[str, str], *, at: datetime
) -> None:
    """Bulk form for the delivery worker: only instances we already know are updated."""
    if reached:
        await session.execute(
            update(RemoteInstance)
            .where(RemoteInstance.host.in_(sorted(reached)))
            .values(last_contact_at=at)
        )
    for host, error in errors.items():
        await session.execute(
            update(RemoteInstance)
            .where(RemoteInstance.host == host)
            .values(
                last_error=error[:1000],
                last_error_at=at,
                error_count=RemoteInstance.error_count + 1,
            )
        )


async def claim_unidentified(
    session: AsyncSession, *, now: datetime, older_than: datetime, limit: int
) -> list[str]:
    """Hosts whose software was never asked or last asked before `older_than`, now marked
    as asked (SKIP LOCKED on PostgreSQL: several workers share them). Blocked ones are
    left alone."""
    due = (
        select(RemoteInstance.id, RemoteInstance.host)
        .where(
            RemoteInstance.trust != "block",
            or_(
                RemoteInstance.software_checked_at.is_(None),
                RemoteInstance.software_checked_at < older_than,
            ),
        )
        .order_by(RemoteInstance.software_checked_at.is_not(None), RemoteInstance.id)
        .limit(limit)
    )
    if session.bind.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    rows = (await session.execute(due)).all()
    hosts = [host for _, host in rows if not await is_blocked(session, host)]
    if rows:
        await session.execute(
            update(RemoteInstance)
            .where(RemoteInstance.id.in_([row_id for row_id, _ in rows]))
            .values(software_checked_at=now)
        )
    return hosts


async def record_software(
    session: AsyncSession, host: str, name: str, version: str, *, at: datetime
) -> None:
    """What a remote instance's NodeInfo says it runs."""
    await session.execute(
        update(RemoteInstance)
        .where(RemoteInstance.host == host)
        .values(software=name, software_version=version, software_checked_at=at)
    )
