"""A chore run every few seconds in the background, e.g. only in the routing writer's process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from app.runtime.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

# How long stop() lets a run in progress finish before cancelling it.
STOP_GRACE_S = 5.0


class PeriodicTask:
    """Runs `job` every `every_s` seconds while `when()` is true; stops between runs.

    Stopping waits for a run in progress rather than cancelling it in the middle of a
    database transaction, which could leave a pooled connection unreturned.
    """

    def __init__(
        self,
        name: str,
        every_s: float,
        job: Callable[[], Awaitable[object]],
        when: Callable[[], bool] = lambda: True,
    ) -> None:
        self._name = name
        self._every_s = every_s
        self._job = job
        self._when = when
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start running in the background."""
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        """Stop after the run in progress, if any (cancelled if it takes too long)."""
        self._stopping.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), STOP_GRACE_S)
        except TimeoutError:
            await cancel_and_wait(self._task)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._every_s)
            if self._stopping.is_set() or not self._when():
                continue
            try:
                await self._job()
            except Exception:
                logger.warning(
                    "%s failed; trying again in %gs", self._name, self._every_s, exc_info=True
                )
