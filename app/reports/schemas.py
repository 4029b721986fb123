"""Bodies of the reports API (metric definitions: DESIGN.md, section Metrics)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from app.routing.model import Channel

_BY_CHANNEL = "The same figures for each channel with activity; their counts add up to these"
_ONE_CHANNEL = "The one channel reported (the `channel` parameter), or None for all"


class ReportPeriod(BaseModel):
    """What a report covers: [start, end) and the zone of its labels and days."""

    start: datetime
    end: datetime
    tz: str
    interval_s: int = Field(900, description="Length of one interval in seconds")


class QueueIdentity(BaseModel):
    """Which queue a line of figures is about."""

    queue_id: str
    queue_name: str
    threshold_s: float = Field(description="The queue's service-level threshold")


class QueueChannelFigures(BaseModel):
    """A queue's figures over one interval or the whole period, on one channel or all."""

    arrived: int = Field(description="Interactions that entered the queue ('offered')")
    answered: int = Field(description="Accepted by an agent; a voice or video call: connected")
    answered_within_threshold: int
    abandoned: int
    abandoned_after_threshold: int
    completed: int
    handle_s: float = Field(description="Total handle time (active + wrap-up) of completed")
    service_level: float | None = Field(
        description="Answered within threshold / (answered + abandoned after threshold)"
    )
    asa_s: float | None = Field(
        description="Mean wait of answered interactions (a call's: until it connected)"
    )
    abandon_rate: float | None = Field(description="Abandoned / (answered + abandoned)")
    aht_s: float | None = Field(description="Mean handle time of completed interactions")
    first_responses: int = Field(description="Interactions whose first agent message fell here")
    avg_first_response_s: float | None = Field(
        description="Mean of first agent message - queued time, over `first_responses`"
    )


# The identity comes first in JSON: pydantic lays out the fields of the last base first.
class QueueFigures(QueueChannelFigures, QueueIdentity):
    """A queue's figures over one interval or the whole period, and their split by channel."""

    by_channel: dict[Channel, QueueChannelFigures] = Field(description=_BY_CHANNEL)


class QueueInterval(QueueFigures):
    """A queue's figures over one 15-minute interval."""

    interval_start: datetime = Field(description="Start of the interval, in the report's zone")


class QueueReport(BaseModel):
    """Per queue and 15-minute interval (intervals without activity are left out)."""

    period: ReportPeriod
    channel: Channel | None = Field(description=_ONE_CHANNEL)
    intervals: list[QueueInterval]
    totals: list[QueueFigures] = Field(description="Each queue over the whole period")


class AgentIdentity(BaseModel):
    """Which agent a line of figures is about."""

    agent_id: str
    agent_name: str


class AgentChannelFigures(BaseModel):
    """An agent's figures over one interval or the whole period, on one channel or all."""

    answered: int = Field(
        description="Offers the agent accepted (calls: that connected, when they connected)"
    )
    handled: int = Field(description="Interactions the agent completed (wrap-up ended)")
    handle_s: float = Field(description="Total handle time of those completed")
    aht_s: float | None = Field(description="Mean handle time of those completed")


class AgentFigures(AgentChannelFigures, AgentIdentity):
    """An agent's figures over one interval or the whole period, and their split by channel."""

    by_channel: dict[Channel, AgentChannelFigures] = Field(description=_BY_CHANNEL)


class AgentInterval(AgentFigures):
    """An agent's figures over one 15-minute interval."""

    interval_start: datetime


class AgentReport(BaseModel):
    """Per agent and 15-minute interval; occupancy is not reported (see docs/reports.md)."""

    period: ReportPeriod
    channel: Channel | None = Field(description=_ONE_CHANNEL)
    intervals: list[AgentInterval]
    totals: list[AgentFigures]


class DispositionFigures(BaseModel):
    """How often a disposition ("service taken") was recorded, in one queue or in all."""

    queue_id: str | None = Field(description="None on the all-queues totals")
    queue_name: str | None
    disposition_id: str
    code: str
    label: str
    count: int


class DispositionReport(BaseModel):
    """Dispositions recorded in the period, per queue, and over all queues."""

    period: ReportPeriod
    channel: Channel | None = Field(description=_ONE_CHANNEL)
    rows: list[DispositionFigures]
    totals: list[DispositionFigures]


class SatisfactionFigures(BaseModel):
    """Ratings (1-5) given to one queue's or agent's interactions that ended in the period."""

    id: str | None = Field(description="Queue or agent id; None for no queue/agent")
    name: str
    count: int
    average: float | None
    distribution: dict[str, int] = Field(description='Count per rating, "1" to "5"')


class SatisfactionReport(BaseModel):
    """Satisfaction per queue (or per agent with `by=agent`) and overall."""

    period: ReportPeriod
    channel: Channel | None = Field(description=_ONE_CHANNEL)
    by: str
    rows: list[SatisfactionFigures]
    overall: SatisfactionFigures


class TopicTrend(BaseModel):
    """One topic's count per local day of the period."""

    topic: str
    total: int
    counts: list[int] = Field(description="One count per entry of `days`")


class TopicReport(BaseModel):
    """The most frequent topics of interactions created in the period, day by day."""

    period: ReportPeriod
    channel: Channel | None = Field(description=_ONE_CHANNEL)
    days: list[date]
    topics: list[TopicTrend]
