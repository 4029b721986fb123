"""Stopping background tasks without hanging, and without swallowing our own cancellation."""

from __future__ import annotations

import asyncio
import logging

logger = logging.getLogger(__name__)

# A task that ignores its cancellation this long (stuck in a driver's cleanup) is left
# behind rather than allowed to block a step-down or a shutdown.
STOP_TIMEOUT_S = 5.0


async def cancel_and_wait(
    task: asyncio.Task[object] | None, timeout_s: float = STOP_TIMEOUT_S
) -> None:
    """Cancel `task` and wait for it to end, at most `timeout_s`.

    `asyncio.wait` neither raises the task's own result nor hides a cancellation of the
    caller, unlike `suppress(CancelledError)` around `await task`, which would swallow a
    cancellation meant for the caller too.
    """
    if task is None or task.done():
        return
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=timeout_s)
    if not done:
        logger.warning("task %s did not stop within %gs; leaving it", task.get_name(), timeout_s)
        return
    if not task.cancelled() and task.exception() is not None:
        logger.warning("task %s ended with %r", task.get_name(), task.exception())
