"""Call signaling over `/ws/chat` and `/ws/agent`, against a real server: SDP and ICE
candidates relayed between exactly the claimant and the agent holding the call, refusals,
sizes, the per-socket rate, hang-up, call invites on a chat, and nothing stored."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.calls.signaling import MAX_SDP_BYTES, SIGNAL_LIMIT
from app.interactions.models import InteractionEvent, Message
from tests.calls.conftest import Call, signal
from tests.channels.conftest import (
    Agent,
    Peer,
    Sockets,
    act,
    add_chat_agent,
    of_type,
    start_chat,
)
from tests.world import resources_of

MARKER = "x-switchboard-test-marker"
OFFER_SDP = f"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\na={MARKER}:offer\r\n"
ANSWER_SDP = f"v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\na={MARKER}:answer\r\n"
CANDIDATE = {
    "candidate": "candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
    "usernameFragment": "abcd",
}


async def error_of(peer: Peer) -> dict[str, Any]:
    """The next error frame the peer receives."""
    return (await peer.until("error"))[-1]


async def next_signal(peer: Peer) -> dict[str, Any]:
    """The next signal frame the peer receives."""
    return (await peer.until("signal"))[-1]


# --- relayed both ways -----------------------------------------------------------------------


async def test_offer_answer_and_candidates_are_relayed_between_claimant_and_agent(
    sockets: Sockets, ana: Agent, call: Call
) -> None:
    async with sockets.claimant(call.token) as claimant, sockets.desk(ana.token) as desk:
        await claimant.ready()
        await desk.ready()
        await claimant.send(signal(call.id, "offer", sdp=OFFER_SDP))
        offer = await next_signal(desk)
        await desk.send(signal(call.id, "answer", sdp=ANSWER_SDP))
        # The claimant's own offer never comes back: the first signal it gets is the answer.
        answer = await next_signal(claimant)
        await claimant.send(signal(call.id, "candidate", candidate=CANDIDATE))
        from_claimant = await next_signal(desk)
        await desk.send(signal(call.id, "candidate", candidate=None))
        from_agent = await next_signal(claimant)
    assert offer == {
        "type": "signal",
        "interaction_id": call.id,
        "call_id": call.id,
        "kind": "offer",
        "sdp": OFFER_SDP,
        "from": "customer",
    }
    assert (answer["kind"], answer["sdp"], answer["from"]) == ("answer", ANSWER_SDP, "agent")
    assert (from_claimant["candidate"], from_claimant["from"]) == (CANDIDATE, "customer")
    assert (from_agent["kind"], from_agent["candidate"]) == ("candidate", None)


async def test_an_ice_restart_and_a_hangup_reach_the_other_party(
    sockets: Sockets, ana: Agent, call: Call
) -> None:
    async with sockets.claimant(call.token) as claimant, sockets.desk(ana.token) as desk:
        await claimant.ready()
        await desk.ready()
        await desk.send(signal(call.id, "restart", sdp=OFFER_SDP))
        restart = await next_signal(claimant)
        await claimant.send(signal(call.id, "hangup", reason="ended"))
        hangup = await next_signal(desk)
    assert (restart["kind"], restart["sdp"], restart["from"]) == ("restart", OFFER_SDP, "agent")
    assert (hangup["kind"], hangup["reason"], hangup["from"]) == ("hangup", "ended", "customer")


# --- who may signal --------------------------------------------------------------------------


async def test_the_claimant_of_another_chat_is_refused(
    client: httpx.AsyncClient, sockets: Sockets, ana: Agent, call: Call
) -> None:
    other = await start_chat(client, name="Otra Persona")
    async with (
        sockets.claimant(other.token) as intruder,
        sockets.desk(ana.token) as desk,
    ):
        await intruder.ready()
        await desk.ready()
        await intruder.send(signal(call.id, "offer", sdp=OFFER_SDP, ref="o1"))
        refused = await error_of(intruder)
        relayed = await desk.settle()
    assert (refused["code"], refused["field"], refused["ref"]) == (
        "not_your_call",
        "interaction_id",
        "o1",
    )
    assert of_type(relayed, "signal") == []


async def test_an_agent_not_holding_the_call_is_refused(
    app: FastAPI, sockets: Sockets, ana: Agent, call: Call
) -> None:
    bea = await add_chat_agent(app, "bea.soto", "Bea Soto", available=False)
    async with sockets.claimant(call.token) as claimant, sockets.desk(bea.token) as desk:
        await claimant.ready()
        await desk.ready()
        await desk.send(signal(call.id, "offer", sdp=OFFER_SDP))
        refused = await error_of(desk)
        relayed = await claimant.settle()
    assert (refused["code"], refused["field"]) == ("not_your_call", "interaction_id")
    assert of_type(relayed, "signal") == []


async def test_signaling_on_a_chat_is_refused_as_not_a_call(
    client: httpx.AsyncClient, sockets: Sockets, ana: Agent
) -> None:
    chat = await start_chat(client)
    await act(client, chat, ana, "accept")
    async with sockets.claimant(chat.token) as claimant:
        await claimant.ready()
        await claimant.send(signal(chat.id, "offer", sdp=OFFER_SDP))
        refused = await error_of(claimant)
    assert refused["code"] == "not_a_call"


async def test_a_call_no_longer_active_is_refused(
    client: httpx.AsyncClient, sockets: Sockets, ana: Agent, call: Call
) -> None:
    response = await client.post(f"/api/v1/interactions/{call.id}/complete", headers=ana.headers)
    assert response.status_code == 200, response.text
    async with sockets.desk(ana.token) as desk:
        await desk.ready()
        await desk.send(signal(call.id, "offer", sdp=OFFER_SDP))
        refused = await error_of(desk)
    assert (refused["code"], refused["field"]) == ("call_not_active", "interaction_id")


# --- validation and rate ---------------------------------------------------------------------


async def test_an_sdp_over_the_limit_is_refused_naming_the_field(
    sockets: Sockets, ana: Agent, call: Call
) -> None:
    huge = "v=0\r\n" + "a=x\r\n" * (MAX_SDP_BYTES // 5)
    async with sockets.claimant(call.token) as claimant:
        await claimant.ready()
        await claimant.send(signal(call.id, "offer", sdp=huge))
        refused = await error_of(claimant)
    assert (refused["code"], refused["field"]) == ("too_large", "sdp")


async def test_a_bad_kind_and_another_call_id_are_refused_naming_the_field(
    sockets: Sockets, ana: Agent, call: Call
) -> None:
    async with sockets.desk(ana.token) as desk:
        await desk.ready()
        await desk.send(signal(call.id, "mute"))
        bad_kind = await error_of(desk)
        await desk.send({**signal(call.id, "hangup"), "call_id": str(uuid.uuid4())})
        bad_call = await error_of(desk)
    assert (bad_kind["code"], bad_kind["field"]) == ("validation_failed", "kind")
    assert (bad_call["code"], bad_call["field"]) == ("unknown_call", "call_id")


async def test_more_call_frames_than_the_rate_allows_are_refused(
    sockets: Sockets, ana: Agent, call: Call
) -> None:
    async with sockets.claimant(call.token) as claimant:
        await claimant.ready()
        for _ in range(SIGNAL_LIMIT.max_hits + 1):
            await claimant.send(signal(call.id, "candidate", candidate=CANDIDATE))
        frames = await claimant.until("error")
    assert [frame["code"] for frame in of_type(frames, "error")] == ["rate_limited"]


# --- nothing stored --------------------------------------------------------------------------


async def test_sdp_is_neither_stored_nor_logged(
    app: FastAPI,
    sockets: Sockets,
    ana: Agent,
    call: Call,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with sockets.claimant(call.token) as claimant, sockets.desk(ana.token) as desk:
        await claimant.ready()
        await desk.ready()
        await claimant.send(signal(call.id, "offer", sdp=OFFER_SDP))
        await next_signal(desk)
        await desk.send(signal(call.id, "answer", sdp=ANSWER_SDP))
        await next_signal(claimant)
    async with resources_of(app).sessions() as session:
        bodies = list(await session.scalars(select(Message.body)))
        events = list(await session.scalars(select(InteractionEvent.data)))
    assert not [body for body in bodies if MARKER in body]
    assert MARKER not in repr(events)
    assert MARKER not in caplog.text


# --- a chat turned into a call ---------------------------------------------------------------


async def test_an_accepted_call_invite_lets_a_chat_carry_signaling(
    client: httpx.AsyncClient, sockets: Sockets, ana: Agent
) -> None:
    chat = await start_chat(client)
    await act(client, chat, ana, "accept")
    async with sockets.claimant(chat.token) as claimant, sockets.desk(ana.token) as desk:
        await claimant.ready()
        await desk.ready()
        await desk.send({"type": "call_invite", "interaction_id": chat.id, "media": "voice"})
        invite = (await claimant.until("call_invite"))[-1]
        await claimant.send({"type": "call_accept", "interaction_id": chat.id})
        accepted = (await desk.until("call_accept"))[-1]
        await claimant.send(signal(chat.id, "offer", sdp=OFFER_SDP))
        offer = await next_signal(desk)
    assert invite == {
        "type": "call_invite",
        "interaction_id": chat.id,
        "call_id": chat.id,
        "media": "voice",
        "from": "agent",
    }
    assert accepted["from"] == "customer"
    assert (offer["kind"], offer["sdp"]) == ("offer", OFFER_SDP)


async def test_a_declined_call_invite_is_relayed_and_leaves_the_chat_no_call(
    client: httpx.AsyncClient, sockets: Sockets, ana: Agent
) -> None:
    chat = await start_chat(client)
    await act(client, chat, ana, "accept")
    async with sockets.claimant(chat.token) as claimant, sockets.desk(ana.token) as desk:
        await claimant.ready()
        await desk.ready()
        await claimant.send({"type": "call_accept", "interaction_id": chat.id})
        uninvited = await error_of(claimant)
        await desk.send({"type": "call_invite", "interaction_id": chat.id})
        await claimant.until("call_invite")
        await claimant.send({"type": "call_decline", "interaction_id": chat.id})
        declined = (await desk.until("call_decline"))[-1]
        await desk.send(signal(chat.id, "offer", sdp=OFFER_SDP))
        refused = await error_of(desk)
    assert uninvited["code"] == "no_call_invite"
    assert declined["from"] == "customer"
    assert refused["code"] == "not_a_call"
