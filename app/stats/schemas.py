"""Bodies of the real-time statistics API (metric definitions: DESIGN.md)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Kpis(BaseModel):
    """The queue metrics over one period."""

    arrived: int
    answered: int
    abandoned: int
    completed: int
    asa_s: float | None = Field(description="Mean wait of answered interactions")
    service_level: float | None = Field(
        description="Answered within threshold / (answered + abandoned after threshold)"
    )
    abandon_rate: float | None = Field(description="Abandoned / (answered + abandoned)")
    aht_s: float | None = Field(description="Mean handle time (active + wrap-up) of completed")


class QueueStats(BaseModel):
    """One queue now: counts, the oldest wait, agents able to serve it, and its metrics."""

    queue_id: str
    name: str
    waiting: int
    offered: int
    oldest_wait_s: float | None
    eligible_agents: int = Field(description="Agents with the skills, signed in or not")
    available_agents: int = Field(description="Eligible agents available now")
    since_start: Kpis = Field(description="Since the routing service last started")
    current_interval: Kpis = Field(description="The current 15-minute interval")


class QueueStatsList(BaseModel):
    """Every queue's real-time figures."""

    at: datetime
    queues: list[QueueStats]


class AgentStats(BaseModel):
    """One agent now: presence, load and what it holds."""

    agent_id: str
    name: str
    state: str
    reason: str | None
    load: dict[str, int]
    interactions: int
    idle_since: datetime | None


class AgentStatsList(BaseModel):
    """Every agent's real-time figures, agents by state, and overall occupancy."""

    at: datetime
    agents_by_state: dict[str, int]
    occupancy: float | None = Field(description="Time handling / time available, since start")
    agents: list[AgentStats]
