"""Interaction rules: creation (with idempotency), lifecycle actions, and live positions."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.errors import PermissionDeniedError
from app.auth.principals import Principal, Role
from app.clock import to_datetime
from app.errors import ConflictError
from app.interactions import repository
from app.interactions.errors import (
    IdempotencyKeyReusedError,
    InteractionNotFoundError,
    InteractionRefusedError,
    QueueNotFoundError,
    UnknownDispositionError,
    UnknownSkillError,
)
from app.interactions.idempotency import KeyedLocks
from app.interactions.models import Interaction
from app.interactions.schemas import (
    InteractionCreate,
    InteractionCreated,
    InteractionRead,
    WrapUpRequest,
)
from app.routing import commands as c
from app.routing import events as e
from app.routing.engine import Engine
from app.routing.model import (
    AgentId,
    CustomerId,
    InteractionId,
    InteractionState,
    QueueId,
    SkillRequirement,
)
from app.runtime.persistence import IdempotencyRecord, NewInteraction
from app.runtime.service import RoutingService
from app.runtime.wire import as_uuid

# Only these can have a place in line; the others need no question to the writer.
_WAITING_STATES = frozenset({InteractionState.QUEUED, InteractionState.OFFERED})


def request_hash(body: InteractionCreate) -> str:
    """A fingerprint of the request body: equal bodies, equal hashes."""
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


async def create_interaction(
    *,
    sessions: async_sessionmaker[AsyncSession],
    routing: RoutingService,
    locks: KeyedLocks,
    principal: Principal,
    body: InteractionCreate,
    idempotency_key: str | None,
) -> tuple[dict[str, Any], bool]:
    """Store and route a new interaction; returns (response, replayed from an earlier call)."""
    if idempotency_key is None:
        new, arrive, destination = await _prepare(sessions, routing, body, None)
        return await _route(routing, new, arrive, destination)
    record = IdempotencyRecord(principal.subject_id, idempotency_key, request_hash(body))
    async with locks.hold((record.principal_id, record.key)):
        async with sessions() as session:
            earlier = await repository.find_idempotency_key(
                session, record.principal_id, record.key
            )
        if earlier is not None:
            if earlier.request_hash != record.request_hash:
                raise IdempotencyKeyReusedError()
            return earlier.response, True
        new, arrive, destination = await _prepare(sessions, routing, body, record)
        # Another process may have taken the same key meanwhile: the writer then replays it.
        return await _route(routing, new, arrive, destination)


async def _prepare(
    sessions: async_sessionmaker[AsyncSession],
    routing: RoutingService,
    body: InteractionCreate,
    record: IdempotencyRecord | None,
) -> tuple[NewInteraction, c.Arrive, str]:
    interaction_id = uuid.uuid4()
    queue_id: uuid.UUID | None = None
    skills: frozenset[SkillRequirement] | None = None
    if body.queue is not None:
        # The engine holds every active queue: no database query needed.
        found = await routing.resolve_queue(body.queue)
        if found is None:
            raise QueueNotFoundError(body.queue, "body.queue")
        queue_id, destination = uuid.UUID(found[0]), found[1]
    else:
        needs = body.required_skills or []
        names = [need.skill for need in needs]
        async with sessions() as session:
            known = await repository.existing_skill_names(session, names)
        unknown = sorted(set(names) - known)
        if unknown:
            raise UnknownSkillError(unknown, "body.required_skills")
        skills = frozenset(SkillRequirement(need.skill, need.min_level) for need in needs)
        destination = "skills " + ", ".join(f"{n.skill}:{n.min_level}" for n in needs)
    customer = body.customer
    contact = {
        key: value for key, value in (("email", customer.email), ("phone", customer.phone)) if value
    }
    new = NewInteraction(
        id=interaction_id,
        channel=body.channel,
        queue_id=queue_id,
        required_skills=[need.model_dump() for need in body.required_skills or []],
        priority=body.priority,
        external_id=body.external_id,
        customer_id=customer.id,
        customer_name=customer.name,
        customer_contact=contact,
        language=body.language,
        topic=body.topic,
        attributes=body.attributes,
        idempotency=record,
    )
    arrive = c.Arrive(
        interaction_id=InteractionId(str(interaction_id)),
        channel=body.channel,
        queue_id=QueueId(str(queue_id)) if queue_id else None,
        skills=skills,
        priority=body.priority,
        customer_id=CustomerId(customer.id) if customer.id else None,
        preferred_agent=AgentId(str(body.preferred_agent_id)) if body.preferred_agent_id else None,
    )
    return new, arrive, destination


async def _route(
    routing: RoutingService, new: NewInteraction, arrive: c.Arrive, destination: str
) -> tuple[dict[str, Any], bool]:
    created = await routing.create_interaction(arrive, new)
    if created.refused is not None:
        raise InteractionRefusedError(created.refused, destination)
    assert created.response is not None
    return created.response, created.replayed


def build_created(new: NewInteraction, engine: Engine, events: list[e.Event]) -> dict[str, Any]:
    """The 201 body of a new interaction, built by the writer right after it arrived."""
    at = events[0].at if events else 0.0
    view = engine.interaction(InteractionId(str(new.id)))
    position, wait_s = engine.position(InteractionId(str(new.id)), at) or (None, None)
    return InteractionCreated(
        id=new.id,
        # Not open any more right after arriving: it was refused (the response is unused then).
        state=view.state if view else InteractionState.CANCELLED,
        channel=new.channel,
        queue_id=new.queue_id,
        agent_id=as_uuid(view.agent_id) if view else None,
        position=position,
        estimated_wait_s=None if wait_s is None else round(wait_s, 1),
        created_at=to_datetime(at),
    ).model_dump(mode="json")


async def with_live_positions(
    rows: list[Interaction], routing: RoutingService
) -> list[InteractionRead]:
    """The stored interactions, each with its place in line and estimated wait if waiting."""
    reads = [InteractionRead.model_validate(row) for row in rows]
    waiting = [read.id for read in reads if read.state in _WAITING_STATES]
    places = await routing.places(waiting)
    for read in reads:
        place = places.get(read.id)
        if place is not None:
            read.position, read.estimated_wait_s = place
    return reads


async def with_live_position(row: Interaction, routing: RoutingService) -> InteractionRead:
    """The stored interaction, with its place in line and estimated wait if it is waiting."""
    return (await with_live_positions([row], routing))[0]


async def fresh_interaction(session: AsyncSession, interaction_id: uuid.UUID) -> Interaction:
    """Re-read an interaction after the writer changed it (a new transaction sees its commit)."""
    await session.commit()
    row = await session.get(Interaction, interaction_id, populate_existing=True)
    if row is None:
        raise InteractionNotFoundError()
    return row


async def holds(principal: Principal, routing: RoutingService, interaction_id: uuid.UUID) -> bool:
    """Whether the principal may act as the interaction's agent: the agent it is offered to
    or held by, or anyone who is not an agent."""
    if principal.role is not Role.AGENT:
        return True
    return await routing.holder(interaction_id) == principal.subject_id


async def check_agent_holds(
    principal: Principal, routing: RoutingService, interaction_id: uuid.UUID
) -> None:
    """Agents act only on interactions they hold or are offered; other roles pass."""
    if not await holds(principal, routing, interaction_id):
        raise PermissionDeniedError("Agents may act only on interactions they are handling.")


async def check_in_wrap_up(session: AsyncSession, interaction_id: uuid.UUID) -> None:
    """404 for an unknown interaction, 409 unless it is in wrap-up now."""
    row = await repository.get_interaction(session, interaction_id)
    if row is None:
        raise InteractionNotFoundError()
    if row.state is not InteractionState.WRAP_UP:
        raise ConflictError(
            f"The interaction is {row.state.value}; only one in wrap-up can finish it.",
            code="invalid_state",
            title="Not possible now",
        )


async def record_wrap_up(
    session: AsyncSession, interaction_id: uuid.UUID, recorded_by: str, body: WrapUpRequest
) -> None:
    """Store the wrap-up's dispositions and notes (before wrap-up is finished)."""
    wanted = set(body.disposition_ids)
    active = await repository.active_disposition_ids(session, wanted)
    unknown = sorted(str(one) for one in wanted - active)
    if unknown:
        raise UnknownDispositionError(unknown)
    agent_id = as_uuid(recorded_by)
    await repository.record_wrap_up(
        session,
        interaction_id,
        disposition_ids=sorted(wanted),
        notes=body.notes or None,
        recorded_by=agent_id,
    )
    if body.follow_up_at is not None and agent_id is not None:
        repository.add_follow_up(
            session,
            interaction_id,
            agent_id=agent_id,
            due_at=body.follow_up_at,
            note=body.follow_up_note,
        )
    await session.commit()
