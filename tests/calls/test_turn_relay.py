"""A voice call through a TURN relay on loopback, end to end.

The service runs for real (uvicorn on 127.0.0.1) with `TURN_URLS` naming a coturn the test
starts on 127.0.0.1 (tests/calls/turn.py). Two aiortc peers play the claimant and the
agent: each fetches its own `iceServers` from `GET /api/v1/calls/ice-servers`, gathers
relay candidates only (`iceTransportPolicy` "relay": aiortc then gathers no host or
server-reflexive candidate at all, so nothing is sent to any address but coturn's), and
the offer and answer travel as `signal` frames over `/ws/chat` and `/ws/agent` (aiortc
puts its candidates in the SDP, so no `candidate` frame is needed). Data channel messages
then cross the relay both ways.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
)
from fastapi import FastAPI
from pydantic import SecretStr

from app.main import create_app
from app.settings import Settings
from tests.calls.turn import HOST, TurnServer, running_turnserver
from tests.channels.conftest import (
    QUEUE,
    SKILL,
    Agent,
    Peer,
    Sockets,
    act,
    add_chat_agent,
    quiet_grace_keeper,
    start_chat,
)
from tests.world import add_queue

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.serial,
    pytest.mark.timeout(60),
    # The relay is the subject here, not the database: SQLite only.
    pytest.mark.parametrize("migrated_settings", ["sqlite"], indirect=True),
]

WAIT_S = 5.0
POLL_S = 0.02
# With the right credentials the peers connect in about 0.1 s on loopback; with wrong ones
# they must still not be connected after this long.
REFUSED_WINDOW_S = 2.0
QUESTION = "¿Me oye bien?"
REPLY = "Sí, la oigo."
CANDIDATE_LINE = re.compile(r"^a=candidate:\S+ \d+ (\w+) \d+ (\S+) (\d+) typ (\w+)", re.MULTILINE)


@dataclass(frozen=True)
class SdpCandidate:
    """One `a=candidate` line of an SDP."""

    transport: str
    address: str
    port: int
    type: str


def sdp_candidates(sdp: str) -> list[SdpCandidate]:
    """The candidates an SDP carries."""
    return [
        SdpCandidate(transport.lower(), address, int(port), kind)
        for transport, address, port, kind in CANDIDATE_LINE.findall(sdp)
    ]


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def turn_server(tmp_path: Path) -> Iterator[TurnServer]:
    """coturn on 127.0.0.1 with a random secret, for the length of the test."""
    with running_turnserver(tmp_path / "coturn") as server:
        yield server


@pytest.fixture
def turn_secret(turn_server: TurnServer) -> str:
    """The `TURN_SECRET` the service derives credentials from: coturn's own by default
    (parametrize it to give the service another)."""
    return turn_server.secret


@pytest.fixture
async def app(
    migrated_settings: Settings,
    turn_server: TurnServer,
    turn_secret: str,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[FastAPI]:
    """The application with `TURN_URLS` naming the loopback coturn, and no STUN server."""
    quiet_grace_keeper(monkeypatch)
    settings = migrated_settings.model_copy(
        update={
            "stun_urls": [],
            "turn_urls": [turn_server.url],
            "turn_secret": SecretStr(turn_secret),
        }
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def sockets(app: FastAPI, live_url: str) -> Sockets:
    """Websockets to `app` served on 127.0.0.1."""
    return Sockets(app, live_url)


@pytest.fixture
async def http(live_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the real server."""
    async with httpx.AsyncClient(base_url=f"http://{live_url}", timeout=WAIT_S) as client:
        yield client


@pytest.fixture
async def ana(app: FastAPI) -> Agent:
    """Ana Ruiz, available, in front of the Unemployment Insurance queue."""
    await add_queue(app, QUEUE, {SKILL: 3})
    return await add_chat_agent(app, "ana.ruiz", "Ana Ruiz")


@dataclass(frozen=True)
class VoiceCall:
    """A voice call the claimant started from the form and Ana accepted."""

    id: str
    claimant_token: str
    agent_token: str


@pytest.fixture
async def voice_call(http: httpx.AsyncClient, ana: Agent) -> VoiceCall:
    """A voice call started on the real server and accepted by Ana."""
    chat = await start_chat(http, channel="voice")
    await act(http, chat, ana, "accept")
    return VoiceCall(chat.id, chat.token, ana.token)


# --- the peers -------------------------------------------------------------------------------


async def ice_servers_for(http: httpx.AsyncClient, token: str) -> list[RTCIceServer]:
    """The caller's `iceServers` from the service, as aiortc takes them."""
    response = await http.get(
        "/api/v1/calls/ice-servers", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return [
        RTCIceServer(
            urls=entry["urls"], username=entry.get("username"), credential=entry.get("credential")
        )
        for entry in response.json()["iceServers"]
    ]


@asynccontextmanager
async def relay_peer(ice_servers: list[RTCIceServer]) -> AsyncIterator[RTCPeerConnection]:
    """An aiortc peer that uses relay candidates only, closed afterwards.

    `iceServers` is always given: with none, aiortc would fall back to a public STUN server.
    """
    assert ice_servers, "the service gave no ICE server"
    configuration = RTCConfiguration(
        iceServers=ice_servers, iceTransportPolicy=RTCIceTransportPolicy.RELAY
    )
    peer = RTCPeerConnection(configuration)
    try:
        yield peer
    finally:
        async with asyncio.timeout(WAIT_S):
            await peer.close()


def signal(call_id: str, kind: str, **fields: Any) -> dict[str, Any]:
    """A client's signal frame for the call."""
    return {"type": "signal", "interaction_id": call_id, "call_id": call_id, "kind": kind, **fields}


async def next_signal(socket: Peer, kind: str) -> dict[str, Any]:
    """The next signal frame the socket receives, which must be of `kind`."""
    frame = (await socket.until("signal"))[-1]
    assert frame["kind"] == kind, frame
    return frame


@dataclass(frozen=True)
class Negotiated:
    """The SDPs as each side made them and as the other side received them."""

    offer: str
    offer_received: str
    answer: str
    answer_received: str


async def negotiate(
    call_id: str,
    claimant: Peer,
    desk: Peer,
    caller: RTCPeerConnection,
    answerer: RTCPeerConnection,
) -> Negotiated:
    """The claimant's peer offers, the agent's answers, through the service's sockets.

    aiortc gathers every candidate before `setLocalDescription` returns, so the SDPs carry
    them all and end with `a=end-of-candidates`.
    """
    async with asyncio.timeout(WAIT_S):
        await caller.setLocalDescription(await caller.createOffer())
    offer = caller.localDescription.sdp
    await claimant.send(signal(call_id, "offer", sdp=offer))
    offer_received = (await next_signal(desk, "offer"))["sdp"]
    async with asyncio.timeout(WAIT_S):
        await answerer.setRemoteDescription(RTCSessionDescription(offer_received, "offer"))
        await answerer.setLocalDescription(await answerer.createAnswer())
    answer = answerer.localDescription.sdp
    await desk.send(signal(call_id, "answer", sdp=answer))
    answer_received = (await next_signal(claimant, "answer"))["sdp"]
    async with asyncio.timeout(WAIT_S):
        await caller.setRemoteDescription(RTCSessionDescription(answer_received, "answer"))
    return Negotiated(offer, offer_received, answer, answer_received)


async def wait_connected(*peers: RTCPeerConnection, within_s: float = WAIT_S) -> bool:
    """Whether every peer reaches `connected` within `within_s` (False if one fails)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        states = {peer.connectionState for peer in peers}
        if states == {"connected"}:
            return True
        if "failed" in states:
            return False
        await asyncio.sleep(POLL_S)
    return False


def answer_questions(answerer: RTCPeerConnection, reply: str) -> asyncio.Future[str]:
    """Make the answering peer reply `reply` on the caller's data channel; the future holds
    the first question it got."""
    heard: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    @answerer.on("datachannel")
    def on_channel(channel: RTCDataChannel) -> None:
        @channel.on("message")
        def on_message(message: str | bytes) -> None:
            if not heard.done():
                heard.set_result(str(message))
                channel.send(reply)

    return heard


async def ask(channel: RTCDataChannel, question: str) -> str:
    """Send `question` once the channel is open; the first message that comes back."""
    opened = asyncio.Event()
    replied: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    channel.on("open", opened.set)

    @channel.on("message")
    def on_message(message: str | bytes) -> None:
        if not replied.done():
            replied.set_result(str(message))

    async with asyncio.timeout(WAIT_S):
        if channel.readyState != "open":
            await opened.wait()
        channel.send(question)
        return await replied


@dataclass(frozen=True)
class SelectedPair:
    """The candidate pair ICE selected: local and remote type and address."""

    local_type: str
    local_address: tuple[str, int]
    remote_type: str
    remote_address: tuple[str, int]


def selected_pair(peer: RTCPeerConnection) -> SelectedPair:
    """The pair the peer's ICE connection nominated.

    aiortc's getStats has no candidate-pair entry: the choice lives in aioice's connection
    (a private attribute, hence this one accessor).
    """
    assert peer.sctp is not None
    connection = peer.sctp.transport.transport._connection
    pair = connection._nominated[1]
    return SelectedPair(
        pair.local_candidate.type,
        (pair.local_candidate.host, pair.local_candidate.port),
        pair.remote_candidate.type,
        (pair.remote_candidate.host, pair.remote_candidate.port),
    )


def on_relay(turn: TurnServer, address: tuple[str, int]) -> bool:
    """Whether `address` is one of coturn's relay ports on loopback."""
    host, port = address
    return host == HOST and turn.relay_min <= port <= turn.relay_max


# --- tests -----------------------------------------------------------------------------------


async def test_a_voice_call_connects_through_the_loopback_turn_relay_only(
    http: httpx.AsyncClient, sockets: Sockets, voice_call: VoiceCall, turn_server: TurnServer
) -> None:
    claimant_servers = await ice_servers_for(http, voice_call.claimant_token)
    agent_servers = await ice_servers_for(http, voice_call.agent_token)
    started = time.monotonic()
    async with (
        sockets.claimant(voice_call.claimant_token) as claimant,
        sockets.desk(voice_call.agent_token) as desk,
        relay_peer(claimant_servers) as caller,
        relay_peer(agent_servers) as answerer,
    ):
        await claimant.ready()
        await desk.ready()
        heard = answer_questions(answerer, REPLY)
        channel = caller.createDataChannel("call-chat")
        sdps = await negotiate(voice_call.id, claimant, desk, caller, answerer)
        connected = await wait_connected(caller, answerer)
        connected_s = time.monotonic() - started
        states = (caller.connectionState, answerer.connectionState)
        assert connected, (states, turn_server.log()[-2000:])
        reply = await ask(channel, QUESTION)
        async with asyncio.timeout(WAIT_S):
            question = await heard
        caller_pair, answerer_pair = selected_pair(caller), selected_pair(answerer)
    # Only the TURN server, on loopback, each with the caller's own credentials.
    for servers in (claimant_servers, agent_servers):
        assert [server.urls for server in servers] == [[turn_server.url]]
    assert claimant_servers[0].username != agent_servers[0].username
    # The relay carried the SDPs as they were made.
    assert (sdps.offer_received, sdps.answer_received) == (sdps.offer, sdps.answer)
    candidates = sdp_candidates(sdps.offer) + sdp_candidates(sdps.answer)
    assert candidates, "no candidate gathered"
    assert {(c.type, c.transport) for c in candidates} == {("relay", "udp")}
    assert all(on_relay(turn_server, (c.address, c.port)) for c in candidates), candidates
    assert connected_s < WAIT_S
    assert (question, reply) == (QUESTION, REPLY)
    for pair in (caller_pair, answerer_pair):
        assert (pair.local_type, pair.remote_type) == ("relay", "relay")
        assert on_relay(turn_server, pair.local_address), pair
        assert on_relay(turn_server, pair.remote_address), pair
    # Each side sends to the other's relay address.
    assert caller_pair.local_address == answerer_pair.remote_address
    assert caller_pair.remote_address == answerer_pair.local_address


@pytest.mark.parametrize("turn_secret", ["not-the-relay-secret"])
async def test_credentials_made_with_another_secret_get_no_relay_and_no_connection(
    http: httpx.AsyncClient, sockets: Sockets, voice_call: VoiceCall, turn_server: TurnServer
) -> None:
    claimant_servers = await ice_servers_for(http, voice_call.claimant_token)
    agent_servers = await ice_servers_for(http, voice_call.agent_token)
    async with (
        sockets.claimant(voice_call.claimant_token) as claimant,
        sockets.desk(voice_call.agent_token) as desk,
        relay_peer(claimant_servers) as caller,
        relay_peer(agent_servers) as answerer,
    ):
        await claimant.ready()
        await desk.ready()
        caller.createDataChannel("call-chat")
        started = time.monotonic()
        sdps = await negotiate(voice_call.id, claimant, desk, caller, answerer)
        negotiated_s = time.monotonic() - started
        connected = await wait_connected(caller, answerer, within_s=REFUSED_WINDOW_S)
        states = (caller.connectionState, answerer.connectionState)
    # coturn refused both allocations, so neither side has a candidate to offer; aiortc
    # then never starts its checks (it stays "new" rather than reporting "failed").
    assert sdp_candidates(sdps.offer) == []
    assert sdp_candidates(sdps.answer) == []
    assert not connected, states
    assert "connected" not in states
    # The refusal is quick: gathering does not hang on the relay.
    assert negotiated_s < WAIT_S
