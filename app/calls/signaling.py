"""WebRTC signaling between the two parties of a call, over their existing websockets.

The claimant (`/ws/chat`) and the agent holding the interaction (`/ws/agent`) exchange SDP
offers and answers, ICE candidates, ICE restarts and hang-ups through the service; an
agent may also invite the claimant of a running chat to a call (`call_invite`, answered by
`call_accept` or `call_decline`). The call id is the interaction id: one call at a time per
interaction, and the holder check already tells one agent's call from the next one's.

Two frames are for the service, not the other party: `call_state` (each browser says when
its media first connected, the agent says held and resumed) and `call_quality` (a side's
getStats summary); with the relayed hang-ups they make the call's lifecycle and figures
(`app.calls.service`).

Every frame is checked here (shape, sizes, a per-socket rate, who may send it) and then
published on the bus's `chat` channel as one `call_relay` frame naming the interaction and
its holder, so it reaches the other party on whichever process serves it. The receiving
socket forwards only frames the other side sent. Nothing is stored and nothing is logged:
SDP names the callers' addresses.

The pure parts (`parse_client_frame`, `FrameRate`, `refusal_for`, `relay_frame`) take
plain values; `CallSignals` is the thin shell one socket holds.
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import ValidationError
from sqlalchemy import select

from app import clock
from app.auth.principals import Principal, Role
from app.auth.rate_limit import Limit
from app.calls import service
from app.calls.models import CallParty
from app.calls.schemas import BrowserCallState, CallQualityReport
from app.interactions.models import Interaction, SenderKind
from app.realtime.sockets import FrameSocket, error_frame
from app.routing.model import Channel, InteractionState
from app.state import Resources

Frame = dict[str, Any]

SIGNAL: Final = "signal"
CALL_INVITE: Final = "call_invite"
CALL_ACCEPT: Final = "call_accept"
CALL_DECLINE: Final = "call_decline"
CALL_STATE: Final = "call_state"
CALL_QUALITY: Final = "call_quality"
# Client frame types this module answers for; the sockets hand them over as they are.
CLIENT_TYPES: Final = frozenset(
    {SIGNAL, CALL_INVITE, CALL_ACCEPT, CALL_DECLINE, CALL_STATE, CALL_QUALITY}
)
# Frames the service records and does not relay.
RECORDED_TYPES: Final = frozenset({CALL_STATE, CALL_QUALITY})
AGENT_STATES: Final = frozenset({BrowserCallState.HELD.value, BrowserCallState.RESUMED.value})
# The bus frame that carries any of them to the other party's processes.
BUS_TYPE: Final = "call_relay"

KINDS: Final = ("offer", "answer", "candidate", "restart", "hangup")
# `restart` is an offer made with `createOffer({iceRestart: true})`, answered by `answer`.
SDP_KINDS: Final = frozenset({"offer", "answer", "restart"})
MEDIA: Final = (Channel.VOICE.value, Channel.VIDEO.value)
CALL_CHANNELS: Final = frozenset({Channel.VOICE, Channel.VIDEO})

# A browser's offer with audio, video and a screen-share track is 5-10 KB.
MAX_SDP_BYTES: Final = 16 * 1024
MAX_CANDIDATE_BYTES: Final = 1024
MAX_REASON_CHARS: Final = 200
MAX_REF_CHARS: Final = 100
# A call set-up sends a few dozen frames; an ICE restart as many again.
SIGNAL_LIMIT: Final = Limit(max_hits=50, window_s=10.0)
CANDIDATE_FIELDS: Final = {
    "candidate": str,
    "sdpMid": str,
    "sdpMLineIndex": int,
    "usernameFragment": str,
}


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a client frame was not relayed: an error frame's code, detail and field."""

    code: str
    detail: str
    field: str | None = None

    def frame(self, ref: str | None) -> Frame:
        """The error frame sent back to the socket that sent the refused frame."""
        return error_frame(self.code, self.detail, field=self.field, ref=ref)


@dataclass(frozen=True, slots=True)
class ClientFrame:
    """A well-formed call frame from a client: what it is about and what to relay."""

    type: str
    interaction_id: uuid.UUID
    # What the other party receives besides type, interaction_id, call_id and from.
    payload: Frame = field(default_factory=dict)

    @property
    def kind(self) -> str | None:
        """The signal's kind (`offer` ...), None for the invitation frames."""
        kind = self.payload.get("kind")
        return kind if isinstance(kind, str) else None


@dataclass(frozen=True, slots=True)
class CallView:
    """The interaction as the who-may-signal check sees it."""

    channel: Channel
    state: InteractionState
    agent_id: str | None


# --- validation ------------------------------------------------------------------------------


def frame_ref(frame: Frame) -> str | None:
    """The client's `ref`, echoed in the error frame that answers it."""
    ref = frame.get("ref")
    return ref if isinstance(ref, str) and len(ref) <= MAX_REF_CHARS else None


def parse_client_frame(frame: Frame) -> ClientFrame | Refusal:
    """Check a call frame's shape and sizes; what to relay, or why not (naming the field)."""
    kind = frame.get("type")
    if kind not in CLIENT_TYPES:
        return _invalid("type", f"one of {', '.join(sorted(CLIENT_TYPES))}")
    interaction_id = _uuid(frame.get("interaction_id"))
    if interaction_id is None:
        return _invalid("interaction_id", "a UUID")
    call_id = frame.get("call_id")
    if call_id is None and kind != SIGNAL:
        call_id = str(interaction_id)
    if not isinstance(call_id, str):
        return _invalid("call_id", "the interaction id")
    if _uuid(call_id) != interaction_id:
        return Refusal("unknown_call", "call_id: the call of an interaction has its id", "call_id")
    if kind == SIGNAL:
        return _parse_signal(frame, interaction_id)
    if kind == CALL_INVITE:
        media = frame.get("media", Channel.VIDEO.value)
        if media not in MEDIA:
            return _invalid("media", "voice or video")
        return ClientFrame(CALL_INVITE, interaction_id, {"media": media})
    if kind == CALL_STATE:
        state = frame.get("state")
        if state not in BrowserCallState.__members__.values():
            return _invalid("state", "one of connected, held, resumed")
        return ClientFrame(CALL_STATE, interaction_id, {"state": state})
    if kind == CALL_QUALITY:
        return _parse_quality(frame, interaction_id)
    return ClientFrame(str(kind), interaction_id)


def _parse_quality(frame: Frame, interaction_id: uuid.UUID) -> ClientFrame | Refusal:
    try:
        report = CallQualityReport.model_validate(frame)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ".".join(str(part) for part in error["loc"]) or "call_quality"
        return Refusal("validation_failed", f"{name}: {error['msg']}", name)
    return ClientFrame(CALL_QUALITY, interaction_id, report.model_dump())


def _parse_signal(frame: Frame, interaction_id: uuid.UUID) -> ClientFrame | Refusal:
    kind = frame.get("kind")
    if kind not in KINDS:
        return _invalid("kind", f"one of {', '.join(KINDS)}")
    payload: Frame = {"kind": kind}
    if kind in SDP_KINDS:
        sdp = frame.get("sdp")
        if not isinstance(sdp, str) or not sdp.startswith("v=0"):
            return _invalid("sdp", "a session description (it begins with v=0)")
        if len(sdp.encode()) > MAX_SDP_BYTES:
            return _too_large("sdp", MAX_SDP_BYTES)
        payload["sdp"] = sdp
    elif kind == "candidate":
        if "candidate" not in frame:
            return _invalid("candidate", "an RTCIceCandidateInit object, or null")
        candidate = frame["candidate"]
        refusal = _check_candidate(candidate)
        if refusal is not None:
            return refusal
        payload["candidate"] = candidate
    else:
        reason = frame.get("reason")
        if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_REASON_CHARS):
            return _invalid("reason", f"a text of at most {MAX_REASON_CHARS} characters")
        payload["reason"] = reason
    return ClientFrame(SIGNAL, interaction_id, payload)


def _check_candidate(candidate: Any) -> Refusal | None:
    # null is the end of candidates (what `onicecandidate` gives last).
    if candidate is None:
        return None
    if not isinstance(candidate, dict):
        return _invalid("candidate", "an RTCIceCandidateInit object, or null")
    if len(json.dumps(candidate, separators=(",", ":")).encode()) > MAX_CANDIDATE_BYTES:
        return _too_large("candidate", MAX_CANDIDATE_BYTES)
    if not isinstance(candidate.get("candidate"), str):
        return _invalid("candidate.candidate", "the candidate line (a string, '' for the end)")
    for key, value in candidate.items():
        expected = CANDIDATE_FIELDS.get(key)
        if expected is None:
            return _invalid(f"candidate.{key}", "not a field of RTCIceCandidateInit")
        if value is None and key != "candidate":
            continue
        if not isinstance(value, expected) or isinstance(value, bool):
            return _invalid(f"candidate.{key}", f"a {expected.__name__} or null")
    index = candidate.get("sdpMLineIndex")
    if isinstance(index, int) and index < 0:
        return _invalid("candidate.sdpMLineIndex", "a media line number (0 or more)")
    return None


def _invalid(name: str, expected: str) -> Refusal:
    return Refusal("validation_failed", f"{name}: {expected}", name)


def _too_large(name: str, limit: int) -> Refusal:
    return Refusal("too_large", f"{name}: at most {limit} bytes", name)


def _uuid(value: Any) -> uuid.UUID | None:
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


# --- rate ------------------------------------------------------------------------------------


class FrameRate:
    """A sliding window over one socket's call frames: at most `limit.max_hits` of them in
    any `limit.window_s` seconds. Frames refused for the rate do not count."""

    def __init__(self, limit: Limit = SIGNAL_LIMIT) -> None:
        self.limit = limit
        # Made at the first call frame: most sockets never send one, and a deque is 600 bytes.
        self._hits: deque[float] | None = None

    def take(self, now: float) -> float:
        """Count a frame at `now` and answer 0, or answer the seconds until one may be sent."""
        if self._hits is None:
            self._hits = deque()
        while self._hits and self._hits[0] <= now - self.limit.window_s:
            self._hits.popleft()
        if len(self._hits) >= self.limit.max_hits:
            return self._hits[0] + self.limit.window_s - now
        self._hits.append(now)
        return 0.0


# --- who may send what -----------------------------------------------------------------------


def refusal_for(
    party: SenderKind,
    me: str,
    parsed: ClientFrame,
    view: CallView | None,
    *,
    upgraded: bool,
    invited: bool,
) -> Refusal | None:
    """None when `me` (a claimant's interaction id, or an agent's id) may send `parsed`.

    Only the claimant of the interaction and the agent holding it may; the interaction must
    be active, and a call (voice, video, or a chat whose claimant accepted a call invite).
    """
    if parsed.type == CALL_INVITE and party is not SenderKind.AGENT:
        return Refusal("not_allowed", "Only the agent invites to a call.", "type")
    if parsed.type in (CALL_ACCEPT, CALL_DECLINE) and party is not SenderKind.CUSTOMER:
        return Refusal("not_allowed", "Only the claimant answers a call invite.", "type")
    if parsed.payload.get("state") in AGENT_STATES and party is not SenderKind.AGENT:
        return Refusal("not_allowed", "Only the agent holds and resumes a call.", "state")
    if view is None or not _is_party(party, me, parsed.interaction_id, view):
        return Refusal("not_your_call", "No call of yours with that id.", "interaction_id")
    if view.state is not InteractionState.ACTIVE:
        detail = f"The interaction is {view.state.value}: calls run while it is active."
        return Refusal("call_not_active", detail, "interaction_id")
    is_call = view.channel in CALL_CHANNELS
    if parsed.type == CALL_INVITE:
        if is_call:
            return Refusal("already_a_call", "The interaction is a call already.", "interaction_id")
        return None
    if parsed.type in (CALL_ACCEPT, CALL_DECLINE):
        if not invited:
            return Refusal("no_call_invite", "There is no call invite to answer.", "type")
        return None
    if not (is_call or upgraded):
        return Refusal(
            "not_a_call", "The interaction is not a call (and no invite was accepted).", "type"
        )
    return None


def _is_party(party: SenderKind, me: str, interaction_id: uuid.UUID, view: CallView) -> bool:
    if party is SenderKind.CUSTOMER:
        return str(interaction_id) == me
    return view.agent_id == me


def relay_frame(parsed: ClientFrame, sender: SenderKind) -> Frame:
    """The frame the other party receives."""
    interaction_id = str(parsed.interaction_id)
    return {
        "type": parsed.type,
        "interaction_id": interaction_id,
        "call_id": interaction_id,
        **parsed.payload,
        "from": sender.value,
    }


def bus_frame(relayed: Frame, sender: SenderKind, holder: str) -> Frame:
    """The `chat` bus frame that carries `relayed`; `agent_id` also routes it to the
    holder's desk by agent key."""
    return {
        "type": BUS_TYPE,
        "interaction_id": relayed["interaction_id"],
        "agent_id": holder,
        "from": sender.value,
        "frame": relayed,
    }


# --- the shell one socket holds ----------------------------------------------------------------


@dataclass
class _Calls:
    """Chat interactions this socket has seen a call invite for, or an accepted one."""

    invited: set[str] = field(default_factory=set)
    upgraded: set[str] = field(default_factory=set)

    def note(self, relayed: Frame) -> None:
        """Follow the invitation frames (and hang-ups) as they pass."""
        interaction_id = str(relayed.get("interaction_id"))
        kind = relayed.get("type")
        if kind == CALL_INVITE:
            self.invited.add(interaction_id)
        elif kind == CALL_ACCEPT:
            self.invited.discard(interaction_id)
            self.upgraded.add(interaction_id)
        elif kind == CALL_DECLINE or (kind == SIGNAL and relayed.get("kind") == "hangup"):
            self.invited.discard(interaction_id)
            self.upgraded.discard(interaction_id)


class CallSignals:
    """One socket's side of call signaling: checks its frames and relays them, and forwards
    the other party's frames from the bus."""

    def __init__(self, resources: Resources, socket: FrameSocket, principal: Principal) -> None:
        self._resources = resources
        self._socket = socket
        claimant = principal.role is Role.CLAIMANT
        self._party = SenderKind.CUSTOMER if claimant else SenderKind.AGENT
        self._me = (principal.interaction_id if claimant else principal.subject_id) or ""
        # Who the history names as the actor of what this socket records.
        self._role = principal.role.value
        self._subject = principal.subject_id
        self._rate = FrameRate()
        self._calls = _Calls()

    async def from_client(self, frame: Frame) -> None:
        """Check one call frame of this socket's client and relay it, or send an error."""
        ref = frame_ref(frame)
        wait_s = self._rate.take(clock.monotonic_s())
        if wait_s > 0:
            limit = self._rate.limit
            detail = (
                f"At most {limit.max_hits} call frames in {limit.window_s:g} s; "
                f"retry in {wait_s:.1f} s."
            )
            await self._socket.send(Refusal("rate_limited", detail).frame(ref))
            return
        parsed = parse_client_frame(frame)
        if isinstance(parsed, Refusal):
            await self._socket.send(parsed.frame(ref))
            return
        interaction_id = str(parsed.interaction_id)
        view = await self._view(parsed.interaction_id)
        refusal = refusal_for(
            self._party,
            self._me,
            parsed,
            view,
            upgraded=interaction_id in self._calls.upgraded,
            invited=interaction_id in self._calls.invited,
        )
        if refusal is not None:
            await self._socket.send(refusal.frame(ref))
            return
        # `refusal_for` lets through only an active interaction, which has its agent.
        assert view is not None and view.agent_id is not None
        if parsed.type in RECORDED_TYPES:
            await self._record(parsed)
            return
        relayed = relay_frame(parsed, self._party)
        # Noted at once, not when the bus brings it back: the next frame may depend on it.
        self._calls.note(relayed)
        await self._resources.hub.publish_chat(bus_frame(relayed, self._party, view.agent_id))
        if parsed.kind == "hangup":
            await self._record(parsed)

    async def _record(self, parsed: ClientFrame) -> None:
        """Store what a frame says of the call's lifecycle or quality (one transaction)."""
        party = CallParty.CUSTOMER if self._party is SenderKind.CUSTOMER else CallParty.AGENT
        actor = (self._role, self._subject)
        async with self._resources.sessions() as session:
            if parsed.type == CALL_QUALITY:
                report = CallQualityReport.model_validate(parsed.payload)
                await service.record_quality(
                    session, interaction_id=parsed.interaction_id, party=party, report=report
                )
            elif parsed.type == CALL_STATE:
                await service.record_browser_state(
                    session,
                    interaction_id=parsed.interaction_id,
                    party=party,
                    actor=actor,
                    state=BrowserCallState(parsed.payload["state"]),
                )
            else:
                await service.record_hang_up(
                    session,
                    interaction_id=parsed.interaction_id,
                    party=party,
                    actor=actor,
                    reason=parsed.payload.get("reason"),
                )
            await session.commit()

    async def from_bus(self, frame: Frame) -> None:
        """A `call_relay` frame from the bus: forward it if the other party sent it to us."""
        relayed = frame.get("frame")
        if not isinstance(relayed, dict):
            return
        if self._party is SenderKind.CUSTOMER:
            ours = str(frame.get("interaction_id")) == self._me
        else:
            ours = str(frame.get("agent_id")) == self._me
        if not ours:
            return
        self._calls.note(relayed)
        if frame.get("from") != self._party.value:
            await self._socket.send(relayed)

    async def _view(self, interaction_id: uuid.UUID) -> CallView | None:
        async with self._resources.read_engine.connect() as connection:
            found = await connection.execute(
                select(Interaction.channel, Interaction.state, Interaction.agent_id).where(
                    Interaction.id == interaction_id
                )
            )
            row = found.first()
        if row is None:
            return None
        agent_id = None if row[2] is None else str(row[2])
        return CallView(Channel(row[0]), InteractionState(row[1]), agent_id)
