"""The pure parts of call signaling: frame validation, the per-socket rate, who may send
what, and the frames relayed."""

from __future__ import annotations

from typing import Any

import pytest

from app.auth.rate_limit import Limit
from app.calls.signaling import (
    MAX_CANDIDATE_BYTES,
    MAX_SDP_BYTES,
    CallView,
    ClientFrame,
    FrameRate,
    Refusal,
    bus_frame,
    parse_client_frame,
    refusal_for,
    relay_frame,
)
from app.interactions.models import SenderKind
from app.routing.model import Channel, InteractionState

CALL_ID = "4b1f0c1e-6f0e-4f55-9a55-2f0d8f3b3c11"
AGENT_ID = "9b2c0000-0000-4000-8000-000000000001"
OTHER_AGENT_ID = "9b2c0000-0000-4000-8000-000000000002"
OTHER_CALL = "5d0e7a52-0c2b-4a43-9f3e-6a1d2b7c8e90"
SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
CANDIDATE = {
    "candidate": "candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
    "usernameFragment": "abcd",
}


def signal(kind: str, **fields: Any) -> dict[str, Any]:
    """A signal frame of the test call."""
    return {"type": "signal", "interaction_id": CALL_ID, "call_id": CALL_ID, "kind": kind, **fields}


def parsed(frame: dict[str, Any]) -> ClientFrame:
    """The frame, which must be valid, parsed."""
    result = parse_client_frame(frame)
    assert isinstance(result, ClientFrame), result
    return result


def refused(frame: dict[str, Any]) -> tuple[str, str | None]:
    """The code and field of the refusal of an invalid frame."""
    result = parse_client_frame(frame)
    assert isinstance(result, Refusal), result
    return result.code, result.field


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "payload"),
    [
        (signal("offer", sdp=SDP), {"kind": "offer", "sdp": SDP}),
        (signal("answer", sdp=SDP, extra="ignored"), {"kind": "answer", "sdp": SDP}),
        (signal("restart", sdp=SDP), {"kind": "restart", "sdp": SDP}),
        (signal("candidate", candidate=CANDIDATE), {"kind": "candidate", "candidate": CANDIDATE}),
        (signal("candidate", candidate=None), {"kind": "candidate", "candidate": None}),
        (
            signal("candidate", candidate={"candidate": "", "sdpMid": None}),
            {"kind": "candidate", "candidate": {"candidate": "", "sdpMid": None}},
        ),
        (signal("hangup"), {"kind": "hangup", "reason": None}),
        (signal("hangup", reason="ended"), {"kind": "hangup", "reason": "ended"}),
    ],
)
def test_a_valid_signal_keeps_only_what_is_relayed(
    frame: dict[str, Any], payload: dict[str, Any]
) -> None:
    result = parsed(frame)
    assert (result.type, str(result.interaction_id), result.payload) == (
        "signal",
        CALL_ID,
        payload,
    )


@pytest.mark.parametrize(
    ("frame", "code", "field"),
    [
        (
            {**signal("offer", sdp=SDP), "interaction_id": "nope"},
            "validation_failed",
            "interaction_id",
        ),
        ({**signal("offer", sdp=SDP), "call_id": None}, "validation_failed", "call_id"),
        ({**signal("offer", sdp=SDP), "call_id": OTHER_CALL}, "unknown_call", "call_id"),
        (signal("mute"), "validation_failed", "kind"),
        (signal("offer"), "validation_failed", "sdp"),
        (signal("offer", sdp="hello"), "validation_failed", "sdp"),
        (signal("answer", sdp=SDP + "a" * MAX_SDP_BYTES), "too_large", "sdp"),
        (signal("candidate"), "validation_failed", "candidate"),
        (signal("candidate", candidate="candidate:1"), "validation_failed", "candidate"),
        (
            signal("candidate", candidate={**CANDIDATE, "candidate": "c" * MAX_CANDIDATE_BYTES}),
            "too_large",
            "candidate",
        ),
        (
            signal("candidate", candidate={"sdpMid": "0"}),
            "validation_failed",
            "candidate.candidate",
        ),
        (
            signal("candidate", candidate={**CANDIDATE, "port": 1}),
            "validation_failed",
            "candidate.port",
        ),
        (
            signal("candidate", candidate={**CANDIDATE, "sdpMLineIndex": "0"}),
            "validation_failed",
            "candidate.sdpMLineIndex",
        ),
        (
            signal("candidate", candidate={**CANDIDATE, "sdpMLineIndex": -1}),
            "validation_failed",
            "candidate.sdpMLineIndex",
        ),
        (signal("hangup", reason="r" * 201), "validation_failed", "reason"),
        (
            {"type": "call_invite", "interaction_id": CALL_ID, "media": "fax"},
            "validation_failed",
            "media",
        ),
    ],
)
def test_an_invalid_frame_is_refused_naming_the_field(
    frame: dict[str, Any], code: str, field: str
) -> None:
    assert refused(frame) == (code, field)


def test_an_sdp_of_exactly_the_limit_is_accepted() -> None:
    sdp = SDP + "a" * (MAX_SDP_BYTES - len(SDP))
    assert parsed(signal("offer", sdp=sdp)).payload["sdp"] == sdp


def test_invitation_frames_take_the_interaction_id_as_call_id_when_none_is_given() -> None:
    invite = parsed({"type": "call_invite", "interaction_id": CALL_ID})
    accept = parsed({"type": "call_accept", "interaction_id": CALL_ID, "call_id": CALL_ID})
    assert (invite.payload, invite.kind) == ({"media": "video"}, None)
    assert (accept.type, accept.payload) == ("call_accept", {})


# --- rate ------------------------------------------------------------------------------------


def test_the_rate_refuses_past_the_limit_until_the_oldest_frame_leaves_the_window() -> None:
    rate = FrameRate(Limit(max_hits=3, window_s=10.0))
    assert [rate.take(now) for now in (0.0, 1.0, 2.0)] == [0.0, 0.0, 0.0]
    assert rate.take(5.0) == pytest.approx(5.0)
    assert rate.take(9.9) == pytest.approx(0.1)
    assert rate.take(10.0) == 0.0
    assert rate.take(10.5) == pytest.approx(0.5)


def test_refused_frames_do_not_count_towards_the_rate() -> None:
    rate = FrameRate(Limit(max_hits=1, window_s=1.0))
    assert rate.take(0.0) == 0.0
    for now in (0.1, 0.2, 0.3):
        assert rate.take(now) > 0
    assert rate.take(1.0) == 0.0


# --- who may send what -----------------------------------------------------------------------


def view(
    channel: Channel = Channel.VIDEO,
    state: InteractionState = InteractionState.ACTIVE,
    agent_id: str | None = AGENT_ID,
) -> CallView:
    """The test call as the check sees it."""
    return CallView(channel, state, agent_id)


OFFER = signal("offer", sdp=SDP)
INVITE = {"type": "call_invite", "interaction_id": CALL_ID}
ACCEPT = {"type": "call_accept", "interaction_id": CALL_ID}
OTHER_CHAT = "c866f31f-d3d0-4d2c-b0e2-bf9947e75a33"
CLAIMANT, AGENT = SenderKind.CUSTOMER, SenderKind.AGENT


@pytest.mark.parametrize(
    ("party", "me", "frame", "seen", "upgraded", "invited", "code"),
    [
        (CLAIMANT, CALL_ID, OFFER, view(), False, False, None),
        (AGENT, AGENT_ID, OFFER, view(Channel.VOICE), False, False, None),
        (CLAIMANT, OTHER_CHAT, OFFER, view(), False, False, "not_your_call"),
        (AGENT, OTHER_AGENT_ID, OFFER, view(), False, False, "not_your_call"),
        (AGENT, AGENT_ID, OFFER, None, False, False, "not_your_call"),
        (
            CLAIMANT,
            CALL_ID,
            OFFER,
            view(state=InteractionState.QUEUED, agent_id=None),
            False,
            False,
            "call_not_active",
        ),
        (
            AGENT,
            AGENT_ID,
            OFFER,
            view(state=InteractionState.WRAP_UP),
            False,
            False,
            "call_not_active",
        ),
        (CLAIMANT, CALL_ID, OFFER, view(Channel.CHAT), False, False, "not_a_call"),
        (CLAIMANT, CALL_ID, OFFER, view(Channel.CHAT), True, False, None),
        (AGENT, AGENT_ID, INVITE, view(Channel.CHAT), False, False, None),
        (AGENT, AGENT_ID, INVITE, view(Channel.VOICE), False, False, "already_a_call"),
        (CLAIMANT, CALL_ID, INVITE, view(Channel.CHAT), False, False, "not_allowed"),
        (CLAIMANT, CALL_ID, ACCEPT, view(Channel.CHAT), False, True, None),
        (CLAIMANT, CALL_ID, ACCEPT, view(Channel.CHAT), False, False, "no_call_invite"),
        (AGENT, AGENT_ID, ACCEPT, view(Channel.CHAT), False, True, "not_allowed"),
    ],
)
def test_only_the_claimant_and_the_holder_of_an_active_call_may_signal(
    party: SenderKind,
    me: str,
    frame: dict[str, Any],
    seen: CallView | None,
    upgraded: bool,
    invited: bool,
    code: str | None,
) -> None:
    refusal = refusal_for(party, me, parsed(frame), seen, upgraded=upgraded, invited=invited)
    assert (refusal.code if refusal else None) == code


# --- relayed frames --------------------------------------------------------------------------


def test_the_relayed_frame_names_the_call_and_the_sender_and_the_bus_frame_its_holder() -> None:
    relayed = relay_frame(parsed(signal("answer", sdp=SDP, ref="a1")), AGENT)
    assert relayed == {
        "type": "signal",
        "interaction_id": CALL_ID,
        "call_id": CALL_ID,
        "kind": "answer",
        "sdp": SDP,
        "from": "agent",
    }
    assert bus_frame(relayed, AGENT, AGENT_ID) == {
        "type": "call_relay",
        "interaction_id": CALL_ID,
        "agent_id": AGENT_ID,
        "from": "agent",
        "frame": relayed,
    }
