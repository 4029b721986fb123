"""Configuration and vocabulary of the routing core: ids, channels, states, configs."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import NewType

InteractionId = NewType("InteractionId", str)
AgentId = NewType("AgentId", str)
QueueId = NewType("QueueId", str)
CustomerId = NewType("CustomerId", str)

INTERVAL_S = 900.0
"""Statistics intervals: 15 minutes, aligned to multiples of 900 s of epoch time."""


class Channel(enum.StrEnum):
    """The medium an interaction arrives on."""

    CHAT = "chat"
    VOICE = "voice"
    VIDEO = "video"
    EMAIL = "email"
    SMS = "sms"
    POSTAL_MAIL = "postal_mail"
    WALK_IN = "walk_in"


class InteractionState(enum.StrEnum):
    """Lifecycle of one interaction; `transferred` is transient and only appears in history."""

    QUEUED = "queued"
    OFFERED = "offered"
    ACTIVE = "active"
    WRAP_UP = "wrap_up"
    COMPLETED = "completed"
    ABANDONED = "abandoned"
    CANCELLED = "cancelled"
    TRANSFERRED = "transferred"


FINAL_STATES = frozenset(
    {InteractionState.COMPLETED, InteractionState.ABANDONED, InteractionState.CANCELLED}
)


class AgentState(enum.StrEnum):
    """Presence of an agent; `busy` carries a reason such as "break" or "missed"."""

    OFFLINE = "offline"
    AVAILABLE = "available"
    BUSY = "busy"


class SelectionStrategy(enum.StrEnum):
    """How a queue picks among eligible agents with free capacity."""

    LONGEST_IDLE = "longest_idle"
    LEAST_OCCUPIED = "least_occupied"
    MOST_SKILLED = "most_skilled"
    ROUND_ROBIN = "round_robin"


class ClosedPolicy(enum.StrEnum):
    """What a closed queue does with an arrival."""

    REFUSE = "refuse"
    CALLBACK = "callback"


MISSED_REASON = "missed"

DEFAULT_CAPACITY: Mapping[Channel, int] = MappingProxyType(
    {
        Channel.CHAT: 3,
        Channel.VOICE: 1,
        Channel.VIDEO: 1,
        Channel.EMAIL: 5,
        Channel.SMS: 5,
        Channel.POSTAL_MAIL: 10,
        Channel.WALK_IN: 1,
    }
)
DEFAULT_EXCLUSIVE = frozenset({Channel.VOICE, Channel.VIDEO, Channel.WALK_IN})


@dataclass(frozen=True, slots=True, order=True)
class SkillRequirement:
    """A skill an agent must have, at `min_level` (1..10) or above."""

    skill: str
    min_level: int = 1


Requirement = frozenset[SkillRequirement]
"""A conjunction of skill requirements: an agent must meet all of them."""


def requirement(*items: str | SkillRequirement) -> Requirement:
    """Build a requirement from `SkillRequirement`s or "skill" / "skill:level" strings."""
    parsed: list[SkillRequirement] = []
    for item in items:
        if isinstance(item, SkillRequirement):
            parsed.append(item)
            continue
        name, _, level = item.partition(":")
        parsed.append(SkillRequirement(name.strip(), int(level) if level else 1))
    return frozenset(parsed)


def meets(skills: Mapping[str, int], required: Requirement) -> bool:
    """True when `skills` satisfy every requirement."""
    return all(skills.get(r.skill, 0) >= r.min_level for r in required)


@dataclass(frozen=True, slots=True)
class OpenInterval:
    """Open on `weekday` (0 = Monday) from `start_min` to `end_min` minutes after local midnight."""

    weekday: int
    start_min: int
    end_min: int


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """Weekly opening intervals in a time zone, minus holidays (local dates)."""

    tz: str = "UTC"
    weekly: tuple[OpenInterval, ...] = ()
    holidays: frozenset[date] = frozenset()


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """After `after_s` in the queue: change what is required, raise priority, or overflow.

    `required` replaces the main requirement (use it to relax or add skills), `also` adds an
    alternative requirement (also offer to agents with these skills), `priority_delta` raises
    priority and `overflow_to` moves the interaction to another queue keeping its queued time.
    """

    after_s: float
    required: Requirement | None = None
    also: Requirement | None = None
    priority_delta: int = 0
    overflow_to: QueueId | None = None


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """A named line of interactions with its routing rules."""

    id: QueueId
    name: str = ""
    required: Requirement = frozenset()
    priority: int = 0
    sl_threshold_s: float = 60.0
    sl_target: float = 0.8
    max_size: int | None = None
    hours: BusinessHours | None = None
    closed_policy: ClosedPolicy = ClosedPolicy.REFUSE
    escalation: tuple[EscalationStep, ...] = ()
    strategy: SelectionStrategy = SelectionStrategy.LONGEST_IDLE
    offer_timeout_s: float = 30.0
    reoffer_after_s: float = 30.0
    aging_per_s: float = 0.0
    missed_policy: bool = False
    sticky_s: float = 0.0
    wrap_up_s: float = 0.0
    expected_handle_s: float = 300.0


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """An agent's skills (level 1..10) and capacity per channel."""

    id: AgentId
    name: str = ""
    skills: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    capacity: Mapping[Channel, int] = field(default_factory=lambda: DEFAULT_CAPACITY)
    exclusive: frozenset[Channel] = DEFAULT_EXCLUSIVE

    def capacity_for(self, channel: Channel) -> int:
        """How many interactions of `channel` this agent may hold at once."""
        return self.capacity.get(channel, DEFAULT_CAPACITY[channel])


def agent_config(
    agent_id: str,
    skills: Mapping[str, int],
    *,
    name: str = "",
    capacity: Mapping[Channel, int] | None = None,
    exclusive: frozenset[Channel] = DEFAULT_EXCLUSIVE,
) -> AgentConfig:
    """Build an `AgentConfig`, merging `capacity` over the defaults."""
    merged = dict(DEFAULT_CAPACITY)
    merged.update(capacity or {})
    return AgentConfig(
        id=AgentId(agent_id),
        name=name,
        skills=MappingProxyType(dict(skills)),
        capacity=MappingProxyType(merged),
        exclusive=exclusive,
    )
