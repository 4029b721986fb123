"""Request and response bodies of the queues API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from functools import lru_cache
from itertools import pairwise
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from app.api.fields import Description, Slug, not_null
from app.queues.models import Queue
from app.routing.model import ClosedPolicy, SelectionStrategy

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
MINUTES_PER_DAY = 24 * 60
MAX_SKILLS = 20
MAX_STEPS = 20
DAY_S = 24 * 60 * 60


def minutes_of(time_of_day: str) -> int:
    """Minutes after midnight of an "HH:MM" time ("24:00" is the end of the day)."""
    hours, _, minutes = time_of_day.partition(":")
    return int(hours) * 60 + int(minutes)


def _check_time_of_day(value: str) -> str:
    hours, colon, minutes = value.partition(":")
    well_formed = colon and len(hours) == 2 and len(minutes) == 2
    if not (well_formed and hours.isdigit() and minutes.isdigit() and int(minutes) < 60):
        raise ValueError("use HH:MM, e.g. 08:30")
    if minutes_of(value) > MINUTES_PER_DAY:
        raise ValueError("a time of day runs from 00:00 to 24:00")
    return value


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def _check_zone(value: str) -> str:
    if value not in _zone_names():
        raise ValueError("unknown time zone; use an IANA name such as America/Chicago")
    return value


def _trim(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


TimeOfDay = Annotated[str, Field(examples=["08:00"]), AfterValidator(_check_time_of_day)]
TimeZone = Annotated[
    str,
    BeforeValidator(_trim),
    Field(max_length=64, examples=["America/Chicago"]),
    AfterValidator(_check_zone),
]
QueueName = Annotated[str, BeforeValidator(_trim), Field(min_length=1, max_length=100)]
Priority = Annotated[int, Field(ge=-1000, le=1000, description="Higher is served first")]
ThresholdS = Annotated[int, Field(ge=1, le=DAY_S, description="Answered within this counts")]
Target = Annotated[float, Field(gt=0, le=1, description="Share answered within the threshold")]
MaxSize = Annotated[int, Field(ge=1, le=1_000_000, description="Arrivals beyond it are refused")]
OfferTimeoutS = Annotated[int, Field(ge=1, le=3600)]
WrapUpS = Annotated[int, Field(ge=0, le=DAY_S)]
AgingPerS = Annotated[float, Field(ge=0, le=100, description="Priority gained per second waited")]
StickyS = Annotated[int, Field(ge=0, le=30 * DAY_S, description="Prefer the last agent this long")]


class RequiredSkill(BaseModel):
    """A skill the queue needs, at `min_level` (1..10) or above."""

    model_config = ConfigDict(extra="forbid")

    skill: Slug
    min_level: int = Field(default=1, ge=1, le=10)


def _distinct_skills(items: list[RequiredSkill]) -> list[RequiredSkill]:
    names = [item.skill for item in items]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"each skill may appear once; repeated: {', '.join(repeated)}")
    return items


RequiredSkills = Annotated[
    list[RequiredSkill], Field(max_length=MAX_SKILLS), AfterValidator(_distinct_skills)
]


class OpeningHours(BaseModel):
    """One opening interval on a weekday, in the queue's time zone."""

    model_config = ConfigDict(extra="forbid")

    day: Weekday
    open: TimeOfDay
    close: Annotated[TimeOfDay, Field(examples=["17:00"])]

    @model_validator(mode="after")
    def _close_after_open(self) -> OpeningHours:
        if minutes_of(self.close) <= minutes_of(self.open):
            raise ValueError("close must be later than open (24:00 closes at midnight)")
        return self


def _no_overlap(items: list[OpeningHours]) -> list[OpeningHours]:
    ordered = sorted(items, key=lambda item: (WEEKDAYS.index(item.day), minutes_of(item.open)))
    for earlier, later in pairwise(ordered):
        if earlier.day == later.day and minutes_of(later.open) < minutes_of(earlier.close):
            raise ValueError(f"opening hours on {later.day} overlap")
    return ordered


WeeklyHours = Annotated[list[OpeningHours], Field(max_length=7 * 12), AfterValidator(_no_overlap)]


def _sorted_dates(items: list[date]) -> list[date]:
    return sorted(set(items))


Holidays = Annotated[
    list[date],
    Field(max_length=1000, examples=[["2026-12-25"]]),
    AfterValidator(_sorted_dates),
]


class QueueEscalationStep(BaseModel):
    """After `after_s` of waiting: widen or replace the skills, raise priority, or overflow."""

    model_config = ConfigDict(extra="forbid")

    after_s: int = Field(ge=1, le=7 * DAY_S, description="Seconds waited in this queue")
    add_skills: RequiredSkills | None = Field(
        default=None, description="Also offer to agents who have these skills"
    )
    required_skills: RequiredSkills | None = Field(
        default=None, description="Replace the required skills ([] = any agent)"
    )
    priority_delta: int = Field(default=0, ge=-1000, le=1000)
    overflow_to: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Move to this queue (id or name); reads return the id",
    )

    @model_validator(mode="after")
    def _does_something(self) -> QueueEscalationStep:
        changes = (
            bool(self.add_skills),
            self.required_skills is not None,
            self.priority_delta != 0,
            self.overflow_to is not None,
        )
        if not any(changes):
            raise ValueError(
                "a step must add skills, replace required skills, change priority or overflow"
            )
        return self


def _ordered_steps(steps: list[QueueEscalationStep]) -> list[QueueEscalationStep]:
    for index in range(1, len(steps)):
        if steps[index].after_s <= steps[index - 1].after_s:
            raise ValueError(f"after_s must increase from step to step (step {index} does not)")
    for index, step in enumerate(steps[:-1]):
        if step.overflow_to is not None:
            raise ValueError(f"step {index} overflows to another queue, so it must be the last")
    return steps


EscalationSteps = Annotated[
    list[QueueEscalationStep], Field(max_length=MAX_STEPS), AfterValidator(_ordered_steps)
]

_EXAMPLE: dict[str, Any] = {
    "name": "Seguro de Desempleo",
    "description": "Reclamos, pagos y certificación semanal, en español.",
    "required_skills": [{"skill": "spanish", "min_level": 6}, {"skill": "ui", "min_level": 3}],
    "priority": 0,
    "service_level_threshold_s": 60,
    "service_level_target": 0.8,
    "max_size": 200,
    "selection_strategy": "longest_idle",
    "time_zone": "America/Chicago",
    "weekly_hours": [{"day": "mon", "open": "08:00", "close": "17:00"}],
    "holidays": ["2026-12-25"],
    "closed_policy": "callback",
    "escalation_steps": [
        {"after_s": 120, "add_skills": [{"skill": "english", "min_level": 5}]},
        {"after_s": 600, "priority_delta": 1, "overflow_to": "Unemployment Insurance"},
    ],
}


class QueueCreate(BaseModel):
    """A new queue; everything but the name has a usable default."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    name: QueueName
    description: Description = ""
    required_skills: RequiredSkills = Field(default_factory=list)
    priority: Priority = 0
    service_level_threshold_s: ThresholdS = 60
    service_level_target: Target = 0.8
    max_size: MaxSize | None = None
    offer_timeout_s: OfferTimeoutS = 30
    wrap_up_s: WrapUpS = 120
    selection_strategy: SelectionStrategy = SelectionStrategy.LONGEST_IDLE
    aging_per_s: AgingPerS = 0.0
    sticky_s: StickyS = 0
    busy_on_missed_offer: bool = True
    time_zone: TimeZone = "UTC"
    weekly_hours: WeeklyHours = Field(
        default_factory=list, description="Opening intervals; none at all = always open"
    )
    holidays: Holidays = Field(default_factory=list)
    closed_policy: ClosedPolicy = ClosedPolicy.REFUSE
    escalation_steps: EscalationSteps = Field(default_factory=list)


class QueueUpdate(BaseModel):
    """Fields to change; lists given here replace the stored ones."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"max_size": 300, "required_skills": [{"skill": "spanish"}]}]
        },
    )

    name: QueueName | None = None
    description: Description | None = None
    required_skills: RequiredSkills | None = None
    priority: Priority | None = None
    service_level_threshold_s: ThresholdS | None = None
    service_level_target: Target | None = None
    max_size: MaxSize | None = Field(default=None, description="null removes the limit")
    offer_timeout_s: OfferTimeoutS | None = None
    wrap_up_s: WrapUpS | None = None
    selection_strategy: SelectionStrategy | None = None
    aging_per_s: AgingPerS | None = None
    sticky_s: StickyS | None = None
    busy_on_missed_offer: bool | None = None
    time_zone: TimeZone | None = None
    weekly_hours: WeeklyHours | None = None
    holidays: Holidays | None = None
    closed_policy: ClosedPolicy | None = None
    escalation_steps: EscalationSteps | None = None

    _not_null = field_validator(
        "name",
        "description",
        "required_skills",
        "priority",
        "service_level_threshold_s",
        "service_level_target",
        "offer_timeout_s",
        "wrap_up_s",
        "selection_strategy",
        "aging_per_s",
        "sticky_s",
        "busy_on_missed_offer",
        "time_zone",
        "weekly_hours",
        "holidays",
        "closed_policy",
        "escalation_steps",
    )(not_null)


class QueueRead(BaseModel):
    """A queue as stored, its skills by name and overflow targets by queue id."""

    id: uuid.UUID
    name: str
    description: str
    required_skills: list[RequiredSkill]
    priority: int
    service_level_threshold_s: int
    service_level_target: float
    max_size: int | None
    offer_timeout_s: int
    wrap_up_s: int
    selection_strategy: SelectionStrategy
    aging_per_s: float
    sticky_s: int
    busy_on_missed_offer: bool
    time_zone: str
    weekly_hours: list[OpeningHours]
    holidays: list[date]
    closed_policy: ClosedPolicy
    escalation_steps: list[QueueEscalationStep]
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, queue: Queue, skills: list[tuple[str, int]]) -> QueueRead:
        """Combine a queue row with its (skill name, min level) pairs."""
        return cls(
            id=queue.id,
            name=queue.name,
            description=queue.description,
            required_skills=[RequiredSkill(skill=name, min_level=level) for name, level in skills],
            priority=queue.priority,
            service_level_threshold_s=queue.service_level_threshold_s,
            service_level_target=queue.service_level_target,
            max_size=queue.max_size,
            offer_timeout_s=queue.offer_timeout_s,
            wrap_up_s=queue.wrap_up_s,
            selection_strategy=SelectionStrategy(queue.selection_strategy),
            aging_per_s=queue.aging_per_s,
            sticky_s=queue.sticky_s,
            busy_on_missed_offer=queue.busy_on_missed_offer,
            time_zone=queue.time_zone,
            weekly_hours=[OpeningHours.model_validate(item) for item in queue.weekly_hours],
            holidays=[date.fromisoformat(day) for day in queue.holidays],
            closed_policy=ClosedPolicy(queue.closed_policy),
            escalation_steps=[
                QueueEscalationStep.model_validate(step) for step in queue.escalation_steps
            ],
            active=queue.active,
            created_at=queue.created_at,
            updated_at=queue.updated_at,
        )
