"""Place in line for every waiting chat this process serves, asked of the writer in one go.

Rather than each waiting claimant's socket asking the routing writer on its own, one task
per process asks for all of them every couple of seconds and hands each listener its place
as a `place` frame; the socket passes it on when it changed.
"""

from __future__ import annotations

import logging
import uuid

from app.realtime.hub import Listener
from app.runtime.service import RoutingService

logger = logging.getLogger(__name__)

REFRESH_EVERY_S = 2.0


class PlaceTracker:
    """Pushes `{"type": "place", "position", "estimated_wait_s"}` to watching listeners."""

    def __init__(self, routing: RoutingService) -> None:
        self._routing = routing
        self._watchers: dict[uuid.UUID, set[Listener]] = {}

    def watch(self, interaction_id: uuid.UUID, listener: Listener) -> None:
        """Send `listener` the place of `interaction_id` while it waits."""
        self._watchers.setdefault(interaction_id, set()).add(listener)

    def unwatch(self, interaction_id: uuid.UUID, listener: Listener) -> None:
        """Stop sending it."""
        listeners = self._watchers.get(interaction_id)
        if listeners is None:
            return
        listeners.discard(listener)
        if not listeners:
            del self._watchers[interaction_id]

    async def refresh(self) -> None:
        """Ask the writer once for every watched interaction and hand out the answers."""
        if not self._watchers:
            return
        try:
            places = await self._routing.places(list(self._watchers))
        except Exception as exc:
            # The writer may be failing over: the next round asks again.
            logger.debug("chat places not refreshed: %s", exc)
            return
        for interaction_id, listeners in list(self._watchers.items()):
            position, wait_s = places.get(interaction_id, (None, None))
            frame = {
                "type": "place",
                "interaction_id": str(interaction_id),
                "position": position,
                "estimated_wait_s": None if wait_s is None else round(wait_s, 1),
            }
            for listener in list(listeners):
                listener.offer(frame)
