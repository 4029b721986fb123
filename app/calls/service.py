"""Call rules: the ICE servers a caller gets, and a call's lifecycle and figures.

Call events follow `answered → (held → resumed)* → ended`; `ended` may come at any point
(a caller who hangs up while waiting abandons) and a repeat of it changes nothing. Each
event is appended to the interaction's history and updates the call's figures.

Two sources report them. A telephony platform posts them (`record_call_event`); its
`ended` then drives the interaction's lifecycle through the routing service, as the
agent's "complete" would. The two browsers of a web call send frames
(`record_browser_state`, `record_hang_up`): whichever side connects first answers the
call, and a hang-up ends the call but not the interaction (the chat goes on beside it).
A browser call may be answered again after it ended, when it is set up anew (transfer,
a second call in one chat): that starts a new leg.

`call.answered` carries the queue, the agent and the wait until the call connected: the
figures count a call as answered then (`app.interactions.counted`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.auth.principals import Principal
from app.calls import repository
from app.calls.credentials import ice_servers, turn_credential
from app.calls.errors import (
    CallEventOutOfOrderError,
    CallEventTimeError,
    CallIdMismatchError,
    NotACallError,
)
from app.calls.models import Call, CallParty, CallStatus
from app.calls.schemas import (
    BrowserCallState,
    CallEventCreate,
    CallEventType,
    CallQuality,
    CallQualityReport,
    CallRead,
    IceServer,
    IceServers,
    QualitySummary,
)
from app.errors import AppError
from app.interactions import repository as interactions
from app.interactions.errors import InteractionNotFoundError
from app.interactions.models import Interaction
from app.interactions.service import fresh_interaction
from app.routing import commands as c
from app.routing.engine import Engine
from app.routing.model import Channel, InteractionId, InteractionState
from app.runtime.persistence import StoredEvent
from app.runtime.service import RoutingService
from app.settings import Settings

CALL_CHANNELS = frozenset({Channel.VOICE, Channel.VIDEO})
# Where `ended` still has something to end: waiting ones are abandoned, active ones wrapped up.
_WAITING = frozenset({InteractionState.QUEUED, InteractionState.OFFERED})
# What each event needs the call to be, and what it makes it.
_TRANSITIONS: dict[CallEventType, tuple[frozenset[CallStatus], CallStatus]] = {
    CallEventType.ANSWERED: (frozenset({CallStatus.RINGING}), CallStatus.CONNECTED),
    CallEventType.HELD: (frozenset({CallStatus.CONNECTED}), CallStatus.HELD),
    CallEventType.RESUMED: (frozenset({CallStatus.HELD}), CallStatus.CONNECTED),
    CallEventType.ENDED: (
        frozenset({CallStatus.RINGING, CallStatus.CONNECTED, CallStatus.HELD}),
        CallStatus.ENDED,
    ),
}
_REFUSALS: dict[tuple[CallEventType, CallStatus], str] = {
    (CallEventType.ANSWERED, CallStatus.CONNECTED): "The call was already answered.",
    (CallEventType.ANSWERED, CallStatus.HELD): "The call was already answered (it is on hold).",
    (CallEventType.HELD, CallStatus.RINGING): "The call has not been answered yet.",
    (CallEventType.HELD, CallStatus.HELD): "The call is already on hold.",
    (CallEventType.RESUMED, CallStatus.RINGING): "The call has not been answered yet.",
    (CallEventType.RESUMED, CallStatus.CONNECTED): "The call is not on hold.",
}


def ice_servers_for(settings: Settings, principal: Principal, *, now: float) -> IceServers:
    """The caller's `iceServers`, with TURN credentials of its own when TURN is set up."""
    secret = settings.turn_secret
    turn = None
    if settings.turn_urls and secret is not None:
        turn = turn_credential(
            secret.get_secret_value(),
            subject=principal.subject_id,
            now=now,
            ttl_s=settings.turn_ttl_s,
        )
    servers = ice_servers(stun_urls=settings.stun_urls, turn_urls=settings.turn_urls, turn=turn)
    return IceServers(
        iceServers=[IceServer.model_validate(server) for server in servers],
        ttl_s=settings.turn_ttl_s,
    )


async def call_interaction(session: AsyncSession, interaction_id: uuid.UUID) -> Interaction:
    """The interaction, if it exists and is a voice or video call (404, 409 otherwise)."""
    row = await interactions.get_interaction(session, interaction_id)
    if row is None:
        raise InteractionNotFoundError()
    if row.channel not in CALL_CHANNELS:
        raise NotACallError(row.channel.value)
    return row


async def record_call_event(
    session: AsyncSession,
    *,
    principal: Principal,
    interaction_id: uuid.UUID,
    body: CallEventCreate,
) -> bool:
    """Check and store one call event; flushes. Returns whether the interaction should end
    now (an `ended`, first or repeated: a repeat retries an end the writer did not apply)."""
    interaction = await call_interaction(session, interaction_id)
    call = await repository.lock_call(session, interaction_id)
    _check_call_id(call, interaction, body.call_id)
    call.call_id = call.call_id or body.call_id or interaction.external_id
    if body.event is CallEventType.ENDED and call.status is CallStatus.ENDED:
        return True
    at = body.at or clock.utcnow()
    _check_order(call, interaction, body.event)
    if call.last_event_at is not None and at < call.last_event_at:
        raise CallEventTimeError(call.last_event_at.isoformat())
    await _record(
        session,
        call,
        body.event,
        at=at,
        actor=(principal.role.value, principal.subject_id),
        ended_by=body.ended_by,
    )
    await session.flush()
    return body.event is CallEventType.ENDED


# What a browser's frame is, as a call event; and the statuses in which it changes something.
_BROWSER_EVENTS: dict[BrowserCallState, tuple[CallEventType, frozenset[CallStatus]]] = {
    BrowserCallState.CONNECTED: (
        CallEventType.ANSWERED,
        frozenset({CallStatus.RINGING, CallStatus.ENDED}),
    ),
    BrowserCallState.HELD: (CallEventType.HELD, frozenset({CallStatus.CONNECTED})),
    BrowserCallState.RESUMED: (CallEventType.RESUMED, frozenset({CallStatus.HELD})),
}
# A browser that gives up on lost media ends the call on nobody's behalf.
SYSTEM_HANG_UP_REASONS = frozenset({"media_lost"})


async def record_browser_state(
    session: AsyncSession,
    *,
    interaction_id: uuid.UUID,
    party: CallParty,
    actor: tuple[str, str],
    state: BrowserCallState,
) -> bool:
    """Store what one browser of a web call saw; flushes. False when it changes nothing.

    Both browsers say `connected`: the first answers the call (or, after it ended, starts a
    new leg), the other's changes nothing. The caller has checked that `party` may send it.
    """
    event, applies_in = _BROWSER_EVENTS[state]
    call = await repository.lock_call(session, interaction_id)
    if call.status not in applies_in:
        return False
    if event is CallEventType.ANSWERED and call.status is CallStatus.ENDED:
        _start_new_leg(call)
    await _record(session, call, event, at=_browser_time(call), actor=actor, ended_by=None)
    await session.flush()
    return True


async def record_hang_up(
    session: AsyncSession,
    *,
    interaction_id: uuid.UUID,
    party: CallParty,
    actor: tuple[str, str],
    reason: str | None,
) -> bool:
    """A browser hung up: the call ends by `party` (or the system, for lost media); the
    interaction goes on. Flushes; False when the call had ended already."""
    call = await repository.lock_call(session, interaction_id)
    if call.status is CallStatus.ENDED:
        return False
    ended_by = CallParty.SYSTEM if reason in SYSTEM_HANG_UP_REASONS else party
    at = _browser_time(call)
    await _record(
        session, call, CallEventType.ENDED, at=at, actor=actor, ended_by=ended_by, reason=reason
    )
    await session.flush()
    return True


async def record_quality(
    session: AsyncSession,
    *,
    interaction_id: uuid.UUID,
    party: CallParty,
    report: CallQualityReport,
) -> None:
    """Keep `party`'s latest quality summary of the call (a summary of the whole call so
    far, so the latest replaces the one before); flushes."""
    call = await repository.lock_call(session, interaction_id)
    summary = QualitySummary(**report.model_dump(), at=clock.utcnow())
    # A new dict, so that the JSON column is seen as changed.
    call.quality = {**call.quality, party.value: summary.model_dump(mode="json")}
    await session.flush()


def _browser_time(call: Call) -> datetime:
    # Our clock; never before an event a telephony stamped a little ahead of it.
    now = clock.utcnow()
    return now if call.last_event_at is None else max(now, call.last_event_at)


def _start_new_leg(call: Call) -> None:
    """The call is set up anew after it ended: the next `answered` opens a leg."""
    call.ended_at = None
    call.ended_by = None


async def _record(
    session: AsyncSession,
    call: Call,
    event: CallEventType,
    *,
    at: datetime,
    actor: tuple[str, str | None],
    ended_by: CallParty | None,
    reason: str | None = None,
) -> None:
    """Apply one event to the call and append it to the interaction's history."""
    data = _apply(call, event, at, ended_by)
    if event is CallEventType.ANSWERED:
        data |= await _answer_figures(session, call.interaction_id, at)
    if reason is not None:
        data["reason"] = reason
    repository.add_event(
        session,
        call.interaction_id,
        event_type=f"call.{event.value}",
        at=at,
        actor=actor,
        data=data,
    )


# After these routing events a web call is over, its agent having moved on; the reason.
_OVER_AFTER = {
    "interaction.wrap_up_started": "completed",
    "interaction.transferred": "transferred",
}
# Who ends a call the pages left up: the routing, on nobody's behalf.
_ROUTING_ACTOR = ("system", "routing")
# A chat may carry a call too (the agent's invite): these are the channels worth a look.
_MAY_HAVE_A_CALL = CALL_CHANNELS | {Channel.CHAT}


async def end_calls_left_up(
    session: AsyncSession, engine: Engine, stored: Sequence[StoredEvent]
) -> None:
    """End the browser calls still up when their interaction went into wrap-up or was
    transferred, by the system, in the routing batch's own transaction.

    The pages hang up first, and then this finds nothing; it keeps the figures right when a
    page could not (crashed, offline). Telephony calls end by the platform's own `ended`.
    """
    leaving: dict[uuid.UUID, tuple[str, datetime]] = {}
    for event in stored:
        reason = _OVER_AFTER.get(event.type)
        if reason is None or event.interaction_id is None:
            continue
        view = engine.interaction(InteractionId(event.interaction_id))
        if view is not None and view.channel in _MAY_HAVE_A_CALL:
            leaving[uuid.UUID(event.interaction_id)] = (reason, event.occurred_at)
    if not leaving:
        return
    for call in await repository.browser_calls_up(session, list(leaving)):
        reason, at = leaving[call.interaction_id]
        if call.last_event_at is not None:
            at = max(at, call.last_event_at)
        await _record(
            session,
            call,
            CallEventType.ENDED,
            at=at,
            actor=_ROUTING_ACTOR,
            ended_by=CallParty.SYSTEM,
            reason=reason,
        )


async def _answer_figures(
    session: AsyncSession, interaction_id: uuid.UUID, at: datetime
) -> dict[str, Any]:
    """The queue, agent and wait of a call answered at `at`: the wait the engine measured
    when the agent accepted, plus the ringing until the call connected. Only the first
    answer after an acceptance has them (the figures count it); a leg set up again with the
    same agent has none."""
    accepted = await repository.last_acceptance(session, interaction_id)
    if accepted is None:
        return {}
    event_id, accepted_at, data = accepted
    if await repository.answered_after(session, interaction_id, event_id):
        return {}
    ring_s = max(0.0, (at - accepted_at).total_seconds())
    figures: dict[str, Any] = {
        "queue_id": data.get("queue_id"),
        "agent_id": data.get("agent_id"),
        "ring_s": round(ring_s, 3),
    }
    wait_s = data.get("wait_s")
    if isinstance(wait_s, int | float):
        figures["wait_s"] = round(float(wait_s) + ring_s, 3)
    return figures


async def end_interaction(
    session: AsyncSession, routing: RoutingService, interaction_id: uuid.UUID
) -> None:
    """After `ended`: wrap up an active interaction, abandon a waiting one, else nothing.

    Commits the session first: the writer needs connections of its own meanwhile.
    """
    row = await fresh_interaction(session, interaction_id)
    command = _ending_command(row)
    if command is None:
        return
    await session.commit()
    try:
        await routing.execute(command)
    except AppError as exc:
        # The agent completed it, or the caller left, a moment before: nothing left to do.
        if exc.status not in {404, 409}:
            raise
        if _ending_command(await fresh_interaction(session, interaction_id)) is not None:
            raise


async def read_call(session: AsyncSession, interaction_id: uuid.UUID) -> CallRead:
    """A call's state, figures and quality; a call with no event yet is `ringing`. A chat
    has a call once a browser call ran in it."""
    row = await fresh_interaction(session, interaction_id)
    call = await repository.get_call(session, interaction_id)
    if call is None and row.channel not in CALL_CHANNELS:
        raise NotACallError(row.channel.value)
    if call is None:
        call = Call(
            interaction_id=interaction_id,
            call_id=row.external_id,
            status=CallStatus.RINGING,
            hold_s=0.0,
            hold_count=0,
            legs=0,
            connected_s=0.0,
            quality={},
        )
    return CallRead(
        interaction_id=interaction_id,
        interaction_state=row.state,
        call_id=call.call_id,
        status=call.status,
        connected_at=call.connected_at,
        held_since=call.held_since,
        hold_s=call.hold_s,
        hold_count=call.hold_count,
        ended_at=call.ended_at,
        ended_by=call.ended_by,
        talk_s=talk_seconds(call),
        legs=call.legs,
        quality=CallQuality.model_validate(call.quality),
    )


def talk_seconds(call: Call) -> float | None:
    """Connected time less time on hold over every leg, once the call has ended after
    being answered."""
    if call.legs == 0 or call.ended_at is None:
        return None
    return max(0.0, call.connected_s - call.hold_s)


def _check_call_id(call: Call, interaction: Interaction, posted: str | None) -> None:
    expected = call.call_id or interaction.external_id
    if posted is not None and expected is not None and posted != expected:
        raise CallIdMismatchError(expected)


def _check_order(call: Call, interaction: Interaction, event: CallEventType) -> None:
    allowed, _ = _TRANSITIONS[event]
    if call.status not in allowed:
        detail = _REFUSALS.get((event, call.status), "The call has already ended.")
        raise CallEventOutOfOrderError(
            detail, call_status=call.status.value, interaction_state=interaction.state.value
        )
    if event is CallEventType.ANSWERED and interaction.state is not InteractionState.ACTIVE:
        raise CallEventOutOfOrderError(
            f"The interaction is {interaction.state.value}: an agent accepts it before the "
            "call is answered.",
            call_status=call.status.value,
            interaction_state=interaction.state.value,
        )


def _apply(
    call: Call, event: CallEventType, at: datetime, ended_by: CallParty | None
) -> dict[str, Any]:
    """Move the call on by one event; returns the event's data for the history."""
    data: dict[str, Any] = {"call_id": call.call_id}
    if event is CallEventType.ANSWERED:
        call.connected_at = call.connected_at or at
        call.leg_connected_at = at
        call.legs += 1
        data["leg"] = call.legs
    elif event is CallEventType.HELD:
        call.held_since = at
        call.hold_count += 1
    elif event is CallEventType.RESUMED:
        data["hold_s"] = _close_hold(call, at)
    else:
        if call.status is CallStatus.HELD:
            _close_hold(call, at)
        if call.leg_connected_at is not None:
            call.connected_s += max(0.0, (at - call.leg_connected_at).total_seconds())
            call.leg_connected_at = None
        call.ended_at = at
        call.ended_by = ended_by
        data["ended_by"] = ended_by.value if ended_by else None
        data["hold_s"] = call.hold_s
        data["talk_s"] = talk_seconds(call)
        if call.quality:
            data["quality"] = call.quality
    call.status = _TRANSITIONS[event][1]
    call.last_event_at = at
    return data


def _close_hold(call: Call, at: datetime) -> float:
    """End the running hold at `at`; returns its length in seconds."""
    assert call.held_since is not None, "only a held call has a hold to close"
    held_s = max(0.0, (at - call.held_since).total_seconds())
    call.hold_s += held_s
    call.held_since = None
    return held_s


def _ending_command(row: Interaction) -> c.Command | None:
    interaction_id = InteractionId(str(row.id))
    if row.state is InteractionState.ACTIVE:
        return c.Complete(interaction_id)
    if row.state in _WAITING:
        return c.Abandon(interaction_id)
    return None
