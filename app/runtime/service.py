"""`RoutingService`: how the edges (HTTP, websockets) reach the one writer.

Every method returns only once the change is applied and stored; refusals by the engine and
failures to store come back as `AppError`s ready for problem+json.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.realtime.bus import Bus
from app.routing import commands as c
from app.routing.engine import Engine
from app.routing.errors import RoutingError
from app.routing.model import QueueId
from app.runtime import recovery
from app.runtime.errors import to_app_error
from app.runtime.persistence import NewInteraction, StoredEvent
from app.runtime.worker import (
    ConfigLoader,
    Outcome,
    Publisher,
    ResponseBuilder,
    RoutingWorker,
    StorageError,
    WorkerStoppedError,
)
from app.webhooks.dispatcher import WebhookDispatcher
from app.webhooks.outbox import OutboundEvent, enqueue_deliveries

logger = logging.getLogger(__name__)
ALL_EVENTS_CHANNEL = "events"


class RoutingService:
    """Submit work to the routing writer and wait until it is applied and stored."""

    def __init__(self, worker: RoutingWorker) -> None:
        self._worker = worker

    @property
    def engine(self) -> Engine:
        """The engine, for read-only queries (positions, snapshots); never mutate it."""
        return self._worker.engine

    @property
    def running(self) -> bool:
        """True while the writer takes requests."""
        return self._worker.running

    def resolve_queue(self, reference: str) -> tuple[QueueId, str] | None:
        """(id, name) of the routable queue with this id or exact name, or None."""
        by_id = self._worker.queue_names_by_id
        name = by_id.get(QueueId(reference))
        if name is not None:
            return QueueId(reference), name
        queue_id = self._worker.queue_ids_by_name.get(reference)
        return (queue_id, reference) if queue_id is not None else None

    @property
    def status(self) -> str:
        """`ok`, or why the writer refuses requests now."""
        return self._worker.status

    async def execute(self, command: c.Command) -> Outcome:
        """Apply one command once stored."""
        return await self._submit(command)

    async def create_interaction(
        self, arrive: c.Arrive, new: NewInteraction, build_response: ResponseBuilder
    ) -> Outcome:
        """Store a new interaction and route it, in one step; the response is built in between."""
        return await self._submit(arrive, new_interaction=new, build_response=build_response)

    async def reload_queue(self, queue_id: uuid.UUID) -> None:
        """Re-read a queue's committed configuration into the engine (or drop it if inactive)."""
        await self._submit(None, load_config=lambda s: recovery.queue_commands(s, queue_id))

    async def reload_agent(self, staff_id: uuid.UUID) -> None:
        """Re-read an agent's committed skills and capacity (a deactivated agent goes offline)."""
        await self._submit(
            None,
            load_config=lambda s: recovery.agent_commands(s, staff_id, engine=self.engine),
        )

    async def sweep(self) -> None:
        """Compare the engine with the database now and repair what drifted."""
        try:
            await self._worker.sweep()
        except (StorageError, WorkerStoppedError) as exc:
            raise to_app_error(exc) from None

    async def _submit(
        self,
        command: c.Command | None,
        *,
        new_interaction: NewInteraction | None = None,
        build_response: ResponseBuilder | None = None,
        load_config: ConfigLoader | None = None,
    ) -> Outcome:
        try:
            return await self._worker.submit(
                command,
                new_interaction=new_interaction,
                build_response=build_response,
                load_config=load_config,
            )
        except (RoutingError, StorageError, WorkerStoppedError) as exc:
            raise to_app_error(exc) from None


async def write_outbox(session: AsyncSession, stored: Sequence[StoredEvent]) -> None:
    """Queue the webhook deliveries of a batch in the batch's own transaction."""
    await enqueue_deliveries(
        session,
        [OutboundEvent(event.id, event.type, event.occurred_at, event.data) for event in stored],
    )


def bus_publisher(bus: Bus, webhooks: WebhookDispatcher | None = None) -> Publisher:
    """Publish each stored event on `events` and on its interaction's and agent's channels.

    The webhook dispatcher is woken too: the batch's deliveries are committed by now.
    """

    async def publish(stored: Sequence[StoredEvent]) -> None:
        if webhooks is not None and stored:
            webhooks.notify()
        for event in stored:
            payload = json.dumps(
                {
                    "id": str(event.id),
                    "type": event.type,
                    "occurred_at": event.occurred_at.isoformat(),
                    "data": event.data,
                }
            ).encode()
            await bus.publish(ALL_EVENTS_CHANNEL, payload)
            if event.interaction_id is not None:
                await bus.publish(f"interaction.{event.interaction_id}", payload)
            if event.agent_id is not None:
                await bus.publish(f"agent.{event.agent_id}", payload)

    return publish
