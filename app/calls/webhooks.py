"""What telephony needs in `interaction.accepted` webhooks to bridge the call: the agent's
phone endpoint, and the interaction's `external_id` (the telephony's own call id).

`with_telephony_details` is applied to a batch's outbound events before they are enqueued;
other events pass through untouched, and a batch without an acceptance costs no query.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.calls import repository
from app.webhooks.models import WebhookEventType
from app.webhooks.outbox import OutboundEvent

ACCEPTED = WebhookEventType.INTERACTION_ACCEPTED.value


async def with_telephony_details(
    session: AsyncSession, events: Sequence[OutboundEvent]
) -> list[OutboundEvent]:
    """The events, each `interaction.accepted` one carrying `phone_endpoint` and
    `external_id` (None when the agent has no endpoint or the interaction no external id)."""
    accepted = [event for event in events if event.type == ACCEPTED]
    if not accepted:
        return list(events)
    agents = {_id_in(event, "agent_id") for event in accepted}
    interactions = {_id_in(event, "interaction_id") for event in accepted}
    endpoints = await repository.phone_endpoints(session, _known(agents))
    external_ids = await repository.external_ids(session, _known(interactions))

    def detailed(event: OutboundEvent) -> OutboundEvent:
        if event.type != ACCEPTED:
            return event
        details = {
            "phone_endpoint": _lookup(endpoints, _id_in(event, "agent_id")),
            "external_id": _lookup(external_ids, _id_in(event, "interaction_id")),
        }
        return dataclasses.replace(event, data={**event.data, **details})

    return [detailed(event) for event in events]


def _id_in(event: OutboundEvent, key: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(event.data.get(key)))
    except ValueError:
        return None


def _lookup(found: Mapping[uuid.UUID, str | None], key: uuid.UUID | None) -> str | None:
    return None if key is None else found.get(key)


def _known(ids: set[uuid.UUID | None]) -> set[uuid.UUID]:
    return {one for one in ids if one is not None}
