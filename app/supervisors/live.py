"""The live board: one snapshot per tick per process, shared by every viewer.

While at least one dashboard watches, a single task builds a snapshot once a tick and hands
the same object to every viewer; with nobody watching it does not run at all. Each viewer
keeps only the newest snapshot, so a slow socket skips ticks instead of queueing them.
Other readers (the REST snapshot, /metrics) reuse the latest snapshot while it is fresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from app import clock
from app.runtime.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

TICK_S = 1.0
# Sparklines: one point every 30 s for the last hour.
HISTORY_STEP_S = 30.0
HISTORY_POINTS = 120

Snapshot = dict[str, Any]


class Viewer:
    """One dashboard's mailbox: the newest snapshot not yet taken, or None once closed."""

    def __init__(self) -> None:
        self._box: asyncio.Queue[Snapshot | None] = asyncio.Queue(maxsize=1)
        self.closed = False

    def offer(self, snapshot: Snapshot | None) -> None:
        """Replace whatever is waiting with `snapshot` (None: the board closed)."""
        with contextlib.suppress(asyncio.QueueEmpty):
            self._box.get_nowait()
        self._box.put_nowait(snapshot)

    async def next(self) -> Snapshot | None:
        """The next snapshot; None once the viewer or the board is closed."""
        if self.closed:
            return None
        found = await self._box.get()
        return None if self.closed else found

    def close(self) -> None:
        """Wake the reader with None."""
        self.closed = True
        self.offer(None)


class LiveBoard:
    """Builds snapshots with `build` once per tick while anyone watches; shares each one."""

    def __init__(
        self,
        build: Callable[[], Awaitable[Snapshot]] | None = None,
        *,
        tick_s: float = TICK_S,
        history_step_s: float = HISTORY_STEP_S,
        history_points: int = HISTORY_POINTS,
    ) -> None:
        self._build = build
        self._expire: Callable[[], None] | None = None
        self.tick_s = tick_s
        self._history_step_s = history_step_s
        self._history: deque[tuple[float, dict[str, Any]]] = deque(maxlen=history_points)
        self._viewers: set[Viewer] = set()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._latest: Snapshot | None = None
        self._latest_at = float("-inf")
        # How many snapshots were built: tests hold the board to one per tick.
        self.builds = 0

    def use(
        self, build: Callable[[], Awaitable[Snapshot]], expire: Callable[[], None] | None = None
    ) -> None:
        """Build snapshots with `build` (set once the process's resources exist); `expire`
        makes the next build re-read what it caches."""
        self._build = build
        self._expire = expire

    def expire_figures(self) -> None:
        """Have the next snapshot re-read its cached figures (a configuration changed)."""
        if self._expire is not None:
            self._expire()

    @property
    def viewer_count(self) -> int:
        """Dashboards watching in this process now."""
        return len(self._viewers)

    def watch(self) -> Viewer:
        """A new viewer; the first one starts the ticking."""
        viewer = Viewer()
        self._viewers.add(viewer)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._tick_forever(), name="supervisor-live")
        return viewer

    def leave(self, viewer: Viewer) -> None:
        """Stop handing snapshots to `viewer`; the last one to leave stops the ticking."""
        self._viewers.discard(viewer)
        viewer.close()

    async def current(self, max_age_s: float | None = None) -> Snapshot:
        """The latest snapshot if younger than `max_age_s` (default: a tick), else a new one."""
        limit = self.tick_s if max_age_s is None else max_age_s
        async with self._lock:
            if self._latest is not None and clock.monotonic_s() - self._latest_at < limit:
                return self._latest
            return await self._build_locked()

    def history(self) -> dict[str, Any]:
        """Points for sparklines: per queue, waiting, oldest wait and service level."""
        return {"step_s": self._history_step_s, "points": [point for _, point in self._history]}

    async def stop(self) -> None:
        """Close every viewer and stop ticking."""
        for viewer in list(self._viewers):
            self.leave(viewer)
        await cancel_and_wait(self._task)

    async def _tick_forever(self) -> None:
        failing = False
        while self._viewers:
            started = clock.monotonic_s()
            try:
                async with self._lock:
                    snapshot = await self._build_locked()
            except Exception as exc:
                # Viewers keep the last snapshot; its `at` tells them how old it is. Said once
                # per outage, not once a second.
                if not failing:
                    logger.warning("supervisor live view: cannot build a snapshot: %s", exc)
                failing = True
            else:
                failing = False
                for viewer in list(self._viewers):
                    viewer.offer(snapshot)
            elapsed = clock.monotonic_s() - started
            await asyncio.sleep(max(0.0, self.tick_s - elapsed))

    async def _build_locked(self) -> Snapshot:
        if self._build is None:
            raise RuntimeError("the live board has no snapshot builder yet")
        snapshot = await self._build()
        self.builds += 1
        self._latest, self._latest_at = snapshot, clock.monotonic_s()
        self._remember(snapshot)
        return snapshot

    def _remember(self, snapshot: Snapshot) -> None:
        if self._history and self._latest_at - self._history[-1][0] < self._history_step_s:
            return
        point = {
            "at": snapshot.get("at"),
            "queues": {
                queue["queue_id"]: {
                    "waiting": queue["waiting"],
                    "oldest_wait_s": queue["oldest_wait_s"],
                    "service_level": queue["last_30_min"]["service_level"],
                }
                for queue in snapshot.get("queues", [])
            },
        }
        self._history.append((self._latest_at, point))
