"""HTTP routes of historical reports, as JSON or as CSV downloads (`format=csv`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from app import clock
from app.api.problems import problems
from app.auth.dependencies import require_roles
from app.auth.principals import Principal, Role
from app.db.dependencies import SessionDep
from app.reports import export, service
from app.reports.periods import MAX_DAYS, Period, parse_period
from app.reports.schemas import (
    AgentReport,
    DispositionReport,
    QueueReport,
    SatisfactionReport,
    TopicReport,
)
from app.routing.model import Channel

router = APIRouter(prefix="/reports", tags=["reports"])
Reader = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR, Role.INTEGRATOR))]

_CSV = {"content": {export.CSV_MEDIA_TYPE: {}}, "description": "The report (JSON or CSV)"}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: _CSV,
    **problems(
        401,
        described={403: "Only admins, supervisors and integrators", 422: "A bad parameter, named"},
    ),
}


async def get_period(
    from_: Annotated[
        str | None,
        Query(
            alias="from",
            max_length=40,
            description="First day (2026-11-01) or instant; default today in `tz`",
        ),
    ] = None,
    to: Annotated[
        str | None,
        Query(
            max_length=40,
            description=f"Last day, included, or instant, excluded; at most {MAX_DAYS} days",
        ),
    ] = None,
    tz: Annotated[
        str, Query(max_length=64, description="IANA zone of days and labels, e.g. America/Chicago")
    ] = "UTC",
) -> Period:
    """The period of a report, from the `from`, `to` and `tz` query parameters."""
    return parse_period(from_, to, tz, now=clock.utcnow())


PeriodDep = Annotated[Period, Depends(get_period)]
Format = Annotated[
    Literal["json", "csv"] | None,
    Query(alias="format", description="csv for a download; or send Accept: text/csv"),
]
AcceptHeader = Annotated[str | None, Header(alias="Accept", include_in_schema=False)]
QueueFilter = Annotated[uuid.UUID | None, Query(description="Only this queue")]
AgentFilter = Annotated[uuid.UUID | None, Query(description="Only this agent")]
ChannelFilter = Annotated[
    Channel | None, Query(description="Only this channel (chat, voice, video, email, ...)")
]


def _wants_csv(format_: str | None, accept: str | None) -> bool:
    if format_ is not None:
        return format_ == "csv"
    return accept is not None and "text/csv" in accept


def _json(report: BaseModel) -> JSONResponse:
    return JSONResponse(report.model_dump(mode="json"))


@router.get(
    "/queues", response_model=QueueReport, summary="Queues by interval", responses=_RESPONSES
)
async def get_queue_report(
    session: SessionDep,
    principal: Reader,
    period: PeriodDep,
    queue_id: QueueFilter = None,
    channel: ChannelFilter = None,
    format_: Format = None,
    accept: AcceptHeader = None,
) -> Response:
    """Each queue's 15-minute intervals: arrivals, answers (within the threshold),
    abandons (after it), service level, ASA, abandon rate, AHT and first response,
    each split by channel. A voice or video call is answered when it connects."""
    report = await service.queue_report(session, period, queue_id=queue_id, channel=channel)
    if _wants_csv(format_, accept):
        return export.csv_response(
            "queues", period, export.QUEUE_COLUMNS, export.queue_rows(report)
        )
    return _json(report)


@router.get(
    "/agents", response_model=AgentReport, summary="Agents by interval", responses=_RESPONSES
)
async def get_agent_report(
    session: SessionDep,
    principal: Reader,
    period: PeriodDep,
    agent_id: AgentFilter = None,
    channel: ChannelFilter = None,
    format_: Format = None,
    accept: AcceptHeader = None,
) -> Response:
    """Each agent's 15-minute intervals: offers answered, interactions handled, handle time,
    each split by channel."""
    report = await service.agent_report(session, period, agent_id=agent_id, channel=channel)
    if _wants_csv(format_, accept):
        return export.csv_response(
            "agents", period, export.AGENT_COLUMNS, export.agent_rows(report)
        )
    return _json(report)


@router.get(
    "/dispositions",
    response_model=DispositionReport,
    summary="Dispositions (services taken)",
    responses=_RESPONSES,
)
async def get_disposition_report(
    session: SessionDep,
    principal: Reader,
    period: PeriodDep,
    queue_id: QueueFilter = None,
    channel: ChannelFilter = None,
    format_: Format = None,
    accept: AcceptHeader = None,
) -> Response:
    """How often each disposition was recorded at wrap-up in the period, per queue."""
    report = await service.disposition_report(session, period, queue_id=queue_id, channel=channel)
    if _wants_csv(format_, accept):
        rows = export.disposition_rows(report)
        return export.csv_response("dispositions", period, export.DISPOSITION_COLUMNS, rows)
    return _json(report)


@router.get(
    "/satisfaction",
    response_model=SatisfactionReport,
    summary="Satisfaction",
    responses=_RESPONSES,
)
async def get_satisfaction_report(
    session: SessionDep,
    principal: Reader,
    period: PeriodDep,
    by: Annotated[
        Literal["queue", "agent"], Query(description="Group by queue or by agent")
    ] = "queue",
    queue_id: QueueFilter = None,
    agent_id: AgentFilter = None,
    channel: ChannelFilter = None,
    format_: Format = None,
    accept: AcceptHeader = None,
) -> Response:
    """Ratings of interactions that ended in the period: count, average and 1-5 distribution."""
    report = await service.satisfaction_report(
        session,
        period,
        by_agent=by == "agent",
        queue_id=queue_id,
        agent_id=agent_id,
        channel=channel,
    )
    if _wants_csv(format_, accept):
        rows = export.satisfaction_rows(report)
        return export.csv_response(
            f"satisfaction-by-{by}", period, export.SATISFACTION_COLUMNS, rows
        )
    return _json(report)


@router.get(
    "/topics", response_model=TopicReport, summary="Top topics by day", responses=_RESPONSES
)
async def get_topic_report(
    session: SessionDep,
    principal: Reader,
    period: PeriodDep,
    queue_id: QueueFilter = None,
    channel: ChannelFilter = None,
    limit: Annotated[int, Query(ge=1, le=50, description="How many topics")] = 10,
    format_: Format = None,
    accept: AcceptHeader = None,
) -> Response:
    """The most frequent topics of interactions created in the period, counted per day."""
    report = await service.topic_report(
        session, period, queue_id=queue_id, channel=channel, limit=limit
    )
    if _wants_csv(format_, accept):
        return export.csv_response(
            "topics", period, export.TOPIC_COLUMNS, export.topic_rows(report)
        )
    return _json(report)
