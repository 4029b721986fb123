"""Webhook failures the caller sees."""

from __future__ import annotations

import uuid

from app.errors import AppError, ConflictError, NotFoundError


class WebhookNotFoundError(NotFoundError):
    """No subscription with this id that the caller may see."""

    def __init__(self, subscription_id: uuid.UUID) -> None:
        super().__init__(f"There is no webhook subscription {subscription_id}.")


class DeliveryNotFoundError(NotFoundError):
    """No delivery with this id under this subscription."""

    def __init__(self, delivery_id: int) -> None:
        super().__init__(f"There is no delivery {delivery_id} for this webhook subscription.")


class DeliveryNotDeadError(ConflictError):
    """Only a delivery that was given up on can be retried by hand."""

    code = "delivery_not_dead"

    def __init__(self, delivery_id: int, status: str) -> None:
        super().__init__(
            f"Delivery {delivery_id} is {status}; only a dead delivery can be retried."
        )


class WebhookInactiveError(ConflictError):
    """The subscription is deactivated, so nothing would be sent to it."""

    code = "webhook_inactive"

    def __init__(self, subscription_id: uuid.UUID) -> None:
        super().__init__(f"Webhook subscription {subscription_id} is inactive; activate it first.")


class WebhookTargetRefusedError(AppError):
    """The URL names an address deliveries may not go to (loopback, private, ...)."""

    status = 422
    code = "webhook_target_refused"
    title = "Webhook address refused"

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"The URL is refused: {reason}.", errors=[{"field": "body.url", "message": reason}]
        )
