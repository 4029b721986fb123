"""The one writer: a single asyncio task that owns the engine.

It takes requests from a queue in batches (group commit), applies each to the engine at one
`now`, stores the whole batch in one transaction, and only then publishes the events and
answers the callers. Timers are the engine's `next_deadline()`, turned into `Tick` commands.
If storing fails, nobody is told yes: the callers get an error and the engine is rebuilt
from the database, which still holds exactly what was acknowledged before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import clock
from app.routing import commands as c
from app.routing import events as e
from app.routing.engine import Engine, is_implicit_queue
from app.routing.errors import RoutingError
from app.routing.model import QueueId
from app.runtime.fencing import FencedOutError, check_fence
from app.runtime.persistence import (
    BatchItem,
    IdempotencyRecord,
    NewInteraction,
    StoredEvent,
    applied_results,
    forget_applied_requests,
    persist_batch,
    refusal_reason,
    stored_idempotency_keys,
)
from app.runtime.sweep import reconcile
from app.runtime.tasks import cancel_and_wait
from app.supervisors.instruments import record_routing_batch

logger = logging.getLogger(__name__)

MAX_BATCH = 256
# A lost timer is caught by this upper bound on sleeping, whatever the engine says.
MAX_SLEEP_S = 1.0
# Re-deliveries come within seconds of a fail-over; a day is a wide margin.
APPLIED_REQUEST_TTL = timedelta(days=1)

ResponseBuilder = Callable[[Engine, list[e.Event]], dict[str, Any]]
# Reads committed configuration and returns the commands that put it in the engine.
ConfigLoader = Callable[[AsyncSession], Awaitable[list[c.Command]]]
Publisher = Callable[[Sequence[StoredEvent]], Awaitable[None]]
Rebuilder = Callable[[AsyncSession, float], Awaitable[tuple[Engine, list[c.Command]]]]
# Writes the webhook outbox rows for a batch, in the batch's own transaction; how many.
OutboxWriter = Callable[[AsyncSession, Sequence[StoredEvent]], Awaitable[int]]
# Writes what else follows from a batch's events, in the batch's own transaction.
ConsequenceWriter = Callable[[AsyncSession, Engine, Sequence[StoredEvent]], Awaitable[None]]


class StorageError(Exception):
    """The batch could not be stored; nothing in it was acknowledged."""


class WorkerStoppedError(Exception):
    """The worker is not running (shutting down or not the writer)."""


class IdempotencyConflictError(Exception):
    """An Idempotency-Key already used with another body, or in use by a request in flight."""

    def __init__(self, detail: str, *, in_flight: bool) -> None:
        super().__init__(detail)
        self.in_flight = in_flight


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one request did: its events, the response built right after applying it, and
    why the engine refused a new interaction, if it did.

    `replayed` outcomes were applied by an earlier request; nothing was applied this time.
    `key_replayed` ones answer a new call that repeated an earlier call's Idempotency-Key
    (rather than a re-delivery of the same call), which the caller is told.
    """

    events: list[e.Event]
    response: dict[str, Any] | None = None
    refused: str | None = None
    replayed: bool = False
    key_replayed: bool = False

    def result(self) -> dict[str, Any]:
        """The JSON answer for the caller (the same shape as a stored one)."""
        return {"response": self.response, "refused": self.refused, "replayed": self.key_replayed}


@dataclass(slots=True)
class _Request:
    command: c.Command | None
    future: asyncio.Future[Outcome]
    new_interaction: NewInteraction | None = None
    build_response: ResponseBuilder | None = None
    load_config: ConfigLoader | None = None
    # Repairs: a refused command is logged and skipped instead of failing the request.
    lenient: bool = False
    # Requests that may come again (re-delivered after a fail-over) are answered once stored.
    request_id: str | None = None
    commands: list[c.Command] = field(default_factory=list)


class RoutingWorker:
    """Owns the engine; everything that changes routing goes through `submit`."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        rebuild: Rebuilder,
        publish: Publisher,
        outbox: OutboxWriter | None = None,
        on_deliveries: Callable[[], None] | None = None,
        consequences: ConsequenceWriter | None = None,
        sweep_interval_s: float = 30.0,
        now: Callable[[], float] = clock.now_s,
        fence: int | None = None,
    ) -> None:
        self.engine = Engine()
        # With a lease (many processes), every transaction proves this writer is current.
        self.fence = fence
        self.fenced_out = False
        self._sessions = sessions
        self._rebuild = rebuild
        self._publish = publish
        self._outbox = outbox
        # Wakes the webhook dispatcher once a batch's deliveries are committed: only then,
        # so a service without subscribers does not read the outbox after every batch.
        self._on_deliveries = on_deliveries
        self._consequences = consequences
        self._now = now
        self._inbox: asyncio.Queue[_Request] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._sweep_task: asyncio.Task[None] | None = None
        self._sweep_interval_s = sweep_interval_s
        self._ready = False
        self._running = asyncio.Event()
        # Routable queues by name and id, so edges resolve "queue": "UI" without a query.
        self.queue_ids_by_name: dict[str, QueueId] = {}
        self.queue_names_by_id: dict[QueueId, str] = {}
        self.batches = 0
        self.commands_applied = 0

    @property
    def running(self) -> bool:
        """True while the loop runs on a rebuilt engine."""
        return self._ready and self._task is not None and not self._task.done()

    @property
    def status(self) -> str:
        """`ok`, or why requests are refused right now (for readiness checks)."""
        if self.running:
            return "ok"
        if self.fenced_out:
            return "stopped: a newer writer took over"
        if self._task is not None and not self._task.done():
            return "starting: rebuilding the engine from the database"
        return "stopped"

    async def start(self) -> None:
        """Rebuild the engine from the database, then start taking requests.

        When the database cannot be reached yet, the process still starts: the writer keeps
        retrying in the background and refuses requests (503) until it is ready.
        """
        self._ready = await self._try_recover()
        if self._ready:
            self._running.set()
        self._task = asyncio.create_task(self._run_when_ready(), name="routing-worker")
        self._sweep_task = asyncio.create_task(self._sweep_forever(), name="routing-sweep")

    async def stop(self) -> None:
        """Stop the loop; requests still waiting are refused."""
        await cancel_and_wait(self._sweep_task)
        self._sweep_task = None
        await cancel_and_wait(self._task)
        self._task = None
        while not self._inbox.empty():
            request = self._inbox.get_nowait()
            if not request.future.done():
                request.future.set_exception(WorkerStoppedError("the routing service stopped"))

    async def submit(
        self,
        command: c.Command | None,
        *,
        new_interaction: NewInteraction | None = None,
        build_response: ResponseBuilder | None = None,
        load_config: ConfigLoader | None = None,
        lenient: bool = False,
        request_id: str | None = None,
    ) -> Outcome:
        """Apply `command` (or the commands `load_config` reads) once stored; raise on refusal.

        A request with a `request_id` that was already applied is answered as it was then.
        """
        if not self.running:
            raise WorkerStoppedError(f"the routing service is not ready ({self.status})")
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        request = _Request(
            command, future, new_interaction, build_response, load_config, lenient, request_id
        )
        self._inbox.put_nowait(request)
        return await future

    async def _run_when_ready(self) -> None:
        if not self._ready:
            try:
                await self._recover_with_retry()
            except FencedOutError:
                return
            self._ready = True
            self._running.set()
        await self._run()

    async def wait_running(self) -> None:
        """Return once the engine is rebuilt and requests are taken."""
        await self._running.wait()

    async def _run(self) -> None:
        while True:
            batch = await self._next_batch()
            try:
                await self._process(batch)
            except asyncio.CancelledError:
                _fail(batch, WorkerStoppedError("the routing service stopped"))
                raise
            except FencedOutError:
                self._step_down(batch)
                return
            except Exception:
                logger.exception("routing batch failed; rebuilding the engine from the database")
                # Rebuild first where possible, so "nothing changed" is true when callers hear it.
                rebuilt = await self._try_recover()
                _fail(batch, StorageError("the routing service could not store the change"))
                if self.fenced_out:
                    return
                if not rebuilt:
                    try:
                        await self._recover_with_retry()
                    except FencedOutError:
                        return

    async def _next_batch(self) -> list[_Request]:
        timeout_s = self._sleep_s()
        try:
            first = await asyncio.wait_for(self._inbox.get(), timeout_s)
        except TimeoutError:
            return []
        batch = [first]
        while len(batch) < MAX_BATCH and not self._inbox.empty():
            batch.append(self._inbox.get_nowait())
        return batch

    def _read_clock(self) -> float:
        # The database keeps microseconds: an engine time finer than that would not survive
        # a restart unchanged.
        return round(self._now(), 6)

    def _sleep_s(self) -> float:
        deadline = self.engine.next_deadline()
        if deadline is None:
            return MAX_SLEEP_S
        return min(MAX_SLEEP_S, max(0.0, deadline - self._now()))

    def _step_down(self, batch: list[_Request]) -> None:
        logger.error("routing writer fenced out: a newer writer took over; stopping")
        self.fenced_out = True
        self._ready = False
        _fail(batch, WorkerStoppedError("this process is no longer the routing writer"))

    async def _process(self, batch: list[_Request]) -> None:
        async with self._sessions() as session:
            batch = await self._answer_repeats(session, batch)
            for request in batch:
                if request.load_config is not None:
                    request.commands = await request.load_config(session)
            now = self._read_clock()
            started_s = clock.monotonic_s()
            items, outcomes = self._apply(batch, now)
            timers = self._fire_timers(now)
            record_routing_batch(
                apply_s=clock.monotonic_s() - started_s,
                requests=len(batch),
                events=[event for item in items for event in item.events] + timers,
            )
            if timers:
                items.append(BatchItem(events=timers))
            if not any(item.events or item.new_interaction for item in items):
                _resolve(batch, outcomes)
                return
            stored, deliveries = await self._store(session, self.engine, items)
        self.batches += 1
        if deliveries and self._on_deliveries is not None:
            self._on_deliveries()
        await self._publish_safely(stored)
        _resolve(batch, outcomes)

    def _apply(
        self, batch: list[_Request], now: float
    ) -> tuple[list[BatchItem], list[Outcome | RoutingError]]:
        items: list[BatchItem] = []
        outcomes: list[Outcome | RoutingError] = []
        for request in batch:
            events, error = self._apply_request(request, now)
            if error is not None:
                # Commands applied before the refused one did change the engine: store them.
                items.append(BatchItem(events))
                outcomes.append(error)
                continue
            build = request.build_response
            response = build(self.engine, events) if build is not None else None
            items.append(BatchItem(events, request.new_interaction, response, request.request_id))
            outcomes.append(Outcome(events, response, refusal_reason(events)))
        return items, outcomes

    async def _answer_repeats(self, session: AsyncSession, batch: list[_Request]) -> list[_Request]:
        """Answer requests already applied (by request id or idempotency key); return the rest."""
        applied = await applied_results(
            session, [r.request_id for r in batch if r.request_id is not None]
        )
        records = [
            r.new_interaction.idempotency
            for r in batch
            if r.new_interaction is not None and r.new_interaction.idempotency is not None
        ]
        used = await stored_idempotency_keys(session, records)
        rest: list[_Request] = []
        in_batch: set[tuple[str, str]] = set()
        first_by_id: dict[str, _Request] = {}
        for request in batch:
            if request.request_id in applied:
                stored = applied[request.request_id]
                _settle(request, Outcome([], stored["response"], stored["refused"], replayed=True))
                continue
            if request.request_id is not None:
                first = first_by_id.setdefault(request.request_id, request)
                if first is not request:
                    # The same request twice in one batch: answered with the first one's result.
                    _follow(first.future, request.future)
                    continue
            record = request.new_interaction.idempotency if request.new_interaction else None
            if record is None:
                rest.append(request)
                continue
            key = (record.principal_id, record.key)
            earlier = used.get(key)
            if earlier is not None:
                _settle(request, _replay_idempotent(earlier.request_hash, earlier.response, record))
            elif key in in_batch:
                _settle(
                    request,
                    IdempotencyConflictError(
                        "A request with this Idempotency-Key is still being handled; retry.",
                        in_flight=True,
                    ),
                )
            else:
                in_batch.add(key)
                rest.append(request)
        return rest

    def _apply_request(
        self, request: _Request, now: float
    ) -> tuple[list[e.Event], RoutingError | None]:
        commands = list(request.commands)
        if request.command is not None:
            commands.append(request.command)
        events: list[e.Event] = []
        for command in commands:
            try:
                events.extend(self.engine.apply(command, now))
            except RoutingError as exc:
                if not request.lenient:
                    return events, exc
                logger.warning("skipped %s: %s", type(command).__name__, exc)
                continue
            self._track_queue_names(command)
            self.commands_applied += 1
        return events, None

    def _track_queue_names(self, command: c.Command) -> None:
        # Only configured queues can be named by callers; skill queues are the engine's own.
        if isinstance(command, c.UpsertQueue) and not is_implicit_queue(command.config.id):
            old = self.queue_names_by_id.get(command.config.id)
            if old is not None:
                self.queue_ids_by_name.pop(old, None)
            self.queue_names_by_id[command.config.id] = command.config.name
            self.queue_ids_by_name[command.config.name] = command.config.id
        elif isinstance(command, c.RemoveQueue):
            name = self.queue_names_by_id.pop(command.queue_id, None)
            if name is not None:
                self.queue_ids_by_name.pop(name, None)

    async def sweep(self) -> Outcome:
        """Compare the engine with the database now and apply the repairs."""
        return await self.submit(
            None,
            load_config=lambda session: reconcile(session, self.engine, self._now()),
            lenient=True,
        )

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_interval_s)
            try:
                await self.sweep()
                async with self._sessions() as session:
                    await forget_applied_requests(session, clock.utcnow() - APPLIED_REQUEST_TTL)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("the routing sweep failed; trying again next round")

    def _fire_timers(self, now: float) -> list[e.Event]:
        deadline = self.engine.next_deadline()
        if deadline is None or deadline > now:
            return []
        return self.engine.apply(c.Tick(), now)

    async def _store(
        self, session: AsyncSession, engine: Engine, items: Sequence[BatchItem]
    ) -> tuple[list[StoredEvent], int]:
        """Store the batch and its webhook deliveries in one transaction; (events, deliveries)."""
        if self.fence is not None:
            await check_fence(session, self.fence)
        stored = await persist_batch(session, engine, items)
        if self._consequences is not None:
            await self._consequences(session, engine, stored)
        deliveries = 0 if self._outbox is None else await self._outbox(session, stored)
        await session.commit()
        return stored, deliveries

    async def _publish_safely(self, stored: Sequence[StoredEvent]) -> None:
        try:
            await self._publish(stored)
        except Exception:
            # Stored is what counts; listeners catch up from the database.
            logger.exception("publishing %d routing events failed", len(stored))

    async def _recover(self) -> None:
        now = self._read_clock()
        async with self._sessions() as session:
            engine, restore = await self._rebuild(session, now)
            events: list[e.Event] = []
            self.queue_ids_by_name, self.queue_names_by_id = {}, {}
            for command in restore:
                try:
                    events.extend(engine.apply(command, now))
                except RoutingError as exc:
                    logger.warning("recovery skipped %s: %s", type(command).__name__, exc)
                    continue
                self._track_queue_names(command)
            events.extend(engine.apply(c.Tick(), now))
            self.engine = engine
            stored, deliveries = await self._store(session, engine, [BatchItem(events)])
        logger.info("routing engine rebuilt: %d events on recovery", len(events))
        if deliveries and self._on_deliveries is not None:
            self._on_deliveries()
        await self._publish_safely(stored)

    async def _try_recover(self) -> bool:
        try:
            await self._recover()
        except asyncio.CancelledError:
            raise
        except FencedOutError:
            self._step_down([])
            return False
        except Exception:
            logger.exception("rebuilding the engine failed")
            return False
        return True

    async def _recover_with_retry(self) -> None:
        delay_s = 0.5
        while True:
            if self.fenced_out:
                raise FencedOutError("a newer writer took over")
            try:
                await self._recover()
                return
            except asyncio.CancelledError:
                raise
            except FencedOutError:
                # Retrying cannot help: a newer writer holds a larger fence for good.
                self._step_down([])
                raise
            except Exception:
                logger.exception("rebuilding the engine failed; retrying in %.1fs", delay_s)
                await asyncio.sleep(delay_s)
                delay_s = min(delay_s * 2, 10.0)


def _resolve(batch: list[_Request], outcomes: list[Outcome | RoutingError]) -> None:
    for request, outcome in zip(batch, outcomes, strict=True):
        _settle(request, outcome)


def _settle(request: _Request, outcome: Outcome | Exception) -> None:
    if request.future.done():
        return
    if isinstance(outcome, Exception):
        request.future.set_exception(outcome)
    else:
        request.future.set_result(outcome)


def _follow(first: asyncio.Future[Outcome], repeat: asyncio.Future[Outcome]) -> None:
    def copy(done: asyncio.Future[Outcome]) -> None:
        if repeat.done():
            return
        if done.cancelled():
            repeat.cancel()
        elif (error := done.exception()) is not None:
            repeat.set_exception(error)
        else:
            outcome = done.result()
            repeat.set_result(Outcome([], outcome.response, outcome.refused, replayed=True))

    first.add_done_callback(copy)


def _replay_idempotent(
    stored_hash: str, stored_response: dict[str, Any], record: IdempotencyRecord
) -> Outcome | IdempotencyConflictError:
    if stored_hash != record.request_hash:
        return IdempotencyConflictError(
            "This Idempotency-Key was already used with a different request body.",
            in_flight=False,
        )
    return Outcome([], stored_response, replayed=True, key_replayed=True)


def _fail(batch: list[_Request], error: Exception) -> None:
    for request in batch:
        if not request.future.done():
            request.future.set_exception(error)
