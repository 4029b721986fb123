"""Prometheus metrics: `GET /metrics` in the text exposition format.

Two kinds of figures:

* measured as things happen, in this process (`app.supervisors.instruments`, fed by the
  `record_*` hooks that the routing writer and the webhook dispatcher call);
* read at scrape time: queue gauges from the live board's snapshot (reused if under a
  second old), websocket counts from the hub, webhook deliveries by status from the database.

Every process answers for itself; scrape each one (see docs/supervisor.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from app.errors import AppError
from app.routing.model import AgentState
from app.state import Resources
from app.supervisors import repository
from app.supervisors.instruments import PROCESS_REGISTRY

logger = logging.getLogger(__name__)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Scrape(Collector):
    """The figures read at scrape time, plus this process's measured ones."""

    def __init__(
        self,
        snapshot: Mapping[str, Any],
        sockets: Mapping[str, int],
        deliveries: Mapping[str, int],
    ) -> None:
        self._snapshot = snapshot
        self._sockets = sockets
        self._deliveries = deliveries

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "switchboard_live_view_up", "1 when the queue and agent figures below could be read"
        )
        up.add_metric([], 1 if self._snapshot else 0)
        yield up
        yield from _queue_metrics(self._snapshot.get("queues", []))
        yield _agents_by_state(self._snapshot.get("agents_by_state", {}))
        alerts = GaugeMetricFamily(
            "switchboard_queue_alerts",
            "Alerts raised now, by queue and kind",
            labels=["queue_id", "queue", "code"],
        )
        for alert in self._snapshot.get("alerts", []):
            alerts.add_metric([str(alert["queue_id"]), alert["queue"], alert["code"]], 1)
        yield alerts
        sockets = GaugeMetricFamily(
            "switchboard_websockets", "Open websockets in this process, by kind", labels=["kind"]
        )
        for kind in ("agent", "claimant", "supervisor"):
            sockets.add_metric([kind], self._sockets.get(kind, 0))
        yield sockets
        deliveries = GaugeMetricFamily(
            "switchboard_webhook_deliveries",
            "Webhook deliveries stored, by status (pending includes retries)",
            labels=["status"],
        )
        for status in ("pending", "delivered", "dead"):
            deliveries.add_metric([status], self._deliveries.get(status, 0))
        yield deliveries
        yield from PROCESS_REGISTRY.collect()


def _queue_metrics(queues: Sequence[Mapping[str, Any]]) -> Iterator[Metric]:
    labels = ["queue_id", "queue"]
    families = {
        "waiting": GaugeMetricFamily(
            "switchboard_queue_waiting", "Interactions waiting in the queue now", labels=labels
        ),
        "offering": GaugeMetricFamily(
            "switchboard_queue_offered",
            "Interactions offered to an agent, not yet accepted",
            labels=labels,
        ),
        "oldest_wait_s": GaugeMetricFamily(
            "switchboard_queue_oldest_wait_seconds",
            "Wait of the oldest waiting interaction",
            labels=labels,
        ),
        "eligible_agents": GaugeMetricFamily(
            "switchboard_queue_agents_signed_in",
            "Signed-in agents able to serve the queue",
            labels=labels,
        ),
        "available_agents": GaugeMetricFamily(
            "switchboard_queue_agents_available",
            "Available agents able to serve the queue",
            labels=labels,
        ),
    }
    level = GaugeMetricFamily(
        "switchboard_queue_service_level",
        "Service level over the last 30 minutes (absent when nothing was answered or abandoned)",
        labels=labels,
    )
    for queue in queues:
        values = [str(queue["queue_id"]), str(queue["name"])]
        for key, family in families.items():
            family.add_metric(values, float(queue.get(key) or 0))
        recent = queue["last_30_min"]["service_level"]
        if recent is not None:
            level.add_metric(values, float(recent))
    yield from families.values()
    yield level


def _agents_by_state(counts: Mapping[str, int]) -> Metric:
    family = GaugeMetricFamily("switchboard_agents", "Agents by presence state", labels=["state"])
    for state in AgentState:
        family.add_metric([state.value], counts.get(state.value, 0))
    return family


def socket_counts(resources: Resources) -> dict[str, int]:
    """Open websockets of this process by kind (agent, claimant, supervisor)."""
    return resources.hub.open_sockets()


async def render(resources: Resources) -> bytes:
    """The exposition text of every metric, as of now."""
    # A scrape still answers (with what this process measured) while the writer or the
    # database is away; `switchboard_live_view_up` says whether the rest is there.
    snapshot: Mapping[str, Any] = {}
    deliveries: dict[str, int] = {}
    try:
        snapshot = await resources.live.current()
        async with resources.read_sessions() as session:
            deliveries = await repository.webhook_deliveries_by_status(session)
    except (AppError, SQLAlchemyError, OSError, TimeoutError) as exc:
        logger.warning("metrics: live figures unavailable: %s", exc)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Scrape(snapshot, socket_counts(resources), deliveries))
    return generate_latest(registry)


metrics_router = APIRouter(include_in_schema=False)


@metrics_router.get("/metrics")
async def get_metrics(request: Request) -> Response:
    """Prometheus scrape endpoint (no authentication; switch off with METRICS_ENABLED=false)."""
    resources: Resources = request.app.state.resources
    return Response(await render(resources), media_type=CONTENT_TYPE)
