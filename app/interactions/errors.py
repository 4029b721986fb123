"""Errors of the interactions API."""

from __future__ import annotations

from app.errors import AppError, ConflictError, NotFoundError


class InteractionNotFoundError(NotFoundError):
    """No interaction with that id (or none the caller may see)."""

    code = "interaction_not_found"

    def __init__(self) -> None:
        super().__init__("No interaction with that id.")


class QueueNotFoundError(AppError):
    """The queue named in the body does not exist or is inactive."""

    status = 422
    code = "unknown_queue"
    title = "Unknown queue"

    def __init__(self, reference: str, field: str) -> None:
        super().__init__(
            f"No active queue with id or name '{reference}'.",
            errors=[{"field": field, "message": "no active queue with this id or name"}],
        )


class UnknownSkillError(AppError):
    """A required skill does not exist."""

    status = 422
    code = "unknown_skill"
    title = "Unknown skill"

    def __init__(self, names: list[str], field: str) -> None:
        super().__init__(
            f"Unknown skills: {', '.join(sorted(names))}.",
            errors=[{"field": field, "message": f"unknown skill '{name}'"} for name in names],
        )


class InteractionRefusedError(ConflictError):
    """The queue did not take the interaction: it is full or closed."""

    def __init__(self, reason: str, queue_name: str) -> None:
        messages = {
            "queue_full": f"The queue '{queue_name}' is full; try again later or another queue.",
            "closed": f"The queue '{queue_name}' is closed now.",
        }
        super().__init__(
            messages.get(reason, f"The queue '{queue_name}' refused the interaction ({reason})."),
            code=f"queue_{reason}" if reason != "queue_full" else "queue_full",
            title="Refused by the queue",
        )


class IdempotencyKeyReusedError(ConflictError):
    """The same Idempotency-Key came with a different body."""

    code = "idempotency_key_reused"
    title = "Idempotency key reused"

    def __init__(self) -> None:
        super().__init__(
            "This Idempotency-Key was already used with a different request body.",
            errors=[{"field": "header.Idempotency-Key", "message": "used with another body"}],
        )


class NaiveTimeError(AppError):
    """A time filter without a UTC offset would be read in an unknown zone."""

    status = 422
    code = "validation_failed"
    title = "The request is not valid"

    def __init__(self, field: str) -> None:
        super().__init__(
            "Times need a UTC offset, e.g. 2026-11-23T09:00:00Z.",
            errors=[{"field": field, "message": "needs a time zone offset"}],
        )


class UnknownDispositionError(AppError):
    """A disposition id that does not exist or is inactive."""

    status = 422
    code = "unknown_disposition"
    title = "Unknown disposition"

    def __init__(self, ids: list[str]) -> None:
        super().__init__(
            f"Unknown or inactive dispositions: {', '.join(ids)}.",
            errors=[
                {"field": "body.disposition_ids", "message": f"unknown '{one}'"} for one in ids
            ],
        )
