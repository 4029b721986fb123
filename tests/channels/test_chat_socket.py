"""The claimant's websocket `/ws/chat`, against a real server: handshake, replay, messages
both ways, what the agent's actions look like from the claimant's side, and grace periods."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from fastapi import FastAPI

from app import clock
from app.agents.models import StaffRole
from app.auth.tokens import issue_claimant_token
from app.channels.chat import service as chat_service
from app.realtime.grace import CLAIMANT, GraceKeeper
from tests.channels.conftest import (
    QUEUE,
    Agent,
    Chat,
    Sockets,
    act,
    add_chat_agent,
    age_disconnection,
    connected,
    disconnected,
    interaction_row,
    of_type,
    send_as,
    seqs,
    start_chat,
    wait_for_presence,
)
from tests.conftest import CallerFactory
from tests.world import resources_of

MESSAGE_KEYS = {
    "type",
    "interaction_id",
    "seq",
    "from",
    "author",
    "body",
    "sent_at",
    "client_message_id",
}
# Well past the default grace period of 60 s.
LONG_AGO_S = 600.0


@pytest.fixture
async def chat(client: httpx.AsyncClient, queue_id: uuid.UUID) -> Chat:
    """A chat waiting in line (no agent)."""
    return await start_chat(client)


@pytest.fixture
async def ana(app: FastAPI, queue_id: uuid.UUID) -> Agent:
    """Ana Ruiz, available for chats."""
    return await add_chat_agent(app, "ana.ruiz", "Ana Ruiz")


@pytest.fixture
async def talking(client: httpx.AsyncClient, ana: Agent) -> Chat:
    """A chat Ana accepted."""
    chat = await start_chat(client)
    await act(client, chat, ana, "accept")
    return chat


async def _state(client: httpx.AsyncClient, chat: Chat) -> str:
    state: str = (await client.get(chat.path, headers=chat.headers)).json()["state"]
    return state


async def _leave(app: FastAPI, sockets: Sockets, chat: Chat) -> None:
    """The claimant connects and goes away; the server noted the leaving."""
    async with sockets.claimant(chat.token) as peer:
        await peer.ready()
    await wait_for_presence(app, CLAIMANT, chat.id, disconnected)


# --- handshake -------------------------------------------------------------------------------


async def test_hello_is_answered_with_welcome_then_the_stored_messages_then_the_place_in_line(
    client: httpx.AsyncClient, sockets: Sockets, chat: Chat
) -> None:
    await send_as(client, chat, chat.headers, "Hello?")
    async with sockets.claimant(chat.token) as peer:
        frames = await peer.until("queue")
    assert [frame["type"] for frame in frames] == ["welcome", "message", "message", "queue"]
    assert frames[0] == {
        "type": "welcome",
        "interaction_id": chat.id,
        "state": "queued",
        "last_seq": 2,
        "agent": None,
        "ended": False,
    }
    assert seqs(frames) == [1, 2]
    assert (frames[3]["position"], frames[3]["estimated_wait_s"]) == (1, None)


async def test_message_frames_carry_exactly_the_documented_fields(
    sockets: Sockets, chat: Chat
) -> None:
    async with sockets.claimant(chat.token) as peer:
        frames = await peer.until("message")
    assert set(frames[-1]) == MESSAGE_KEYS


async def test_a_first_frame_that_is_not_a_hello_closes_with_4400(
    sockets: Sockets, chat: Chat
) -> None:
    first = {"type": "message", "client_message_id": "c-1", "body": "hi"}
    async with sockets.open("/ws/chat", first) as peer:
        assert await peer.closed() == 4400


async def test_a_bad_token_closes_with_4401(sockets: Sockets, chat: Chat) -> None:
    async with sockets.claimant(chat.token + "x") as peer:
        assert await peer.closed() == 4401


async def test_a_staff_token_closes_with_4403(sockets: Sockets, ana: Agent) -> None:
    async with sockets.claimant(ana.token) as peer:
        assert await peer.closed() == 4403


async def test_a_token_for_a_chat_that_does_not_exist_closes_with_4404(
    app: FastAPI, sockets: Sockets
) -> None:
    token = issue_claimant_token(
        resources_of(app).secret_key,
        interaction_id=str(uuid.uuid4()),
        name="Nobody",
        now=clock.now_s(),
    )
    async with sockets.claimant(token.token) as peer:
        assert await peer.closed() == 4404


async def test_a_ping_is_answered_with_pong(sockets: Sockets, chat: Chat) -> None:
    async with sockets.claimant(chat.token) as peer:
        await peer.until("queue")
        await peer.send({"type": "ping"})
        assert (await peer.until("pong"))[-1] == {"type": "pong"}


# --- the claimant's messages -----------------------------------------------------------------


async def test_a_sent_message_is_acknowledged_with_its_seq_and_delivered_once(
    sockets: Sockets, chat: Chat
) -> None:
    async with sockets.claimant(chat.token) as peer:
        await peer.until("queue")
        await peer.send({"type": "message", "client_message_id": "c-1", "body": "Any news?"})
        frames = await peer.settle()
        frames += await peer.settle()
    assert of_type(frames, "ack") == [{"type": "ack", "client_message_id": "c-1", "seq": 2}]
    [message] = of_type(frames, "message")
    assert (message["seq"], message["body"], message["from"]) == (2, "Any news?", "customer")
    assert message["client_message_id"] == "c-1"


async def test_a_repeated_client_message_id_is_stored_once_and_acknowledged_again(
    client: httpx.AsyncClient, sockets: Sockets, chat: Chat
) -> None:
    frame = {"type": "message", "client_message_id": "c-1", "body": "Any news?"}
    async with sockets.claimant(chat.token) as peer:
        await peer.until("queue")
        await peer.send(frame)
        await peer.send(frame)
        frames = await peer.settle()
        frames += await peer.settle()
    assert [ack["seq"] for ack in of_type(frames, "ack")] == [2, 2]
    assert seqs(frames) == [2]
    listed = (await client.get(f"{chat.path}/messages", headers=chat.headers)).json()
    assert [m["seq"] for m in listed["messages"]] == [1, 2]


async def test_an_invalid_message_is_an_error_frame_naming_the_field_and_the_socket_stays_open(
    sockets: Sockets, chat: Chat
) -> None:
    async with sockets.claimant(chat.token) as peer:
        await peer.until("queue")
        await peer.send({"type": "message", "client_message_id": "c-9", "body": "   "})
        error = await peer.receive()
        assert await peer.settle() == []
    assert (error["type"], error["code"]) == ("error", "validation_failed")
    assert (error["field"], error["ref"]) == ("body", "c-9")


async def test_an_unknown_frame_type_is_an_error_frame(sockets: Sockets, chat: Chat) -> None:
    async with sockets.claimant(chat.token) as peer:
        await peer.until("queue")
        await peer.send({"type": "dance"})
        error = await peer.receive()
    assert (error["type"], error["code"]) == ("error", "unknown_frame")


async def test_reconnecting_with_last_seq_replays_only_the_messages_above_it_in_order(
    client: httpx.AsyncClient, sockets: Sockets, chat: Chat
) -> None:
    for body in ("two", "three", "four"):
        await send_as(client, chat, chat.headers, body)
    async with sockets.claimant(chat.token, last_seq=2) as peer:
        frames = await peer.until("queue")
        frames += await peer.settle()
    assert frames[0]["last_seq"] == 4
    assert [(m["seq"], m["body"]) for m in of_type(frames, "message")] == [
        (3, "three"),
        (4, "four"),
    ]


# --- the agent, as the claimant sees it ------------------------------------------------------


async def test_the_agent_accepting_sends_agent_joined_with_the_first_name_only(
    client: httpx.AsyncClient, sockets: Sockets, ana: Agent
) -> None:
    chat = await start_chat(client)
    async with sockets.claimant(chat.token) as peer:
        await peer.until("queue")
        await act(client, chat, ana, "accept")
        frames = await peer.until("agent_joined")
    assert frames[-1] == {"type": "agent_joined", "agent": {"first_name": "Ana"}}
    assert "Ruiz" not in json.dumps(frames)


async def test_a_claimant_joining_a_live_chat_is_welcomed_with_the_agents_first_name(
    sockets: Sockets, talking: Chat
) -> None:
    async with sockets.claimant(talking.token) as peer:
        frames = await peer.ready()
    assert (frames[0]["state"], frames[0]["agent"]) == ("active", {"first_name": "Ana"})
    assert [frame["type"] for frame in frames] == ["welcome", "message"]


async def test_an_agent_message_arrives(
    client: httpx.AsyncClient, sockets: Sockets, talking: Chat, ana: Agent
) -> None:
    async with sockets.claimant(talking.token) as peer:
        await peer.ready()
        await send_as(client, talking, ana.headers, "Hola José", client_message_id="a-1")
        message = (await peer.until("message", seq=2))[-1]
    assert (message["from"], message["author"], message["body"]) == ("agent", "Ana", "Hola José")
    assert set(message) == MESSAGE_KEYS


async def test_messages_sent_at_once_arrive_once_each_in_order(
    client: httpx.AsyncClient, sockets: Sockets, chat: Chat
) -> None:
    async with sockets.claimant(chat.token) as peer:
        await peer.until("queue")
        # Sent from another tab of the claimant, all at once: stored in any order of commits.
        sent = await asyncio.gather(
            *(send_as(client, chat, chat.headers, f"line {n}") for n in range(5))
        )
        assert [response.status_code for response in sent] == [201] * 5
        frames = await peer.until("message", seq=6)
        frames += await peer.settle()
    assert seqs(frames) == [2, 3, 4, 5, 6]


async def test_agent_typing_on_the_desk_reaches_the_claimant(
    sockets: Sockets, talking: Chat, ana: Agent
) -> None:
    async with (
        sockets.desk(ana.token) as desk,
        sockets.claimant(talking.token) as peer,
    ):
        await desk.until("welcome")
        await peer.ready()
        await desk.send({"type": "typing", "interaction_id": talking.id, "typing": True})
        typing = (await peer.until("typing"))[-1]
    assert typing == {"type": "typing", "typing": True, "from": "agent"}


async def test_an_agent_read_receipt_on_the_desk_reaches_the_claimant(
    sockets: Sockets, talking: Chat, ana: Agent
) -> None:
    async with (
        sockets.desk(ana.token) as desk,
        sockets.claimant(talking.token) as peer,
    ):
        await desk.until("welcome")
        await peer.ready()
        await desk.send({"type": "read", "interaction_id": talking.id, "seq": 1})
        read = (await peer.until("read"))[-1]
    assert read == {"type": "read", "seq": 1, "from": "agent"}


async def test_an_internal_note_never_reaches_the_claimant_but_the_next_message_does(
    app: FastAPI, client: httpx.AsyncClient, sockets: Sockets, talking: Chat, ana: Agent
) -> None:
    async with sockets.claimant(talking.token) as peer:
        await peer.ready()
        await chat_service.store_internal_note(
            resources_of(app), uuid.UUID(talking.id), ana.id, ana.name, "Secret: check employer"
        )
        await send_as(client, talking, ana.headers, "Thanks for waiting")
        frames = await peer.until("message", seq=3)
        frames += await peer.settle()
    assert seqs(frames) == [3]
    assert "Secret" not in json.dumps(frames)


async def test_a_transfer_back_to_the_queue_sends_transferred_then_the_place_in_line(
    client: httpx.AsyncClient, sockets: Sockets, talking: Chat, ana: Agent
) -> None:
    # Ana goes offline first, so that the chat waits in line instead of coming back to her.
    offline = await client.put(
        f"/api/v1/agents/{ana.id}/presence", json={"state": "offline"}, headers=ana.headers
    )
    assert offline.status_code == 200, offline.text
    async with sockets.claimant(talking.token) as peer:
        await peer.ready()
        response = await client.post(
            f"{talking.interaction}/transfer", json={"queue": QUEUE}, headers=ana.headers
        )
        assert response.status_code == 200, response.text
        frames = await peer.until("queue")
    assert of_type(frames, "transferred") == [{"type": "transferred"}]
    assert frames[-1]["position"] == 1


# --- ending ----------------------------------------------------------------------------------


async def test_end_while_waiting_abandons_the_chat_and_sends_ended(
    client: httpx.AsyncClient, sockets: Sockets, chat: Chat
) -> None:
    async with sockets.claimant(chat.token) as peer:
        await peer.until("queue")
        await peer.send({"type": "end"})
        frames = await peer.until("ended")
        frames += await peer.settle()
    assert of_type(frames, "ended") == [{"type": "ended", "by": "customer", "reason": "abandoned"}]
    assert await _state(client, chat) == "abandoned"


async def test_end_while_talking_ends_the_chat_by_the_customer(
    client: httpx.AsyncClient, sockets: Sockets, talking: Chat
) -> None:
    async with sockets.claimant(talking.token) as peer:
        await peer.ready()
        await peer.send({"type": "end"})
        ended = (await peer.until("ended"))[-1]
    assert ended == {"type": "ended", "by": "customer", "reason": "completed"}
    assert await _state(client, talking) == "wrap_up"


async def test_the_agent_completing_sends_ended_by_agent(
    client: httpx.AsyncClient, sockets: Sockets, talking: Chat, ana: Agent
) -> None:
    async with sockets.claimant(talking.token) as peer:
        await peer.ready()
        await act(client, talking, ana, "complete")
        ended = (await peer.until("ended"))[-1]
    assert ended == {"type": "ended", "by": "agent", "reason": "completed"}


async def test_a_cancelled_chat_sends_ended_by_system(
    client: httpx.AsyncClient, sockets: Sockets, talking: Chat, staff_caller: CallerFactory
) -> None:
    supervisor = await staff_caller(StaffRole.SUPERVISOR)
    async with sockets.claimant(talking.token) as peer:
        await peer.ready()
        response = await client.post(f"{talking.interaction}/cancel", headers=supervisor.headers)
        assert response.status_code == 200, response.text
        ended = (await peer.until("ended"))[-1]
    assert ended == {"type": "ended", "by": "system", "reason": "cancelled"}


async def test_a_message_after_the_end_is_an_error_frame_chat_ended(
    sockets: Sockets, chat: Chat
) -> None:
    async with sockets.claimant(chat.token) as peer:
        await peer.until("queue")
        await peer.send({"type": "end"})
        await peer.until("ended")
        await peer.send({"type": "message", "client_message_id": "c-2", "body": "wait"})
        error = (await peer.until("error"))[-1]
    assert (error["code"], error["ref"]) == ("chat_ended", "c-2")


async def test_a_claimant_reconnecting_to_an_ended_chat_is_told_so_by_the_welcome_alone(
    sockets: Sockets, chat: Chat
) -> None:
    async with sockets.claimant(chat.token) as peer:
        await peer.until("queue")
        await peer.send({"type": "end"})
        await peer.until("ended")
    async with sockets.claimant(chat.token, last_seq=1) as peer:
        frames = await peer.ready()
    assert [frame["type"] for frame in frames] == ["welcome"]
    assert (frames[0]["state"], frames[0]["ended"]) == ("abandoned", True)


# --- grace period ----------------------------------------------------------------------------


async def test_a_claimant_gone_past_the_grace_period_while_waiting_is_abandoned(
    app: FastAPI, client: httpx.AsyncClient, sockets: Sockets, chat: Chat
) -> None:
    await _leave(app, sockets, chat)
    await age_disconnection(app, CLAIMANT, chat.id, LONG_AGO_S)
    await GraceKeeper(resources_of(app)).check_once()
    assert await _state(client, chat) == "abandoned"


async def test_a_claimant_gone_for_less_than_the_grace_period_stays_in_line(
    app: FastAPI, client: httpx.AsyncClient, sockets: Sockets, chat: Chat
) -> None:
    await _leave(app, sockets, chat)
    await GraceKeeper(resources_of(app)).check_once()
    assert await _state(client, chat) == "queued"


async def test_a_claimant_who_reconnected_is_not_abandoned(
    app: FastAPI, client: httpx.AsyncClient, sockets: Sockets, chat: Chat
) -> None:
    await _leave(app, sockets, chat)
    await age_disconnection(app, CLAIMANT, chat.id, LONG_AGO_S)
    async with sockets.claimant(chat.token, last_seq=1) as peer:
        await peer.until("queue")
        await wait_for_presence(app, CLAIMANT, chat.id, connected)
        await GraceKeeper(resources_of(app)).check_once()
        assert await _state(client, chat) == "queued"


async def test_a_claimant_gone_while_talking_is_not_abandoned(
    app: FastAPI, client: httpx.AsyncClient, sockets: Sockets, talking: Chat
) -> None:
    await _leave(app, sockets, talking)
    await age_disconnection(app, CLAIMANT, talking.id, LONG_AGO_S)
    await GraceKeeper(resources_of(app)).check_once()
    assert await _state(client, talking) == "active"
    assert (await interaction_row(app, talking.id)).abandoned_at is None
