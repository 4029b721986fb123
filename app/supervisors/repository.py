"""SQL of the supervisor domain: the audit log, alert rules and the live view's aggregates."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Staff, StaffRole
from app.api.pagination import PageParams, paginate
from app.interactions.counted import COMPLETED, counted_events
from app.interactions.models import InteractionEvent
from app.queues.models import Queue
from app.runtime.models import AgentPresence
from app.supervisors.models import AuditEntry, QueueAlertRule
from app.webhooks.models import WebhookDelivery

# --- audit log -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """What a reader of the audit log narrows it to (None: any)."""

    actor_id: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


async def list_audit_entries(
    session: AsyncSession, filters: AuditFilters, params: PageParams
) -> list[AuditEntry]:
    """One page of audit entries, newest first, with the extra row `next_cursor` looks for."""
    statement = select(AuditEntry)
    if filters.actor_id is not None:
        statement = statement.where(AuditEntry.actor_id == filters.actor_id)
    if filters.action is not None:
        statement = statement.where(AuditEntry.action == filters.action)
    if filters.target_type is not None:
        statement = statement.where(AuditEntry.target_type == filters.target_type)
    if filters.target_id is not None:
        statement = statement.where(AuditEntry.target_id == filters.target_id)
    if filters.created_from is not None:
        statement = statement.where(AuditEntry.created_at >= filters.created_from)
    if filters.created_to is not None:
        statement = statement.where(AuditEntry.created_at < filters.created_to)
    statement = paginate(
        statement, params, created_at=AuditEntry.created_at, id_column=AuditEntry.id
    )
    return list(await session.scalars(statement))


# --- alert rules -----------------------------------------------------------------------------


async def get_alert_rule(session: AsyncSession, queue_id: uuid.UUID) -> QueueAlertRule | None:
    """The queue's own alert rule, or None (it uses the defaults)."""
    return await session.get(QueueAlertRule, queue_id)


async def get_queue(session: AsyncSession, queue_id: uuid.UUID) -> Queue | None:
    """The queue with this id, or None."""
    return await session.get(Queue, queue_id)


@dataclass(frozen=True, slots=True)
class QueueSettings:
    """What the live view needs of a queue's configuration: its targets and alert limits."""

    queue_id: str
    name: str
    threshold_s: float
    target: float
    min_service_level: float | None
    max_oldest_wait_s: float | None
    max_waiting: int | None


async def queue_settings(session: AsyncSession) -> dict[str, QueueSettings]:
    """Every active queue's service-level threshold and target with its alert rule, by id."""
    rows = await session.execute(
        select(Queue, QueueAlertRule)
        .outerjoin(QueueAlertRule, QueueAlertRule.queue_id == Queue.id)
        .where(Queue.active.is_(True))
    )
    found: dict[str, QueueSettings] = {}
    for queue, rule in rows:
        found[str(queue.id)] = QueueSettings(
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
    return found


async def list_alert_rules(session: AsyncSession) -> list[tuple[Queue, QueueAlertRule | None]]:
    """Every active queue with its alert rule (None: the defaults), by name."""
    rows = await session.execute(
        select(Queue, QueueAlertRule)
        .outerjoin(QueueAlertRule, QueueAlertRule.queue_id == Queue.id)
        .where(Queue.active.is_(True))
        .order_by(Queue.name)
    )
    return [(queue, rule) for queue, rule in rows]


# --- live figures ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventTotals:
    """Sums over one kind of counted event in one queue and channel, over the day and over
    the rolling window: (count, sum of waits, answered within / abandoned after the queue's
    threshold, sum of handle times)."""

    type: str
    queue_id: str
    channel: str
    day: tuple[int, float, int, int, float]
    window: tuple[int, float, int, int, float]


async def event_totals(
    session: AsyncSession,
    *,
    day_start: datetime,
    window_start: datetime,
    thresholds_s: Mapping[str, float],
    default_threshold_s: float,
) -> list[EventTotals]:
    """Per counted event kind, queue and channel: the sums of `EventTotals` since `day_start`
    and since `window_start`.

    One aggregate over the routing history as figures count it (`counted_events`: answers and
    abandons counted where and when they happened, with the wait measured then; a call is
    answered when it connects), so transfers count like the engine does and the live view
    agrees with the reports.
    """
    rows_of = counted_events(InteractionEvent.at >= min(day_start, window_start))
    queue_id = rows_of.c.queue_id
    wait_s = rows_of.c.wait_s
    handle_s = rows_of.c.handle_s
    threshold: ColumnElement[Any] = (
        case(dict(thresholds_s), value=queue_id, else_=literal(default_threshold_s))
        if thresholds_s
        else literal(default_threshold_s)
    )
    within = wait_s <= threshold
    after = wait_s > threshold
    columns: list[ColumnElement[Any]] = []
    for label, since in (("day", day_start), ("window", window_start)):
        inside = rows_of.c.at >= since
        columns += [
            func.sum(case((inside, 1), else_=0)).label(f"{label}_count"),
            func.sum(case((inside, wait_s), else_=0.0)).label(f"{label}_wait"),
            func.sum(case((and_(inside, within), 1), else_=0)).label(f"{label}_within"),
            func.sum(case((and_(inside, after), 1), else_=0)).label(f"{label}_after"),
            func.sum(case((inside, handle_s), else_=0.0)).label(f"{label}_handle"),
        ]
    statement = select(rows_of.c.kind, queue_id, rows_of.c.channel, *columns).group_by(
        rows_of.c.kind, queue_id, rows_of.c.channel
    )
    rows = await session.execute(statement)
    return [
        EventTotals(
            type=str(row[0]),
            queue_id=str(row[1]),
            channel=_channel(row[2]),
            day=_sums(row[3:8]),
            window=_sums(row[8:13]),
        )
        for row in rows
        if row[1] is not None
    ]


def _channel(value: Any) -> str:
    # The ORM hands back the enum; a bare string where the column is read as text.
    return str(getattr(value, "value", value))


def _sums(values: Any) -> tuple[int, float, int, int, float]:
    count, wait, within, after, handle = values
    return (
        int(count or 0),
        float(wait or 0.0),
        int(within or 0),
        int(after or 0),
        float(handle or 0),
    )


@dataclass(frozen=True, slots=True)
class AgentDayTotals:
    """One agent's completions on one channel since the start of the day."""

    agent_id: str
    channel: str
    completed: int
    handle_s: float


async def agent_day_totals(session: AsyncSession, *, day_start: datetime) -> list[AgentDayTotals]:
    """Per agent and channel: interactions completed since `day_start` and their handle time."""
    rows_of = counted_events(InteractionEvent.at >= day_start, InteractionEvent.type == COMPLETED)
    rows = await session.execute(
        select(
            rows_of.c.agent_id, rows_of.c.channel, func.count(), func.sum(rows_of.c.handle_s)
        ).group_by(rows_of.c.agent_id, rows_of.c.channel)
    )
    return [
        AgentDayTotals(
            agent_id=str(agent_id),
            channel=_channel(channel),
            completed=int(count),
            handle_s=float(handle or 0.0),
        )
        for agent_id, channel, count, handle in rows
        if agent_id is not None
    ]


async def presence_since(session: AsyncSession) -> dict[str, datetime]:
    """When each agent's presence last changed (the start of its time in state), by id."""
    rows = await session.execute(select(AgentPresence.staff_id, AgentPresence.changed_at))
    return {str(staff_id): changed_at for staff_id, changed_at in rows}


async def agent_capacities(session: AsyncSession) -> dict[str, dict[str, Any]]:
    """Each active agent's configured capacity per channel (missing channels: defaults)."""
    rows = await session.execute(
        select(Staff.id, Staff.capacity).where(
            Staff.role == StaffRole.AGENT, Staff.active.is_(True)
        )
    )
    return {str(staff_id): dict(capacity or {}) for staff_id, capacity in rows}


async def webhook_deliveries_by_status(session: AsyncSession) -> dict[str, int]:
    """How many webhook deliveries are pending, delivered and dead."""
    rows = await session.execute(
        select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
    )
    return {str(getattr(status, "value", status)): int(count) for status, count in rows}
