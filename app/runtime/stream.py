"""Requests to the writer across processes: a Redis stream read by one consumer group.

An edge process adds each request to the stream with an id and the channel it listens on for
replies. The writer reads the stream as the group's consumer, applies each request through
its `WriterHost`, publishes the reply, and only then acknowledges the entry. Entries a writer
read but never acknowledged (it died) stay pending; the next writer claims them, and the
request ids make a re-delivered request be answered again rather than applied twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from app.errors import ServiceUnavailableError
from app.realtime.redis_client import close_pubsub
from app.runtime.host import WriterHost
from app.runtime.requests import (
    MalformedRequestError,
    Reply,
    WriterRequest,
    changes_state,
    decode_request,
    encode_request,
)
from app.runtime.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

GROUP = "writer"
# Entries are trimmed well after any caller stopped waiting for them.
STREAM_MAX_LENGTH = 100_000
READ_COUNT = 256
READ_BLOCK_MS = 1_000
MAX_IN_FLIGHT = 2_048
RECONNECT_DELAY_S = 0.5
RETRY_AFTER_S = "2"


def stream_key(prefix: str) -> str:
    """The Redis key of the writer's request stream."""
    return f"{prefix}writer:requests"


async def ensure_group(redis: Redis, prefix: str) -> None:
    """Create the consumer group (and the stream) unless it exists."""
    try:
        await redis.xgroup_create(stream_key(prefix), GROUP, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


class StreamGateway:
    """Sends requests to whichever process is the writer, and waits for its reply."""

    def __init__(self, redis: Redis, *, prefix: str, node_id: str, timeout_s: float) -> None:
        self._redis = redis
        self._prefix = prefix
        self._timeout_s = timeout_s
        self._reply_channel = f"{prefix}writer:replies:{node_id}"
        self._waiting: dict[str, asyncio.Future[Reply]] = {}
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        """Start listening for replies (retrying in the background while Redis is down)."""
        self._listener = asyncio.create_task(self._listen_forever(), name="writer-replies")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), 2.0)

    async def stop(self) -> None:
        """Stop listening; callers still waiting get a 503."""
        await cancel_and_wait(self._listener)
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(_unavailable("this process is shutting down"))

    async def call(self, request: WriterRequest) -> Reply:
        """Send `request` to the writer; 503 if Redis is down or no writer answers in time."""
        if not self._subscribed.is_set():
            raise _unavailable("Redis cannot be reached, so the routing writer cannot either")
        request_id = uuid.uuid4().hex
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        try:
            await self._redis.xadd(
                stream_key(self._prefix),
                {
                    "id": request_id,
                    "reply": self._reply_channel,
                    "body": json.dumps(encode_request(request)),
                },
                maxlen=STREAM_MAX_LENGTH,
                approximate=True,
            )
            return await asyncio.wait_for(future, self._timeout_s)
        except TimeoutError:
            raise _unavailable(
                f"the routing writer did not answer within {self._timeout_s:g}s "
                "(a fail-over may be under way); the request may still be applied, so "
                "retry creations with the same Idempotency-Key"
            ) from None
        except (OSError, RedisError) as exc:
            raise _unavailable(f"Redis cannot be reached: {exc}") from None
        finally:
            self._waiting.pop(request_id, None)

    async def _listen_forever(self) -> None:
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self._reply_channel)
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._deliver(message["data"])
                    elif message.get("type") == "subscribe":
                        # Only once Redis confirms can a reply reach this process.
                        self._subscribed.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._subscribed.is_set():
                    logger.warning("writer replies: lost Redis (%s); reconnecting", exc)
                self._subscribed.clear()
            finally:
                with contextlib.suppress(Exception):
                    await close_pubsub(pubsub)
            await asyncio.sleep(RECONNECT_DELAY_S)

    def _deliver(self, data: bytes) -> None:
        try:
            message = json.loads(data)
            future = self._waiting.get(message["id"])
            reply = Reply(result=message.get("result"), error=message.get("error"))
        except (ValueError, KeyError, TypeError):
            logger.warning("writer replies: unreadable reply ignored")
            return
        if future is not None and not future.done():
            future.set_result(reply)


@dataclass(frozen=True, slots=True)
class _Answer:
    """What the writer owes one stream entry: a reply (unless unreadable), then its ack."""

    message_id: bytes
    reply_to: str | None = None
    request_id: str = ""
    reply: Reply | None = None


class StreamConsumer:
    """The writer's reader of the request stream: apply, reply, then acknowledge."""

    def __init__(self, redis: Redis, host: WriterHost, *, prefix: str, consumer: str) -> None:
        self._redis = redis
        self._host = host
        self._prefix = prefix
        self._consumer = consumer
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._tasks: set[asyncio.Task[None]] = set()
        # Entries being served now: a re-claim after a read error must not serve them twice.
        self._serving: set[bytes] = set()
        # Replies and acks leave in batches from one task: one round trip for many requests,
        # and a burst of answers never needs more than one Redis connection.
        self._answers: asyncio.Queue[_Answer] = asyncio.Queue()
        self._reclaim_due = False

    async def run(self) -> None:
        """Take over what earlier writers left pending, then serve new requests until cancelled."""
        # Still rebuilding (or waiting for the database): requests stay in the stream.
        await self._host.worker.wait_running()
        answering = asyncio.create_task(self._answer_forever(), name="writer-answers")
        try:
            while True:
                try:
                    await ensure_group(self._redis, self._prefix)
                    await self._claim_pending()
                    await self._read_forever()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    logger.warning("writer requests: %s; reading again shortly", exc)
                    await asyncio.sleep(RECONNECT_DELAY_S)
        finally:
            answering.cancel()
            for task in list(self._tasks):
                task.cancel()

    async def _claim_pending(self) -> None:
        start = "0-0"
        claimed = 0
        while True:
            result = await self._redis.xautoclaim(
                stream_key(self._prefix), GROUP, self._consumer, 0, start, count=READ_COUNT
            )
            start, messages = result[0], result[1]
            for message_id, fields in messages:
                if fields:
                    claimed += 1
                    await self._spawn(message_id, fields)
                else:
                    self._answers.put_nowait(_Answer(message_id))  # trimmed: just ack
            if start in (b"0-0", "0-0"):
                break
        if claimed:
            logger.info("writer requests: took over %d pending request(s)", claimed)

    async def _read_forever(self) -> None:
        while True:
            if self._reclaim_due:
                self._reclaim_due = False
                await self._claim_pending()
            # Read as RESP2 (the default): a list of [stream, [(id, fields), ...]].
            read = await self._redis.xreadgroup(
                GROUP,
                self._consumer,
                {stream_key(self._prefix): ">"},
                count=READ_COUNT,
                block=READ_BLOCK_MS,
            )
            streams = cast(list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]], read)
            for _stream, messages in streams or []:
                for message_id, fields in messages:
                    await self._spawn(message_id, fields)

    async def _spawn(self, message_id: bytes, fields: dict[bytes, bytes]) -> None:
        # Requests start in stream order (each reaches the writer's inbox before the next
        # starts) but are answered concurrently, so the writer can batch them.
        if message_id in self._serving:
            return
        await self._slots.acquire()
        self._serving.add(message_id)
        task = asyncio.create_task(self._serve(message_id, fields))
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._finished(done, message_id))

    def _finished(self, task: asyncio.Task[None], message_id: bytes) -> None:
        self._tasks.discard(task)
        self._serving.discard(message_id)
        self._slots.release()

    async def _serve(self, message_id: bytes, fields: dict[bytes, bytes]) -> None:
        try:
            request_id = fields[b"id"].decode()
            reply_to = fields[b"reply"].decode()
            request = decode_request(json.loads(fields[b"body"]))
        except (KeyError, UnicodeDecodeError, ValueError, MalformedRequestError) as exc:
            logger.error("writer requests: dropped unreadable entry %r: %s", message_id, exc)
            self._answers.put_nowait(_Answer(message_id))
            return
        reply = await self._host.handle(request, request_id if changes_state(request) else None)
        if self._host.worker.fenced_out:
            # A newer writer exists and applies what this one could not: leave it pending.
            return
        self._answers.put_nowait(_Answer(message_id, reply_to, request_id, reply))

    async def _answer_forever(self) -> None:
        while True:
            batch = [await self._answers.get()]
            while not self._answers.empty() and len(batch) < READ_COUNT:
                batch.append(self._answers.get_nowait())
            await self._send(batch)

    async def _send(self, batch: list[_Answer]) -> None:
        pipeline = self._redis.pipeline(transaction=False)
        for answer in batch:
            if answer.reply_to is None or answer.reply is None:
                continue
            message: dict[str, Any] = {
                "id": answer.request_id,
                "result": answer.reply.result,
                "error": answer.reply.error,
            }
            pipeline.publish(answer.reply_to, json.dumps(message))
        pipeline.xack(stream_key(self._prefix), GROUP, *(answer.message_id for answer in batch))
        try:
            await pipeline.execute()
        except Exception as exc:
            # Unacknowledged, the entries are claimed and served again (answered from the
            # stored results) before the next read.
            logger.warning("writer requests: %d answer(s) not sent: %s", len(batch), exc)
            self._reclaim_due = True


def _unavailable(detail: str) -> ServiceUnavailableError:
    return ServiceUnavailableError(
        f"{detail}.", code="routing_unavailable", headers={"Retry-After": RETRY_AFTER_S}
    )
