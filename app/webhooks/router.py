"""HTTP routes for webhook subscriptions and their deliveries (admins and integrators)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response, status

from app.api.pagination import Page, PageParamsDep
from app.auth.dependencies import require_roles
from app.auth.principals import Principal, Role
from app.db.dependencies import SessionDep
from app.state import ResourcesDep
from app.webhooks import service
from app.webhooks.models import MAX_DELIVERY_ID, DeliveryStatus
from app.webhooks.schemas import (
    WebhookCreate,
    WebhookDeliveryRead,
    WebhookRead,
    WebhookUpdate,
    WebhookWithSecret,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

WebhookManager = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.INTEGRATOR))]
DeliveryId = Annotated[int, Path(ge=1, le=MAX_DELIVERY_ID, description="The delivery's number")]


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        400: "The cursor is not one this API issued",
        401: "No valid credentials",
        403: "Only admins and integrators manage webhooks",
        404: "No such subscription (or delivery) that the caller may see",
        409: "The request clashes with the current state",
        422: "The request is not valid",
    }
    return {
        code: {"description": descriptions[code], "content": {"application/problem+json": {}}}
        for code in (401, 403, *statuses)
    }


def _no_store(response: Response) -> None:
    # The body carries a secret: no cache or proxy may keep it.
    response.headers["Cache-Control"] = "no-store"


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a webhook subscription",
    responses=_problems(422),
)
async def create_webhook(
    data: WebhookCreate,
    session: SessionDep,
    principal: WebhookManager,
    resources: ResourcesDep,
    response: Response,
) -> WebhookWithSecret:
    """Subscribe an endpoint to event types. The signing secret is in this response only.

    The URL must reach a public address, or one in SWITCHBOARD_WEBHOOK_ALLOWED_NETWORKS
    (422 on `body.url` for a loopback, private or link-local address named outright)."""
    subscription = await service.create_webhook(
        session, principal=principal, data=data, targets=resources.webhooks.targets
    )
    _no_store(response)
    return WebhookWithSecret.model_validate(subscription)


@router.get("", summary="List webhook subscriptions", responses=_problems(400, 422))
async def list_webhooks(
    session: SessionDep, principal: WebhookManager, params: PageParamsDep
) -> Page[WebhookRead]:
    """Subscriptions newest first (an integrator sees only its own); never their secrets."""
    rows, cursor = await service.list_webhooks(session, principal=principal, params=params)
    return Page(items=[WebhookRead.model_validate(row) for row in rows], next_cursor=cursor)


@router.get("/{subscription_id}", summary="Get a webhook subscription", responses=_problems(404))
async def get_webhook(
    subscription_id: uuid.UUID, session: SessionDep, principal: WebhookManager
) -> WebhookRead:
    """One subscription, without its secret."""
    subscription = await service.get_webhook(
        session, principal=principal, subscription_id=subscription_id
    )
    return WebhookRead.model_validate(subscription)


@router.patch(
    "/{subscription_id}",
    summary="Change a webhook subscription",
    responses=_problems(404, 422),
)
async def update_webhook(
    subscription_id: uuid.UUID,
    data: WebhookUpdate,
    session: SessionDep,
    principal: WebhookManager,
    resources: ResourcesDep,
) -> WebhookRead:
    """Change the URL, event types, description, or pause it with `active: false`.

    While inactive, nothing is sent and its pending deliveries wait until it is active again.
    """
    subscription = await service.update_webhook(
        session,
        principal=principal,
        subscription_id=subscription_id,
        data=data,
        targets=resources.webhooks.targets,
    )
    return WebhookRead.model_validate(subscription)


@router.post(
    "/{subscription_id}/rotate-secret",
    summary="Rotate a webhook's signing secret",
    responses=_problems(404),
)
async def rotate_webhook_secret(
    subscription_id: uuid.UUID, session: SessionDep, principal: WebhookManager, response: Response
) -> WebhookWithSecret:
    """Generate a new secret, shown in this response only; later attempts are signed with it."""
    subscription = await service.rotate_secret(
        session, principal=principal, subscription_id=subscription_id
    )
    _no_store(response)
    return WebhookWithSecret.model_validate(subscription)


@router.delete(
    "/{subscription_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a webhook subscription",
    responses=_problems(404),
)
async def delete_webhook(
    subscription_id: uuid.UUID, session: SessionDep, principal: WebhookManager
) -> None:
    """Remove the subscription and its delivery history (to pause it, PATCH `active`)."""
    await service.delete_webhook(session, principal=principal, subscription_id=subscription_id)


@router.get(
    "/{subscription_id}/deliveries",
    summary="List a webhook's deliveries",
    responses=_problems(400, 404, 422),
)
async def list_webhook_deliveries(
    subscription_id: uuid.UUID,
    session: SessionDep,
    principal: WebhookManager,
    params: PageParamsDep,
    delivery_status: Annotated[
        DeliveryStatus | None,
        Query(alias="status", description="Only deliveries in this state"),
    ] = None,
) -> Page[WebhookDeliveryRead]:
    """Deliveries newest first, each with its attempts and the outcome of the latest one."""
    rows, cursor = await service.list_deliveries(
        session,
        principal=principal,
        subscription_id=subscription_id,
        params=params,
        status=delivery_status,
    )
    return Page(items=[WebhookDeliveryRead.model_validate(row) for row in rows], next_cursor=cursor)


@router.post(
    "/{subscription_id}/deliveries/{delivery_id}/retry",
    summary="Retry a dead delivery",
    responses=_problems(404, 409),
)
async def retry_webhook_delivery(
    subscription_id: uuid.UUID,
    delivery_id: DeliveryId,
    session: SessionDep,
    principal: WebhookManager,
) -> WebhookDeliveryRead:
    """Put a dead delivery back in the outbox, due now, with a fresh budget of attempts."""
    delivery = await service.retry_delivery(
        session, principal=principal, subscription_id=subscription_id, delivery_id=delivery_id
    )
    return WebhookDeliveryRead.model_validate(delivery)


@router.post(
    "/{subscription_id}/ping",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a test event",
    responses=_problems(404, 409),
)
async def ping_webhook(
    subscription_id: uuid.UUID, session: SessionDep, principal: WebhookManager
) -> WebhookDeliveryRead:
    """Queue a signed `ping` event for this endpoint; follow it in the deliveries list."""
    delivery = await service.ping_webhook(
        session, principal=principal, subscription_id=subscription_id
    )
    return WebhookDeliveryRead.model_validate(delivery)
