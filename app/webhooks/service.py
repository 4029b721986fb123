"""Webhook rules: who owns a subscription, secrets shown once, retries and pings by hand.

Admins reach every subscription; an integrator reaches only those its API key created
(others answer 404, so their existence is not revealed). Services flush, never commit.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.api.pagination import Cursor, InvalidCursorError, PageParams, next_cursor
from app.auth.errors import PermissionDeniedError
from app.auth.principals import Principal, PrincipalKind, Role
from app.webhooks import repository
from app.webhooks.errors import (
    DeliveryNotDeadError,
    DeliveryNotFoundError,
    WebhookInactiveError,
    WebhookNotFoundError,
    WebhookTargetRefusedError,
)
from app.webhooks.models import (
    MAX_DELIVERY_ID,
    PING_EVENT_TYPE,
    DeliveryStatus,
    WebhookDelivery,
    WebhookSubscription,
)
from app.webhooks.outbox import OutboundEvent, delivery_row
from app.webhooks.schemas import WebhookCreate, WebhookUpdate
from app.webhooks.signing import generate_secret
from app.webhooks.targets import TargetPolicy, TargetRefusedError


def owner_key_id(principal: Principal) -> uuid.UUID | None:
    """The API key whose subscriptions an integrator is limited to; None for an admin."""
    if principal.kind is PrincipalKind.API_KEY:
        return uuid.UUID(principal.subject_id)
    if principal.role is Role.ADMIN:
        return None
    raise PermissionDeniedError("Only admins and integrators manage webhooks.")


def check_target(targets: TargetPolicy, url: str) -> None:
    """Refuse a URL naming an address deliveries may not go to (422 on `body.url`)."""
    try:
        targets.check_url(url)
    except TargetRefusedError as exc:
        raise WebhookTargetRefusedError(str(exc)) from exc


async def create_webhook(
    session: AsyncSession, *, principal: Principal, data: WebhookCreate, targets: TargetPolicy
) -> WebhookSubscription:
    """Store a subscription owned by its creator; its secret is generated unless given."""
    key_id = owner_key_id(principal)
    check_target(targets, data.url)
    subscription = WebhookSubscription(
        url=data.url,
        event_types=data.event_types,
        description=data.description,
        secret=data.secret or generate_secret(),
        active=True,
        created_by=None if key_id else uuid.UUID(principal.subject_id),
        created_by_api_key_id=key_id,
    )
    await repository.add_subscription(session, subscription)
    return subscription


async def list_webhooks(
    session: AsyncSession, *, principal: Principal, params: PageParams
) -> tuple[list[WebhookSubscription], str | None]:
    """One page of the subscriptions the caller may see, and the next cursor."""
    rows = await repository.list_subscriptions(
        session, params, owner_key_id=owner_key_id(principal)
    )
    return next_cursor(rows, params)


async def get_webhook(
    session: AsyncSession, *, principal: Principal, subscription_id: uuid.UUID
) -> WebhookSubscription:
    """A subscription the caller may see, or `WebhookNotFoundError`."""
    subscription = await repository.get_subscription(
        session, subscription_id, owner_key_id=owner_key_id(principal)
    )
    if subscription is None:
        raise WebhookNotFoundError(subscription_id)
    return subscription


async def update_webhook(
    session: AsyncSession,
    *,
    principal: Principal,
    subscription_id: uuid.UUID,
    data: WebhookUpdate,
    targets: TargetPolicy,
) -> WebhookSubscription:
    """Change the given fields; deactivating stops sending (pending deliveries wait)."""
    subscription = await get_webhook(session, principal=principal, subscription_id=subscription_id)
    if data.url is not None:
        check_target(targets, data.url)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    for field, value in changes.items():
        setattr(subscription, field, value)
    await session.flush()
    return subscription


async def rotate_secret(
    session: AsyncSession, *, principal: Principal, subscription_id: uuid.UUID
) -> WebhookSubscription:
    """Replace the signing secret; every attempt from now on is signed with the new one."""
    subscription = await get_webhook(session, principal=principal, subscription_id=subscription_id)
    subscription.secret = generate_secret()
    await session.flush()
    return subscription


async def delete_webhook(
    session: AsyncSession, *, principal: Principal, subscription_id: uuid.UUID
) -> None:
    """Remove a subscription and its delivery history."""
    subscription = await get_webhook(session, principal=principal, subscription_id=subscription_id)
    await repository.delete_subscription(session, subscription)


async def list_deliveries(
    session: AsyncSession,
    *,
    principal: Principal,
    subscription_id: uuid.UUID,
    params: PageParams,
    status: DeliveryStatus | None,
) -> tuple[list[WebhookDelivery], str | None]:
    """One page of a subscription's deliveries, newest first, and the next cursor."""
    await get_webhook(session, principal=principal, subscription_id=subscription_id)
    if params.after is not None and params.after.id.int > MAX_DELIVERY_ID:
        raise InvalidCursorError()  # a cursor of another list, not of deliveries
    rows = await repository.list_deliveries(session, subscription_id, params, status=status)
    if len(rows) <= params.limit:
        return rows, None
    kept = rows[: params.limit]
    last = kept[-1]
    return kept, Cursor(last.created_at, uuid.UUID(int=last.id)).encode()


async def retry_delivery(
    session: AsyncSession,
    *,
    principal: Principal,
    subscription_id: uuid.UUID,
    delivery_id: int,
) -> WebhookDelivery:
    """Put a dead delivery back in the outbox, due now, with a fresh count of attempts."""
    await get_webhook(session, principal=principal, subscription_id=subscription_id)
    delivery = await repository.get_delivery(session, subscription_id, delivery_id)
    if delivery is None:
        raise DeliveryNotFoundError(delivery_id)
    if delivery.status is not DeliveryStatus.DEAD:
        raise DeliveryNotDeadError(delivery_id, delivery.status.value)
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = clock.utcnow()
    await session.flush()
    return delivery


async def ping_webhook(
    session: AsyncSession, *, principal: Principal, subscription_id: uuid.UUID
) -> WebhookDelivery:
    """Queue a `ping` event for this one endpoint, to test it end to end."""
    subscription = await get_webhook(session, principal=principal, subscription_id=subscription_id)
    if not subscription.active:
        raise WebhookInactiveError(subscription_id)
    now = clock.utcnow()
    event = OutboundEvent(
        id=uuid.uuid4(),
        type=PING_EVENT_TYPE,
        occurred_at=now,
        data={"subscription_id": str(subscription.id)},
    )
    delivery = WebhookDelivery(**delivery_row(subscription.id, event, now=now))
    await repository.add_delivery(session, delivery)
    return delivery
