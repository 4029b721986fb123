"""Errors of the calls API."""

from __future__ import annotations

from app.errors import AppError, ConflictError


class NotACallError(ConflictError):
    """Call events and TURN figures belong to voice and video interactions only."""

    code = "not_a_call"
    title = "Not a call"

    def __init__(self, channel: str) -> None:
        super().__init__(
            f"The interaction is on the {channel} channel; call events need voice or video."
        )


class CallEventOutOfOrderError(ConflictError):
    """The event does not follow from where the call stands (e.g. `resumed` while not held)."""

    code = "call_event_out_of_order"
    title = "Call event out of order"

    def __init__(self, detail: str, *, call_status: str, interaction_state: str) -> None:
        super().__init__(
            detail,
            errors=[{"field": "body.event", "message": detail}],
            extra={"call_status": call_status, "interaction_state": interaction_state},
        )


class CallIdMismatchError(ConflictError):
    """The posted call id is not the one this interaction's call carries."""

    code = "call_id_mismatch"
    title = "Another call's id"

    def __init__(self, expected: str) -> None:
        super().__init__(
            f"This interaction's call has the id '{expected}'.",
            errors=[{"field": "body.call_id", "message": f"this interaction's call is {expected}"}],
        )


class CallEventTimeError(AppError):
    """An event time before the call's previous event would make negative durations."""

    status = 422
    code = "validation_failed"
    title = "The request is not valid"

    def __init__(self, previous: str) -> None:
        super().__init__(
            f"The event time is before the call's previous event ({previous}).",
            errors=[{"field": "body.at", "message": f"is before the previous event ({previous})"}],
        )
