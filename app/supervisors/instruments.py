"""Prometheus instruments measured as things happen, and the hooks that feed them.

Kept apart from `metrics` (which reads the app's resources at scrape time) so that the
routing writer and the webhook dispatcher can import the hooks without import cycles: this
module depends only on prometheus_client and the routing core's events.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram

from app.routing import events as e

# Interactions whose queueing time is remembered until their first offer (bounded).
_PENDING_LIMIT = 100_000

PROCESS_REGISTRY = CollectorRegistry(auto_describe=True)
ROUTING_DECISION_SECONDS = Histogram(
    "switchboard_routing_decision_seconds",
    "Wall time the routing engine took to apply one request (command) in the writer",
    buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5),
    registry=PROCESS_REGISTRY,
)
OFFER_LATENCY_SECONDS = Histogram(
    "switchboard_offer_latency_seconds",
    "Seconds from an interaction entering a queue (arrival or transfer) to its first offer",
    buckets=(0.005, 0.05, 0.25, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
    registry=PROCESS_REGISTRY,
)
WEBHOOK_ATTEMPTS = Counter(
    "switchboard_webhook_attempts",
    "Webhook delivery attempts by outcome: delivered, retry (will be tried again), dead",
    ["outcome"],
    registry=PROCESS_REGISTRY,
)
_queued_at: OrderedDict[str, float] = OrderedDict()


def record_routing_batch(*, apply_s: float, requests: int, events: Iterable[object]) -> None:
    """Hook for the routing writer, once per applied batch: `apply_s` is the wall time the
    engine took for its `requests`; `events` are what they produced."""
    if requests > 0:
        per_request = apply_s / requests
        for _ in range(requests):
            ROUTING_DECISION_SECONDS.observe(per_request)
    for event in events:
        if isinstance(event, e.InteractionQueued):
            _queued_at[event.interaction_id] = event.at
            _queued_at.move_to_end(event.interaction_id)
            if len(_queued_at) > _PENDING_LIMIT:
                _queued_at.popitem(last=False)
        elif isinstance(event, e.InteractionOffered):
            queued = _queued_at.pop(event.interaction_id, None)
            if queued is not None:
                OFFER_LATENCY_SECONDS.observe(max(0.0, event.at - queued))
        elif isinstance(event, e.InteractionAbandoned | e.InteractionCancelled):
            _queued_at.pop(event.interaction_id, None)


def record_webhook_attempt(outcome: str) -> None:
    """Hook for the webhook dispatcher after each attempt: delivered, retry or dead."""
    WEBHOOK_ATTEMPTS.labels(outcome=outcome).inc()
