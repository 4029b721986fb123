"""Rules of the queues domain, and the mapping from stored queues to the routing core's config."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.api.fields import InvalidFieldsError, field_path
from app.queues import repository
from app.queues.errors import QueueNameTakenError, QueueNotFoundError
from app.queues.models import Queue
from app.queues.repository import SkillLevels
from app.queues.schemas import (
    WEEKDAYS,
    QueueCreate,
    QueueEscalationStep,
    QueueUpdate,
    RequiredSkill,
    minutes_of,
)
from app.routing.model import (
    BusinessHours,
    ClosedPolicy,
    EscalationStep,
    OpenInterval,
    QueueConfig,
    QueueId,
    Requirement,
    SelectionStrategy,
    SkillRequirement,
)
from app.skills.service import resolve_skills

# Plain columns a PATCH copies as they come (lists and enums are handled on their own).
_SCALAR_FIELDS = (
    "name",
    "description",
    "priority",
    "service_level_threshold_s",
    "service_level_target",
    "max_size",
    "offer_timeout_s",
    "wrap_up_s",
    "aging_per_s",
    "sticky_s",
    "busy_on_missed_offer",
    "time_zone",
)
_ALL_WEEK = tuple(OpenInterval(weekday, 0, 24 * 60) for weekday in range(7))


async def get_queue(session: AsyncSession, *, queue_id: uuid.UUID) -> Queue:
    """The queue with this id, or `QueueNotFoundError`."""
    queue = await repository.get_queue(session, queue_id)
    if queue is None:
        raise QueueNotFoundError()
    return queue


async def get_queue_with_skills(
    session: AsyncSession, *, queue_id: uuid.UUID
) -> tuple[Queue, SkillLevels]:
    """The queue and its required skills by name."""
    queue = await get_queue(session, queue_id=queue_id)
    skills = await repository.skills_of_queues(session, [queue.id])
    return queue, skills.get(queue.id, [])


async def create_queue(session: AsyncSession, *, data: QueueCreate) -> tuple[Queue, SkillLevels]:
    """Add a queue after checking its name and every skill and queue it refers to; flushes."""
    if await repository.name_taken(session, data.name):
        raise QueueNameTakenError(data.name)
    required = await _resolve_required(session, data.required_skills)
    steps = await _resolve_steps(session, data.escalation_steps, own_id=None, own_name=data.name)
    queue = Queue(
        **{field: getattr(data, field) for field in _SCALAR_FIELDS},
        selection_strategy=data.selection_strategy.value,
        closed_policy=data.closed_policy.value,
        weekly_hours=[hours.model_dump() for hours in data.weekly_hours],
        holidays=[day.isoformat() for day in data.holidays],
        escalation_steps=steps,
    )
    session.add(queue)
    await session.flush()
    await repository.replace_queue_skills(session, queue.id, required)
    return queue, _levels(data.required_skills)


async def update_queue(
    session: AsyncSession, *, queue_id: uuid.UUID, data: QueueUpdate
) -> tuple[Queue, SkillLevels]:
    """Change the fields the caller sent (lists replace the stored ones); flushes."""
    queue = await get_queue(session, queue_id=queue_id)
    sent = data.model_fields_set
    if data.name is not None and await repository.name_taken(
        session, data.name, other_than=queue.id
    ):
        raise QueueNameTakenError(data.name)
    if data.required_skills is not None:
        required = await _resolve_required(session, data.required_skills)
        await repository.replace_queue_skills(session, queue.id, required)
    if data.escalation_steps is not None:
        queue.escalation_steps = await _resolve_steps(
            session, data.escalation_steps, own_id=queue.id, own_name=data.name or queue.name
        )
    for field in _SCALAR_FIELDS:
        if field in sent:
            setattr(queue, field, getattr(data, field))
    if data.selection_strategy is not None:
        queue.selection_strategy = data.selection_strategy.value
    if data.closed_policy is not None:
        queue.closed_policy = data.closed_policy.value
    if data.weekly_hours is not None:
        queue.weekly_hours = [hours.model_dump() for hours in data.weekly_hours]
    if data.holidays is not None:
        queue.holidays = [day.isoformat() for day in data.holidays]
    # Set explicitly: a change to the required skills alone leaves the queue row clean.
    queue.updated_at = clock.utcnow()
    await session.flush()
    return await get_queue_with_skills(session, queue_id=queue.id)


async def set_queue_active(
    session: AsyncSession, *, queue_id: uuid.UUID, active: bool
) -> tuple[Queue, SkillLevels]:
    """Open or retire a queue; a deactivated queue takes no new interactions."""
    queue = await get_queue(session, queue_id=queue_id)
    queue.active = active
    await session.flush()
    return await get_queue_with_skills(session, queue_id=queue.id)


async def list_queues_with_skills(
    session: AsyncSession, rows: Sequence[Queue]
) -> list[tuple[Queue, SkillLevels]]:
    """Attach required skills to a page of queues (one query for the page)."""
    skills = await repository.skills_of_queues(session, [queue.id for queue in rows])
    return [(queue, skills.get(queue.id, [])) for queue in rows]


def queue_config_from_row(queue: Queue, skills: list[tuple[str, int]]) -> QueueConfig:
    """The routing core's view of a stored queue and its (skill name, min level) pairs."""
    return QueueConfig(
        id=QueueId(str(queue.id)),
        name=queue.name,
        required=_requirement(skills),
        priority=queue.priority,
        sl_threshold_s=float(queue.service_level_threshold_s),
        sl_target=queue.service_level_target,
        max_size=queue.max_size,
        hours=_business_hours(queue),
        closed_policy=ClosedPolicy(queue.closed_policy),
        escalation=tuple(_escalation_step(raw) for raw in queue.escalation_steps),
        strategy=SelectionStrategy(queue.selection_strategy),
        offer_timeout_s=float(queue.offer_timeout_s),
        aging_per_s=queue.aging_per_s,
        missed_policy=queue.busy_on_missed_offer,
        sticky_s=float(queue.sticky_s),
        wrap_up_s=float(queue.wrap_up_s),
    )


def _requirement(skills: Sequence[tuple[str, int]]) -> Requirement:
    return frozenset(SkillRequirement(name, level) for name, level in skills)


def _business_hours(queue: Queue) -> BusinessHours | None:
    """None (always open) without hours or holidays; holidays alone close only those days."""
    holidays = frozenset(date.fromisoformat(day) for day in queue.holidays)
    if not queue.weekly_hours and not holidays:
        return None
    weekly = tuple(
        OpenInterval(
            WEEKDAYS.index(item["day"]), minutes_of(item["open"]), minutes_of(item["close"])
        )
        for item in queue.weekly_hours
    )
    return BusinessHours(tz=queue.time_zone, weekly=weekly or _ALL_WEEK, holidays=holidays)


def _escalation_step(raw: dict[str, Any]) -> EscalationStep:
    step = QueueEscalationStep.model_validate(raw)
    required = step.required_skills
    return EscalationStep(
        after_s=float(step.after_s),
        required=None if required is None else _requirement(_levels(required)),
        also=_requirement(_levels(step.add_skills)) if step.add_skills else None,
        priority_delta=step.priority_delta,
        overflow_to=QueueId(step.overflow_to) if step.overflow_to else None,
    )


def _levels(items: Sequence[RequiredSkill]) -> SkillLevels:
    return sorted((item.skill, item.min_level) for item in items)


async def _resolve_required(
    session: AsyncSession, items: Sequence[RequiredSkill]
) -> list[tuple[uuid.UUID, int]]:
    references = [
        (item.skill, field_path("body", "required_skills", index, "skill"))
        for index, item in enumerate(items)
    ]
    skills = await resolve_skills(session, references=references)
    return [(skills[item.skill].id, item.min_level) for item in items]


async def _resolve_steps(
    session: AsyncSession,
    steps: Sequence[QueueEscalationStep],
    *,
    own_id: uuid.UUID | None,
    own_name: str,
) -> list[dict[str, Any]]:
    """Check the skills and queues the steps name; store overflow targets by queue id."""
    await resolve_skills(session, references=_step_skill_references(steps))
    errors: list[dict[str, str]] = []
    stored: list[dict[str, Any]] = []
    for index, step in enumerate(steps):
        raw = step.model_dump(mode="json", exclude_none=True)
        if step.overflow_to is not None:
            field = field_path("body", "escalation_steps", index, "overflow_to")
            target = await _overflow_target(session, step.overflow_to, own_id, own_name)
            if isinstance(target, str):
                errors.append({"field": field, "message": target})
            else:
                raw["overflow_to"] = str(target.id)
        stored.append(raw)
    if errors:
        raise InvalidFieldsError(errors)
    return stored


def _step_skill_references(steps: Sequence[QueueEscalationStep]) -> list[tuple[str, str]]:
    references: list[tuple[str, str]] = []
    for index, step in enumerate(steps):
        for key in ("add_skills", "required_skills"):
            for position, item in enumerate(getattr(step, key) or []):
                path = field_path("body", "escalation_steps", index, key, position, "skill")
                references.append((item.skill, path))
    return references


async def _overflow_target(
    session: AsyncSession, reference: str, own_id: uuid.UUID | None, own_name: str
) -> Queue | str:
    """The queue to overflow to, or why it cannot be used."""
    if reference in (own_name, str(own_id)):
        return "a queue cannot overflow to itself"
    target = await repository.find_queue(session, reference)
    if target is None:
        return f"there is no queue with id or name '{reference}'"
    if target.id == own_id:
        return "a queue cannot overflow to itself"
    if not target.active:
        return f"the queue '{target.name}' is deactivated"
    return target
