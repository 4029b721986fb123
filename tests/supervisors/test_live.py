"""The live board builds one snapshot per tick for every viewer, and none with no viewer."""

from __future__ import annotations

import asyncio
from typing import Any

from app.supervisors.live import LiveBoard, Viewer

TICK_S = 0.05


class CountingBuild:
    """A snapshot builder that counts its calls and numbers its snapshots."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        return {"n": self.calls, "at": None, "queues": []}


async def test_twenty_viewers_share_one_snapshot_per_tick() -> None:
    build = CountingBuild()
    board = LiveBoard(build, tick_s=TICK_S)
    viewers = [board.watch() for _ in range(20)]

    async def three(viewer: Viewer) -> list[dict[str, Any] | None]:
        return [await viewer.next() for _ in range(3)]

    received = await asyncio.gather(*(three(viewer) for viewer in viewers))
    await board.stop()
    # Every viewer got the very same snapshot objects; the builder ran once per tick.
    first = received[0]
    assert all(got == first for got in received)
    assert all(a is b for got in received for a, b in zip(got, first, strict=True))
    assert [snapshot["n"] for snapshot in first if snapshot] == [1, 2, 3]
    assert build.calls <= 4


async def test_nothing_is_built_while_nobody_watches() -> None:
    build = CountingBuild()
    board = LiveBoard(build, tick_s=TICK_S)
    await asyncio.sleep(TICK_S * 4)
    assert build.calls == 0
    viewer = board.watch()
    await viewer.next()
    board.leave(viewer)
    await asyncio.sleep(TICK_S * 3)
    settled = build.calls
    await asyncio.sleep(TICK_S * 4)
    assert build.calls == settled <= 2
    await board.stop()


async def test_a_slow_viewer_gets_the_newest_snapshot_not_a_backlog() -> None:
    build = CountingBuild()
    board = LiveBoard(build, tick_s=TICK_S)
    viewer = board.watch()
    await asyncio.sleep(TICK_S * 5)
    newest = await viewer.next()
    assert newest is not None
    assert newest["n"] >= 4
    await board.stop()


async def test_current_reuses_a_fresh_snapshot_and_rebuilds_a_stale_one() -> None:
    build = CountingBuild()
    board = LiveBoard(build, tick_s=TICK_S)
    first = await board.current(max_age_s=10)
    assert await board.current(max_age_s=10) is first
    await asyncio.sleep(0.01)
    assert (await board.current(max_age_s=0.001))["n"] == 2


async def test_history_keeps_one_point_per_step_and_is_bounded() -> None:
    build = CountingBuild()
    board = LiveBoard(build, tick_s=TICK_S, history_step_s=0.0, history_points=3)
    for _ in range(5):
        await board.current(max_age_s=0)
    history = board.history()
    assert len(history["points"]) == 3
