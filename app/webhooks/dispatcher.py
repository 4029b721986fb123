"""`WebhookDispatcher`: sends the outbox's due deliveries, signed, and reschedules failures.

It runs as one background task per process. Each round it leases a batch of due rows
(`FOR UPDATE SKIP LOCKED` on PostgreSQL, so any number of processes can run it), sends
each as its own task with a total time limit, and stores the outcome in a short
transaction of its own. Nothing here runs inside, or waits for, the routing service's
transaction: `enqueue_deliveries` only writes rows and `notify()` only sets an event.

Delivery is at least once: a lease (`next_attempt_at` moved `lease_s` ahead) hides a
claimed row, so if its sender dies the row becomes due again and is sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import random
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import __version__, clock
from app.supervisors.instruments import record_webhook_attempt
from app.webhooks import repository
from app.webhooks.models import DeliveryStatus
from app.webhooks.repository import ClaimedDelivery
from app.webhooks.signing import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    signature_header,
    verify_signature,
)
from app.webhooks.targets import GuardedTransport, TargetPolicy

__all__ = ["AttemptOutcome", "RetryPolicy", "WebhookDispatcher", "verify_signature"]

logger = logging.getLogger(__name__)
# How an attempt ended, as the webhook-attempts counter tells it.
ATTEMPT_OUTCOMES = {DeliveryStatus.DELIVERED: "delivered", DeliveryStatus.DEAD: "dead"}

MAX_ERROR_LENGTH = 500
MAX_ERROR_PAUSE_S = 30.0
RESPONSE_SNIPPET_BYTES = 200


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential back-off with jitter: `base · 2^(n-1)` capped, dead after `max_attempts`."""

    base_delay_s: float = 10.0
    max_delay_s: float = 3600.0
    max_attempts: int = 15

    def delay_s(self, attempts: int, jitter: float) -> float:
        """The wait after the `attempts`-th failure; `jitter` in [0, 1) picks within 50-100%."""
        exponent = min(max(attempts - 1, 0), 32)
        capped = min(self.max_delay_s, self.base_delay_s * 2.0**exponent)
        # Spreads the retries of many deliveries that failed together (an endpoint outage).
        return capped * (0.5 + jitter / 2)

    def gives_up(self, attempts: int) -> bool:
        """Whether a delivery that has failed `attempts` times is dead."""
        return attempts >= self.max_attempts


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    """What one POST came to: the status code if any answer came, an error if it failed."""

    status_code: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        """A 2xx answer, and only that, counts as delivered."""
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True, slots=True)
class NextStep:
    """How a delivery's row changes after an attempt."""

    status: DeliveryStatus
    next_attempt_at: datetime | None
    delivered_at: datetime | None


def plan_next_step(
    attempts: int, outcome: AttemptOutcome, *, now: datetime, policy: RetryPolicy, jitter: float
) -> NextStep:
    """Delivered, retried later, or dead: decided from the outcome and the time given."""
    if outcome.delivered:
        return NextStep(DeliveryStatus.DELIVERED, None, now)
    if policy.gives_up(attempts):
        return NextStep(DeliveryStatus.DEAD, None, None)
    delay = timedelta(seconds=policy.delay_s(attempts, jitter))
    return NextStep(DeliveryStatus.PENDING, now + delay, None)


def encode_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed) for a payload."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


class WebhookDispatcher:
    """Sends due webhook deliveries in the background; `notify()` wakes it at once."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        http: httpx.AsyncClient | None = None,
        retry: RetryPolicy | None = None,
        timeout_s: float = 5.0,
        concurrency: int = 16,
        per_subscription_limit: int = 4,
        batch_size: int = 50,
        lease_s: float = 60.0,
        poll_interval_s: float = 1.0,
        stop_timeout_s: float = 5.0,
        now: Callable[[], datetime] = clock.utcnow,
        jitter: Callable[[], float] = random.random,
        targets: TargetPolicy | None = None,
    ) -> None:
        if lease_s <= timeout_s:
            raise ValueError("lease_s must exceed timeout_s, or live attempts would be re-sent")
        self._sessions = sessions
        # Where deliveries may go: checked on every connection of the client made here.
        self.targets = targets or TargetPolicy()
        self._http = http
        self._owns_http = http is None
        self._retry = retry or RetryPolicy()
        self._timeout_s = timeout_s
        self._concurrency = concurrency
        self._per_subscription_limit = per_subscription_limit
        self._batch_size = batch_size
        self._lease = timedelta(seconds=lease_s)
        self._poll_interval_s = poll_interval_s
        self._stop_timeout_s = stop_timeout_s
        self._now = now
        self._jitter = jitter
        self._wake = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._busy: Counter[uuid.UUID] = Counter()

    async def start(self) -> None:
        """Start the background loop (idempotent)."""
        if self._loop_task is not None:
            return
        if self._http is None:
            limits = httpx.Limits(max_connections=self._concurrency)
            self._http = httpx.AsyncClient(
                transport=GuardedTransport(self.targets, limits=limits),
                follow_redirects=False,
                timeout=self._timeout_s,
                headers={"User-Agent": f"Switchboard-Webhooks/{__version__}"},
            )
        self._stopping = False
        self._stop_requested.clear()
        self._loop_task = asyncio.create_task(self._run(), name="webhook-dispatcher")

    def notify(self) -> None:
        """Look for due deliveries now (call after committing new ones); never blocks."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop claiming, let attempts in flight finish for up to `stop_timeout_s`, cancel the rest.

        A cancelled attempt keeps its lease and is sent again once the lease lapses.
        """
        if self._loop_task is None:
            return
        deadline = clock.monotonic_s() + self._stop_timeout_s
        self._stopping = True
        self._stop_requested.set()
        self._wake.set()
        await _finish_or_cancel({self._loop_task}, deadline)
        self._loop_task = None
        await _finish_or_cancel(set(self._in_flight), deadline)
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            self._wake.clear()
            try:
                claimed, asked = await self._dispatch_due()
            except Exception:
                failures += 1
                logger.exception("webhooks: claiming due deliveries failed (%s in a row)", failures)
                # Not woken by notify(): while the database is down, every commit would retry.
                await self._wait(self._stop_requested, self._error_pause_s(failures))
                continue
            failures = 0
            if asked and claimed == asked:
                continue  # a full batch: more may be due right away
            await self._wait(self._wake, self._poll_interval_s)

    def _error_pause_s(self, failures: int) -> float:
        return min(MAX_ERROR_PAUSE_S, self._poll_interval_s * 2.0 ** min(failures, 16))

    @staticmethod
    async def _wait(event: asyncio.Event, timeout_s: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout=timeout_s)

    async def _dispatch_due(self) -> tuple[int, int]:
        """Claim what fits in the free slots and start sending it: (claimed, asked for)."""
        limit = min(self._concurrency - len(self._in_flight), self._batch_size)
        if limit <= 0:
            return 0, 0
        saturated = [
            subscription_id
            for subscription_id, count in self._busy.items()
            if count >= self._per_subscription_limit
        ]
        now = self._now()
        # Woken after every routing batch, mostly with nothing to send: a read first, because
        # the claim is a write and on SQLite would queue for the routing writer's lock.
        async with self._sessions() as session:
            if not await repository.any_due_delivery(session, now=now):
                return 0, limit
        async with self._sessions() as session, session.begin():
            claimed = await repository.claim_due_deliveries(
                session,
                now=now,
                lease_until=now + self._lease,
                limit=limit,
                skip_subscriptions=saturated,
            )
            to_send, excess = self._split_by_subscription_limit(claimed)
            if excess:
                await repository.release_claims(session, excess, now=now)
        for delivery in to_send:
            self._start(delivery)
        return len(claimed), limit

    def _split_by_subscription_limit(
        self, claimed: Sequence[ClaimedDelivery]
    ) -> tuple[list[ClaimedDelivery], list[int]]:
        """The deliveries their subscription has room for, and the ids of the others."""
        room = Counter(
            {
                delivery.subscription_id: self._per_subscription_limit
                - self._busy[delivery.subscription_id]
                for delivery in claimed
            }
        )
        to_send: list[ClaimedDelivery] = []
        excess: list[int] = []
        for delivery in claimed:
            # One slow or failing endpoint must not take every slot from the others.
            if room[delivery.subscription_id] <= 0:
                excess.append(delivery.id)
                continue
            room[delivery.subscription_id] -= 1
            to_send.append(delivery)
        return to_send, excess

    def _start(self, delivery: ClaimedDelivery) -> None:
        self._busy[delivery.subscription_id] += 1
        task = asyncio.create_task(self._deliver(delivery), name=f"webhook-{delivery.id}")
        self._in_flight.add(task)
        task.add_done_callback(functools.partial(self._finished, delivery))

    def _finished(self, delivery: ClaimedDelivery, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._busy[delivery.subscription_id] -= 1
        if self._busy[delivery.subscription_id] <= 0:
            del self._busy[delivery.subscription_id]
        self._wake.set()

    async def _deliver(self, delivery: ClaimedDelivery) -> None:
        outcome = await self._attempt(delivery)
        step = plan_next_step(
            delivery.attempts,
            outcome,
            now=self._now(),
            policy=self._retry,
            jitter=self._jitter(),
        )
        try:
            async with self._sessions() as session, session.begin():
                await repository.finish_attempt(
                    session,
                    delivery,
                    status=step.status,
                    attempted_at=delivery.claimed_at,
                    next_attempt_at=step.next_attempt_at,
                    delivered_at=step.delivered_at,
                    last_status_code=outcome.status_code,
                    last_error=outcome.error,
                )
        except Exception:
            # The lease lapses and the delivery is sent again: at least once, never lost.
            logger.exception("webhooks: could not record the outcome of delivery %s", delivery.id)
            return
        record_webhook_attempt(ATTEMPT_OUTCOMES.get(step.status, "retry"))
        if step.status is DeliveryStatus.DEAD:
            logger.warning(
                "webhooks: delivery %s to %s is dead after %s attempts: %s",
                delivery.id,
                delivery.url,
                delivery.attempts,
                outcome.error,
            )

    async def _attempt(self, delivery: ClaimedDelivery) -> AttemptOutcome:
        """POST one delivery; never raises (every failure becomes an outcome)."""
        assert self._http is not None
        body = encode_body(delivery.payload)
        timestamp = int(self._now().timestamp())
        headers = {
            "Content-Type": "application/json",
            EVENT_ID_HEADER: str(delivery.event_id),
            EVENT_TYPE_HEADER: delivery.event_type,
            SIGNATURE_HEADER: signature_header(delivery.secret, timestamp, body),
        }
        try:
            # A total limit: httpx's own timeout is per read, which a slow drip never hits.
            async with (
                asyncio.timeout(self._timeout_s),
                self._http.stream(
                    "POST",
                    delivery.url,
                    content=body,
                    headers=headers,
                    timeout=self._timeout_s,
                    follow_redirects=False,
                ) as response,
            ):
                snippet = await _read_snippet(response)
        except (TimeoutError, httpx.TimeoutException):
            return AttemptOutcome(None, f"no answer within {self._timeout_s:g} s")
        except Exception as exc:  # connection refused, bad URL, TLS, protocol errors...
            return AttemptOutcome(None, _truncate(f"{type(exc).__name__}: {exc}"))
        if 200 <= response.status_code < 300:
            return AttemptOutcome(response.status_code, None)
        return AttemptOutcome(
            response.status_code, _truncate(f"HTTP {response.status_code}: {snippet}")
        )


async def _read_snippet(response: httpx.Response) -> str:
    """The start of the answer, for `last_error`; the rest is never read."""
    received = b""
    async for chunk in response.aiter_bytes():
        received += chunk
        if len(received) >= RESPONSE_SNIPPET_BYTES:
            break
    return received[:RESPONSE_SNIPPET_BYTES].decode(errors="replace").strip()


def _truncate(text: str) -> str:
    return text if len(text) <= MAX_ERROR_LENGTH else text[: MAX_ERROR_LENGTH - 1] + "…"


async def _finish_or_cancel(tasks: set[asyncio.Task[None]], deadline: float) -> None:
    if not tasks:
        return
    remaining = max(0.0, deadline - clock.monotonic_s())
    _, pending = await asyncio.wait(tasks, timeout=remaining)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
