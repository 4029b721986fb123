"""HTTP routes of supervisors: the live snapshot, actions on agents and interactions, alert
rules, and the audit log. Admins and supervisors only; every change is audited."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status

from app.api.pagination import Page, PageParamsDep, next_cursor
from app.api.problems import problems
from app.auth.dependencies import require_roles
from app.auth.principals import Principal, Role
from app.channels.chat.errors import MessageTooLongError
from app.db.dependencies import SessionDep
from app.errors import NotFoundError
from app.interactions.errors import NaiveTimeError
from app.presence.schemas import PresenceRead
from app.queues.models import Queue
from app.state import ResourcesDep
from app.supervisors import audit, figures, repository, service
from app.supervisors.models import QueueAlertRule
from app.supervisors.schemas import (
    AgentStateSet,
    AlertRuleRead,
    AlertRuleUpdate,
    AuditEntryRead,
    MoveRequest,
    PrioritySet,
    WhisperCreate,
)

router = APIRouter(prefix="/supervisor", tags=["supervisor"])
audit_router = APIRouter(prefix="/audit-log", tags=["supervisor"])
Supervisor = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR))]
_ERRORS = problems(401, 503, described={403: "Only admins and supervisors"})


class UnknownQueueError(NotFoundError):
    """No queue with that id."""

    code = "queue_not_found"

    def __init__(self) -> None:
        super().__init__("No queue with that id.")


# --- the live view ---------------------------------------------------------------------------


@router.get("/snapshot", summary="The live view now", responses=_ERRORS)
async def get_snapshot(resources: ResourcesDep, principal: Supervisor) -> dict[str, Any]:
    """Queues (waiting, oldest wait, today's and the last 30 minutes' figures), agents (state,
    time in state, load, handled today) and alerts: what `/ws/supervisor` pushes each second."""
    return await resources.live.current()


@router.get("/history", summary="Sparkline history", responses=_ERRORS)
async def get_history(resources: ResourcesDep, principal: Supervisor) -> dict[str, Any]:
    """Per queue, waiting, oldest wait and service level every 30 s over the last hour (as far
    as this process has watched)."""
    return resources.live.history()


# --- actions ---------------------------------------------------------------------------------


@router.put(
    "/agents/{agent_id}/state",
    response_model=PresenceRead,
    summary="Set an agent's state",
    responses={**_ERRORS, **problems(404, 422)},
)
async def set_agent_state(
    agent_id: uuid.UUID,
    body: AgentStateSet,
    session: SessionDep,
    resources: ResourcesDep,
    principal: Supervisor,
) -> PresenceRead:
    """Put an agent available, busy (with a reason) or offline, e.g. a desk left signed in.

    Going offline revokes the agent's open offers; chats already held stay with the agent.
    """
    before, after = await service.set_agent_state(resources, agent_id, body)
    audit.record(
        session,
        principal,
        action="agent.state_set",
        target_type="agent",
        target_id=agent_id,
        details={
            "name": before.get("name"),
            "from": {"state": before["state"], "reason": before["reason"]},
            "to": {"state": body.state.value, "reason": body.reason},
        },
    )
    return PresenceRead.model_validate(after)


@router.post(
    "/interactions/{interaction_id}/move",
    summary="Move an interaction to a queue or an agent",
    responses={
        **_ERRORS,
        **problems(404, 422, described={409: "Ended, or the target cannot take it"}),
    },
)
async def move_interaction(
    interaction_id: uuid.UUID,
    body: MoveRequest,
    session: SessionDep,
    resources: ResourcesDep,
    principal: Supervisor,
) -> dict[str, Any]:
    """Transfer a waiting (or offered, or active) interaction to another queue or a named
    agent, keeping its place in history; an optional note is left for the next agent."""
    before = await service.move_interaction(resources, principal, interaction_id, body)
    after = await service.interaction_row(resources, interaction_id)
    audit.record(
        session,
        principal,
        action="interaction.moved",
        target_type="interaction",
        target_id=interaction_id,
        details={
            "from_queue_id": _text(before.queue_id),
            "from_agent_id": _text(before.agent_id),
            "from_state": before.state.value,
            "to_queue": body.queue,
            "to_agent_id": _text(body.agent_id),
            "with_note": body.note is not None,
        },
    )
    return {
        "id": str(after.id),
        "state": after.state.value,
        "queue_id": _text(after.queue_id),
        "agent_id": _text(after.agent_id),
        "target_agent_id": _text(after.target_agent_id),
    }


@router.put(
    "/interactions/{interaction_id}/priority",
    summary="Raise or lower a waiting interaction's priority",
    responses={**_ERRORS, **problems(404, 422, described={409: "Not waiting any more"})},
)
async def set_interaction_priority(
    interaction_id: uuid.UUID,
    body: PrioritySet,
    session: SessionDep,
    resources: ResourcesDep,
    principal: Supervisor,
) -> dict[str, Any]:
    """Give a waiting interaction another priority of its own: it takes its new place in
    line at once (its queue's priority and escalation still add to it)."""
    before = await service.set_priority(resources, interaction_id, body.priority)
    audit.record(
        session,
        principal,
        action="interaction.reprioritized",
        target_type="interaction",
        target_id=interaction_id,
        details={"from": before.priority, "to": body.priority},
    )
    after = await resources.routing.places([interaction_id])
    position, estimated_wait_s = after.get(interaction_id, (None, None))
    return {
        "id": str(interaction_id),
        "priority": body.priority,
        "position": position,
        "estimated_wait_s": estimated_wait_s,
    }


@router.get(
    "/interactions/{interaction_id}/messages",
    summary="Read a conversation silently",
    responses={**_ERRORS, **problems(404)},
)
async def read_interaction_messages(
    interaction_id: uuid.UUID,
    session: SessionDep,
    resources: ResourcesDep,
    principal: Supervisor,
    after_seq: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    """Every message so far, internal notes and whispers included; neither the customer nor
    the agent is told. The read is recorded in the audit log (the first page only)."""
    found = await service.read_messages(resources, interaction_id, after_seq)
    if after_seq == 0:
        audit.record(
            session,
            principal,
            action="interaction.monitored",
            target_type="interaction",
            target_id=interaction_id,
            details={"via": "rest"},
        )
    return [message.frame() for message in found]


@router.post(
    "/interactions/{interaction_id}/whisper",
    status_code=status.HTTP_201_CREATED,
    summary="Whisper to the agent",
    responses={**_ERRORS, **problems(404, 422, described={409: "The interaction has ended"})},
)
async def whisper_to_agent(
    interaction_id: uuid.UUID,
    body: WhisperCreate,
    session: SessionDep,
    resources: ResourcesDep,
    principal: Supervisor,
) -> dict[str, Any]:
    """A note shown on the agent's desk in the conversation, never to the customer."""
    limit = resources.settings.chat_message_max_chars
    if len(body.body) > limit:
        raise MessageTooLongError("body.body", limit, len(body.body))
    message = await service.whisper(resources, principal, interaction_id, body.body)
    audit.record(
        session,
        principal,
        action="interaction.whispered",
        target_type="interaction",
        target_id=interaction_id,
        details={"seq": message.seq, "chars": len(body.body)},
    )
    return message.frame()


# --- alert rules -----------------------------------------------------------------------------


@router.get(
    "/alert-rules",
    response_model=list[AlertRuleRead],
    summary="Alert limits of every queue",
    responses=_ERRORS,
)
async def list_alert_rules(session: SessionDep, principal: Supervisor) -> list[AlertRuleRead]:
    """Each active queue's alert limits: those set, and those in force after fallbacks."""
    return [_rule_read(queue, rule) for queue, rule in await repository.list_alert_rules(session)]


@router.put(
    "/queues/{queue_id}/alert-rule",
    response_model=AlertRuleRead,
    summary="Set a queue's alert limits",
    responses={**_ERRORS, **problems(404, 422)},
)
async def set_alert_rule(
    queue_id: uuid.UUID,
    body: AlertRuleUpdate,
    session: SessionDep,
    resources: ResourcesDep,
    principal: Supervisor,
) -> AlertRuleRead:
    """Replace the queue's limits (null: fall back to the queue's own target and threshold)."""
    queue = await repository.get_queue(session, queue_id)
    if queue is None:
        raise UnknownQueueError()
    rule = await repository.get_alert_rule(session, queue_id)
    if rule is None:
        rule = QueueAlertRule(queue_id=queue_id)
        session.add(rule)
    rule.min_service_level = body.min_service_level
    rule.max_oldest_wait_s = body.max_oldest_wait_s
    rule.max_waiting = body.max_waiting
    rule.updated_by = principal.subject_id
    audit.record(
        session,
        principal,
        action="alert_rule.set",
        target_type="queue",
        target_id=queue_id,
        details={"queue": queue.name, **body.model_dump()},
    )
    await session.flush()
    resources.live.expire_figures()
    return _rule_read(queue, rule)


@router.delete(
    "/queues/{queue_id}/alert-rule",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Clear a queue's alert limits",
    responses={**_ERRORS, **problems(404)},
)
async def delete_alert_rule(
    queue_id: uuid.UUID, session: SessionDep, resources: ResourcesDep, principal: Supervisor
) -> Response:
    """Go back to the defaults: the queue's service-level target and threshold."""
    queue = await repository.get_queue(session, queue_id)
    if queue is None:
        raise UnknownQueueError()
    rule = await repository.get_alert_rule(session, queue_id)
    if rule is not None:
        await session.delete(rule)
        audit.record(
            session,
            principal,
            action="alert_rule.cleared",
            target_type="queue",
            target_id=queue_id,
            details={"queue": queue.name},
        )
        await session.flush()
        resources.live.expire_figures()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- the audit log ---------------------------------------------------------------------------


@audit_router.get(
    "",
    response_model=Page[AuditEntryRead],
    summary="Read the audit log",
    responses=problems(400, 401, 403, 422),
)
async def list_audit_log(
    session: SessionDep,
    principal: Supervisor,
    page: PageParamsDep,
    actor_id: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    target_type: Annotated[str | None, Query(max_length=32)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> Page[AuditEntryRead]:
    """Recorded actions newest first, narrowed by any of the filters; follow `next_cursor`."""
    for name, value in (("created_from", created_from), ("created_to", created_to)):
        if value is not None and value.tzinfo is None:
            raise NaiveTimeError(f"query.{name}")
    filters = repository.AuditFilters(
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        created_from=created_from,
        created_to=created_to,
    )
    rows, cursor = next_cursor(await repository.list_audit_entries(session, filters, page), page)
    return Page[AuditEntryRead](
        items=[AuditEntryRead.model_validate(row) for row in rows], next_cursor=cursor
    )


def _rule_read(queue: Queue, rule: QueueAlertRule | None) -> AlertRuleRead:
    limits = figures.limits_of(
        repository.QueueSettings(
            queue_id=str(queue.id),
            name=queue.name,
            threshold_s=float(queue.service_level_threshold_s),
            target=float(queue.service_level_target),
            min_service_level=rule.min_service_level if rule else None,
            max_oldest_wait_s=float(rule.max_oldest_wait_s)
            if rule and rule.max_oldest_wait_s
            else None,
            max_waiting=rule.max_waiting if rule else None,
        )
    )
    return AlertRuleRead(
        queue_id=queue.id,
        queue=queue.name,
        min_service_level=rule.min_service_level if rule else None,
        max_oldest_wait_s=rule.max_oldest_wait_s if rule else None,
        max_waiting=rule.max_waiting if rule else None,
        applied={
            "min_service_level": limits.min_service_level,
            "max_oldest_wait_s": limits.max_oldest_wait_s,
            "max_waiting": limits.max_waiting,
        },
        updated_at=rule.updated_at if rule else None,
        updated_by=rule.updated_by if rule else None,
    )


def _text(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)
