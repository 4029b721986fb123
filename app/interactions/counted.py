"""The routing history as the figures count it, one row per counted event with its channel.

Reports and the supervisor's live view aggregate the same rows, so both apply DESIGN.md's
definitions alike. Arrivals, abandons and completions are the engine's events. The answer
is the agent accepting (`interaction.accepted`), except for voice and video: a call is
answered when it connects (`call.answered`, from the browsers or the telephony), and its
wait runs until then. An accepted call that never connects is therefore not answered, and
only the first connection after each acceptance counts (the one whose event has a wait).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Subquery, and_, case, literal, not_, or_, select

from app.interactions.models import Interaction, InteractionEvent
from app.routing import events as e
from app.routing.model import Channel
from app.runtime.wire import EVENT_TYPES

QUEUED = EVENT_TYPES[e.InteractionQueued]
ACCEPTED = EVENT_TYPES[e.OfferAccepted]
ABANDONED = EVENT_TYPES[e.InteractionAbandoned]
COMPLETED = EVENT_TYPES[e.InteractionCompleted]
# Written by the calls service when a call connects, with the wait until then.
CALL_ANSWERED = "call.answered"
# The kind an answer has in the rows, whichever event it came from.
ANSWERED = ACCEPTED
KINDS = (QUEUED, ANSWERED, ABANDONED, COMPLETED)
CALL_CHANNELS = (Channel.VOICE, Channel.VIDEO)


def counted_events(*conditions: ColumnElement[bool]) -> Subquery:
    """The counted events matching `conditions` (on `InteractionEvent` or `Interaction`).

    Columns: `kind` (one of KINDS), `at`, `queue_id`, `agent_id`, `wait_s`, `handle_s`
    (None where the event has none) and `channel` (the interaction's).
    """
    data = InteractionEvent.data
    is_call = Interaction.channel.in_(CALL_CHANNELS)
    counted = or_(
        InteractionEvent.type.in_((QUEUED, ABANDONED, COMPLETED)),
        and_(InteractionEvent.type == ACCEPTED, not_(is_call)),
        and_(
            InteractionEvent.type == CALL_ANSWERED, is_call, data["wait_s"].as_float().is_not(None)
        ),
    )
    kind: ColumnElement[Any] = case(
        (InteractionEvent.type == CALL_ANSWERED, literal(ANSWERED)), else_=InteractionEvent.type
    )
    return (
        select(
            kind.label("kind"),
            InteractionEvent.at.label("at"),
            data["queue_id"].as_string().label("queue_id"),
            data["agent_id"].as_string().label("agent_id"),
            data["wait_s"].as_float().label("wait_s"),
            data["handle_s"].as_float().label("handle_s"),
            Interaction.channel.label("channel"),
        )
        .join(Interaction, Interaction.id == InteractionEvent.interaction_id)
        .where(counted, *conditions)
        .subquery()
    )
