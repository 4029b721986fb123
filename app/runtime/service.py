"""`RoutingService`: how the edges (HTTP, websockets) reach the one writer, wherever it runs.

Every change returns only once it is applied and stored; refusals by the engine and failures
to store come back as `AppError`s ready for problem+json. Reads of the engine's live state
(places in line, presence, statistics) are questions to the writer too.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import json_codec
from app.calls.webhooks import with_telephony_details
from app.realtime.bus import Bus
from app.routing import commands as c
from app.routing.model import AgentId, QueueId
from app.runtime import reads
from app.runtime.host import error_of
from app.runtime.node import RoutingNode
from app.runtime.persistence import NewInteraction, StoredEvent
from app.runtime.requests import (
    CreateInteraction,
    Execute,
    Query,
    ReloadAgent,
    ReloadQueue,
    Sweep,
    WriterRequest,
)
from app.runtime.worker import Publisher
from app.webhooks.outbox import OutboundEvent, enqueue_deliveries

ALL_EVENTS_CHANNEL = "events"


@dataclass(frozen=True, slots=True)
class Created:
    """The answer to a new interaction: the response, or why the engine refused it.

    `replayed`: the response is an earlier call's, found by the same Idempotency-Key.
    """

    response: dict[str, Any] | None
    refused: str | None
    replayed: bool = False


class RoutingService:
    """Submit work to the routing writer and wait until it is applied and stored."""

    def __init__(self, node: RoutingNode) -> None:
        self.node = node

    @property
    def role(self) -> str:
        """This process's part: `writer` or `standby`."""
        return self.node.role

    async def readiness(self) -> str:
        """`ok`, or why requests are refused right now."""
        return await self.node.readiness()

    async def execute(self, command: c.Command) -> None:
        """Apply one lifecycle or presence command once stored."""
        await self._call(Execute(command))

    async def create_interaction(self, arrive: c.Arrive, new: NewInteraction) -> Created:
        """Store a new interaction and route it, in one step."""
        result = await self._call(CreateInteraction(arrive, new))
        return Created(result["response"], result["refused"], bool(result.get("replayed")))

    async def reload_queue(self, queue_id: uuid.UUID) -> None:
        """Re-read a queue's committed configuration into the engine (or drop it if inactive)."""
        await self._call(ReloadQueue(queue_id))

    async def reload_agent(self, staff_id: uuid.UUID) -> None:
        """Re-read an agent's committed skills and capacity (a deactivated agent goes offline)."""
        await self._call(ReloadAgent(staff_id))

    async def sweep(self) -> None:
        """Compare the engine with the database now and repair what drifted."""
        await self._call(Sweep())

    async def resolve_queue(self, reference: str) -> tuple[QueueId, str] | None:
        """(id, name) of the routable queue with this id or exact name, or None."""
        found = await self._call(Query(reads.RESOLVE_QUEUE, {"reference": reference}))
        return None if found is None else (QueueId(found[0]), str(found[1]))

    async def places(
        self, interaction_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, tuple[int, float | None]]:
        """Place in line and estimated wait of those interactions still waiting."""
        if not interaction_ids:
            return {}
        found = await self._call(
            Query(reads.PLACES, {"ids": [str(one) for one in interaction_ids]})
        )
        return {uuid.UUID(key): (value[0], value[1]) for key, value in found.items()}

    async def holder(self, interaction_id: uuid.UUID) -> AgentId | None:
        """The agent holding or offered the interaction now, or None."""
        found = await self._call(Query(reads.HOLDER, {"id": str(interaction_id)}))
        return None if found is None else AgentId(found)

    async def presence(self, agent_id: uuid.UUID) -> dict[str, Any] | None:
        """An agent's presence and load (JSON), or None when the engine does not route to it."""
        found: dict[str, Any] | None = await self._call(
            Query(reads.PRESENCE, {"agent_id": str(agent_id)})
        )
        return found

    async def query(self, name: str, **args: Any) -> Any:
        """Any named read of `app.runtime.reads`."""
        return await self._call(Query(name, args))

    async def _call(self, request: WriterRequest) -> Any:
        reply = await self.node.call(request)
        if reply.error is not None:
            raise error_of(reply.error)
        return reply.result


async def write_outbox(session: AsyncSession, stored: Sequence[StoredEvent]) -> int:
    """Queue the webhook deliveries of a batch in the batch's own transaction; how many."""
    events = [OutboundEvent(one.id, one.type, one.occurred_at, one.data) for one in stored]
    # An accepted call tells the telephony platform where to bridge it.
    return await enqueue_deliveries(session, events, enrich=with_telephony_details)


def bus_publisher(bus: Bus) -> Publisher:
    """Publish each stored event on `events` and on its interaction's and agent's channels."""

    async def publish(stored: Sequence[StoredEvent]) -> None:
        messages: list[tuple[str, bytes]] = []
        for event in stored:
            payload = json_codec.dumps(
                {
                    "id": str(event.id),
                    "type": event.type,
                    "occurred_at": event.occurred_at.isoformat(),
                    "data": event.data,
                }
            )
            messages.append((ALL_EVENTS_CHANNEL, payload))
            if event.interaction_id is not None:
                messages.append((f"interaction.{event.interaction_id}", payload))
            if event.agent_id is not None:
                messages.append((f"agent.{event.agent_id}", payload))
        # One round trip for the whole batch: the writer waits for it before answering.
        await bus.publish_many(messages)

    return publish
