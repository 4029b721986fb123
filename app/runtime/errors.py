"""How the routing core's refusals and the writer's failures reach HTTP callers."""

from __future__ import annotations

from app.errors import AppError, ConflictError, NotFoundError, ServiceUnavailableError
from app.routing import errors as routing_errors
from app.runtime.worker import IdempotencyConflictError, StorageError, WorkerStoppedError

_BY_TYPE: dict[type[routing_errors.RoutingError], tuple[int, str, str]] = {
    routing_errors.UnknownInteractionError: (404, "interaction_not_open", "Not open"),
    routing_errors.UnknownAgentError: (409, "agent_not_routable", "Agent not routable"),
    routing_errors.UnknownQueueError: (409, "queue_not_routable", "Queue not routable"),
    routing_errors.DuplicateInteractionError: (409, "duplicate_interaction", "Already exists"),
    routing_errors.QueueNotEmptyError: (409, "queue_not_empty", "Queue not empty"),
    routing_errors.QueueFullError: (409, "queue_full", "Queue full"),
    routing_errors.AgentUnavailableError: (409, "agent_unavailable", "Agent not available"),
    routing_errors.InvalidStateError: (409, "invalid_state", "Not possible now"),
    routing_errors.WrongAgentError: (409, "wrong_agent", "Not your offer"),
    routing_errors.OfferExpiredError: (409, "offer_expired", "Offer expired"),
    routing_errors.InvalidCommandError: (422, "invalid_command", "Invalid request"),
}
# Refusals about what a transfer request named: the field, so a form can show it beside it.
_FIELDS: dict[type[routing_errors.RoutingError], str] = {
    routing_errors.QueueFullError: "body.queue",
    routing_errors.AgentUnavailableError: "body.agent_id",
}


def to_app_error(error: Exception) -> AppError:
    """The HTTP-facing error for a refusal by the engine or a failure of the writer."""
    if isinstance(error, StorageError | WorkerStoppedError):
        return ServiceUnavailableError(
            f"{error}; nothing was changed, try again shortly.",
            headers={"Retry-After": "2"},
        )
    if isinstance(error, IdempotencyConflictError):
        code = "idempotency_key_in_use" if error.in_flight else "idempotency_key_reused"
        return ConflictError(
            str(error),
            code=code,
            title="Idempotency key in use" if error.in_flight else "Idempotency key reused",
            errors=[{"field": "header.Idempotency-Key", "message": str(error)}],
        )
    if isinstance(error, routing_errors.RoutingError):
        status, code, title = _BY_TYPE.get(type(error), (409, "routing_refused", "Refused"))
        error_class = NotFoundError if status == 404 else ConflictError
        field = _FIELDS.get(type(error))
        errors = [{"field": field, "message": str(error)}] if field else []
        return error_class(str(error), status=status, code=code, title=title, errors=errors)
    raise TypeError(f"not a routing error: {error!r}")
