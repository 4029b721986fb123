"""One bus subscription per process, fanned out to the websockets this process serves.

Every process hears every routing event (channel `events`) and every chat signal (channel
`chat`: messages, typing, read receipts, who connected) once, and hands each to the local
listeners of the interaction or agent it concerns. A websocket never holds a Redis
connection of its own, so thousands of sockets cost one subscription.

A listener may miss frames (the bus was lost for a moment, or it fell too far behind); it
then receives `RESYNC` and re-reads what it shows from the database, which is the truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, defaultdict, deque
from collections.abc import Iterable
from typing import Any, Final

from app import json_codec
from app.realtime.bus import Bus
from app.runtime.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

EVENTS_CHANNEL = "events"
CHAT_CHANNEL = "chat"
# Frames a slow socket may fall behind before it is told to resynchronise instead.
LISTENER_BUFFER = 1_000
RECONNECT_DELAY_S = 0.5


class _Resync:
    def __repr__(self) -> str:
        return "RESYNC"


class _Stopped:
    def __repr__(self) -> str:
        return "STOPPED"


RESYNC: Final = _Resync()
# What `get` answers once the listener was stopped: its reader should return.
STOPPED: Final = _Stopped()
Frame = dict[str, Any]


def interaction_key(interaction_id: str) -> str:
    """The listening key of one interaction."""
    return f"interaction:{interaction_id}"


def agent_key(agent_id: str) -> str:
    """The listening key of one agent."""
    return f"agent:{agent_id}"


class Listener:
    """What one socket hears: frames for its keys, in the order the bus delivered them.

    One task reads it (the socket's). Its frames wait in a plain deque with one future to wake
    that reader: an `asyncio.Queue` per socket cost 3 KB more and more time per frame."""

    def __init__(self, hub: Hub, keys: Iterable[str]) -> None:
        self._hub = hub
        self.keys: set[str] = set()
        self._frames: deque[Frame | _Resync | _Stopped] = deque()
        self._reader: asyncio.Future[None] | None = None
        self._behind = False
        self._stopped = False
        for key in keys:
            self.add(key)

    def add(self, key: str) -> None:
        """Also hear frames for `key`."""
        self.keys.add(key)
        self._hub._listeners[key].add(self)

    def discard(self, key: str) -> None:
        """Stop hearing frames for `key`."""
        self.keys.discard(key)
        listeners = self._hub._listeners.get(key)
        if listeners is not None:
            listeners.discard(self)
            if not listeners:
                del self._hub._listeners[key]

    def close(self) -> None:
        """Stop hearing anything."""
        for key in list(self.keys):
            self.discard(key)

    async def get(self) -> Frame | _Resync | _Stopped:
        """The next frame; `RESYNC` when frames were missed; `STOPPED` once stopped."""
        if self._stopped:
            return STOPPED
        if self._behind:
            self._behind = False
            self._drain()
            return RESYNC
        while not self._frames:
            self._reader = asyncio.get_running_loop().create_future()
            try:
                await self._reader
            finally:
                self._reader = None
        frame = self._frames.popleft()
        return STOPPED if self._stopped else frame

    async def get_batch(self, limit: int = 256) -> list[Frame | _Resync] | None:
        """The next frame and those already waiting behind it (None once stopped), so that a
        burst of events is handled as one."""
        first = await self.get()
        if isinstance(first, _Stopped):
            return None
        batch: list[Frame | _Resync] = [first]
        while len(batch) < limit and not self._behind and self._frames:
            frame = self._frames.popleft()
            if isinstance(frame, _Stopped) or self._stopped:
                break
            batch.append(frame)
        return batch

    def stop(self) -> None:
        """Make its reader return after the frame in hand (instead of being cancelled)."""
        self._stopped = True
        self._put(STOPPED)

    def offer(self, frame: Frame | _Resync) -> None:
        """Queue a frame; a full queue turns into one `RESYNC`."""
        if self._behind:
            return
        if len(self._frames) >= LISTENER_BUFFER:
            self._behind = True
            return
        self._put(frame)

    def _put(self, frame: Frame | _Resync | _Stopped) -> None:
        self._frames.append(frame)
        if self._reader is not None and not self._reader.done():
            self._reader.set_result(None)

    def _drain(self) -> None:
        self._frames.clear()


class Hub:
    """This process's single subscription to the bus, and its local listeners."""

    def __init__(self, bus: Bus) -> None:
        self._bus = bus
        self._listeners: defaultdict[str, set[Listener]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        # Sockets open in this process per subject, so only the last one to close reports
        # the subject gone.
        self._sockets: Counter[str] = Counter()

    async def start(self) -> None:
        """Subscribe (retrying in the background while the bus is down)."""
        self._task = asyncio.create_task(self._listen_forever(), name="realtime-hub")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), 2.0)

    async def stop(self) -> None:
        """Unsubscribe."""
        await cancel_and_wait(self._task)

    def listen(self, *keys: str) -> Listener:
        """A new listener for `keys`; close it when the socket ends."""
        return Listener(self, keys)

    async def publish_chat(self, frame: Frame) -> None:
        """Send a chat signal (it names its `interaction_id`) to every process."""
        await self._bus.publish(CHAT_CHANNEL, json_codec.dumps(frame))

    def socket_opened(self, subject: str) -> int:
        """Count a socket of `subject` opening here; how many are open now."""
        self._sockets[subject] += 1
        return self._sockets[subject]

    def socket_closed(self, subject: str) -> int:
        """Count a socket of `subject` closing here; how many are still open."""
        self._sockets[subject] -= 1
        left = self._sockets[subject]
        if left <= 0:
            del self._sockets[subject]
        return max(left, 0)

    def open_sockets(self) -> dict[str, int]:
        """Open sockets of this process by kind: the part of the subject before ':'."""
        counts: dict[str, int] = {}
        for subject, count in self._sockets.items():
            kind = subject.partition(":")[0]
            counts[kind] = counts.get(kind, 0) + count
        return counts

    @property
    def listener_count(self) -> int:
        """Listeners registered now (a listener with two keys counts twice)."""
        return sum(len(listeners) for listeners in self._listeners.values())

    async def _listen_forever(self) -> None:
        first = True
        while True:
            try:
                subscription = await self._bus.subscribe(EVENTS_CHANNEL, CHAT_CHANNEL)
            except Exception as exc:
                logger.warning("realtime hub: cannot subscribe (%s); retrying", exc)
                await asyncio.sleep(RECONNECT_DELAY_S)
                continue
            self._subscribed.set()
            if not first:
                self._resync_everyone()
            first = False
            try:
                async for channel, payload in subscription:
                    self._dispatch(channel, payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("realtime hub: lost the bus (%s); subscribing again", exc)
            finally:
                self._subscribed.clear()
                with contextlib.suppress(Exception):
                    await subscription.close()
            await asyncio.sleep(RECONNECT_DELAY_S)

    def _dispatch(self, channel: str, payload: bytes) -> None:
        try:
            frame: Frame = json_codec.loads(payload)
        except ValueError:
            logger.warning("realtime hub: unreadable frame on %s ignored", channel)
            return
        frame["channel"] = channel
        # A listener of both the interaction and its agent hears the frame once.
        reached: set[Listener] = set()
        for key in _keys_of(channel, frame):
            reached.update(self._listeners.get(key, ()))
        for listener in reached:
            listener.offer(frame)

    def _resync_everyone(self) -> None:
        for listeners in list(self._listeners.values()):
            for listener in list(listeners):
                listener.offer(RESYNC)


def _keys_of(channel: str, frame: Frame) -> list[str]:
    data = frame.get("data") if channel == EVENTS_CHANNEL else frame
    if not isinstance(data, dict):
        return []
    keys: list[str] = []
    if interaction_id := data.get("interaction_id"):
        keys.append(interaction_key(str(interaction_id)))
    # A transfer concerns the agent who handed it on and a named receiving agent too.
    for field in ("agent_id", "from_agent_id", "to_agent_id"):
        if agent_id := data.get(field):
            keys.append(agent_key(str(agent_id)))
    return keys
