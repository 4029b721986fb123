"""The writer's side of requests: apply them through the worker, answer queries on the engine.

Whatever the outcome, the answer is a `Reply` of plain JSON, the same whether the request came
from this process or from another one over the stream.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from app import clock
from app.errors import AppError
from app.routing import events as e
from app.routing.engine import Engine
from app.routing.errors import RoutingError
from app.runtime import recovery
from app.runtime.errors import to_app_error
from app.runtime.persistence import NewInteraction
from app.runtime.requests import (
    CreateInteraction,
    Execute,
    Query,
    ReloadAgent,
    ReloadQueue,
    Reply,
    Sweep,
    WriterRequest,
)
from app.runtime.worker import (
    IdempotencyConflictError,
    RoutingWorker,
    StorageError,
    WorkerStoppedError,
)

logger = logging.getLogger(__name__)

# A read-only question about the writer's engine at `now`, answered with JSON.
QueryHandler = Callable[[RoutingWorker, float, dict[str, Any]], Any]
# The response to a new interaction, built on the engine right after it arrived.
CreatedBuilder = Callable[[NewInteraction, Engine, list[e.Event]], dict[str, Any]]


def problem_of(error: AppError) -> dict[str, Any]:
    """An `AppError` as JSON, to travel in a `Reply`."""
    return {
        "status": error.status,
        "code": error.code,
        "title": error.title,
        "detail": error.detail,
        "errors": error.errors,
        "headers": error.headers,
    }


def error_of(problem: dict[str, Any]) -> AppError:
    """The `AppError` a `Reply`'s problem stands for."""
    return AppError(
        problem["detail"],
        status=problem["status"],
        code=problem["code"],
        title=problem["title"],
        errors=problem.get("errors", ()),
        headers=problem.get("headers"),
    )


class WriterHost:
    """Answers `WriterRequest`s with the worker that owns the engine."""

    def __init__(
        self,
        worker: RoutingWorker,
        *,
        queries: Mapping[str, QueryHandler],
        build_created: CreatedBuilder,
    ) -> None:
        self.worker = worker
        self._queries = queries
        self._build_created = build_created

    async def handle(self, request: WriterRequest, request_id: str | None = None) -> Reply:
        """Apply or answer `request`; a `request_id` seen before is answered as it was then."""
        try:
            return Reply(result=await self._dispatch(request, request_id))
        except AppError as exc:
            return Reply(error=problem_of(exc))
        except (RoutingError, StorageError, WorkerStoppedError, IdempotencyConflictError) as exc:
            return Reply(error=problem_of(to_app_error(exc)))

    async def _dispatch(self, request: WriterRequest, request_id: str | None) -> Any:
        worker = self.worker
        match request:
            case Query(name, args):
                return self._query(name, args)
            case Execute(command):
                return (await worker.submit(command, request_id=request_id)).result()
            case CreateInteraction(arrive, new):
                outcome = await worker.submit(
                    arrive,
                    new_interaction=new,
                    build_response=lambda engine, events: self._build_created(new, engine, events),
                    request_id=request_id,
                )
                return outcome.result()
            case ReloadQueue(queue_id):
                outcome = await worker.submit(
                    None,
                    load_config=lambda s: recovery.queue_commands(s, queue_id),
                    request_id=request_id,
                )
                return outcome.result()
            case ReloadAgent(staff_id):
                outcome = await worker.submit(
                    None,
                    load_config=lambda s: recovery.agent_commands(
                        s, staff_id, engine=worker.engine
                    ),
                    request_id=request_id,
                )
                return outcome.result()
            case Sweep():
                return (await worker.sweep()).result()
        raise TypeError(f"not a writer request: {request!r}")

    def _query(self, name: str, args: dict[str, Any]) -> Any:
        if not self.worker.running:
            raise WorkerStoppedError(f"the routing service is not ready ({self.worker.status})")
        handler = self._queries.get(name)
        if handler is None:
            raise AppError(f"Unknown routing query {name!r}.", code="unknown_query")
        return handler(self.worker, clock.now_s(), args)
