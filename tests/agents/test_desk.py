"""The agent desk's websocket `/ws/agent`, against a real server: welcome, offers, chats,
messages and signals from the claimant, wrap-up, warm transfers, replay and the grace period."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from app import clock
from app.auth.principals import Role
from app.auth.tokens import issue_staff_token
from app.main import create_app
from app.realtime.grace import AGENT, GraceKeeper
from app.settings import Settings
from tests.channels.conftest import (
    FORM,
    QUEUE,
    SKILL,
    Agent,
    Chat,
    Sockets,
    act,
    add_chat_agent,
    age_disconnection,
    disconnected,
    interaction_row,
    of_type,
    quiet_grace_keeper,
    send_as,
    seqs,
    start_chat,
    wait_for_presence,
)
from tests.world import add_queue, recorded_statements, resources_of

# Well past the default grace period of 60 s.
LONG_AGO_S = 600.0
# How long a test waits for a frame the server should never send (or sends at once).
SHORT_WAIT_S = 1.0


@pytest.fixture
async def app(
    migrated_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[FastAPI]:
    """The application, its own grace check asleep: tests call `GraceKeeper.check_once()`."""
    quiet_grace_keeper(monkeypatch)
    application = create_app(migrated_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def sockets(app: FastAPI, live_url: str) -> Sockets:
    """Websockets to `app` served on 127.0.0.1."""
    return Sockets(app, live_url)


@pytest.fixture
async def queue_id(app: FastAPI) -> uuid.UUID:
    """The Unemployment Insurance queue, needing the `ui` skill."""
    return await add_queue(app, QUEUE, {SKILL: 3})


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


def _types(frames: list[dict[str, object]], *kinds: str) -> list[object]:
    return [frame["type"] for frame in frames if frame["type"] in kinds]


async def _presence(client: httpx.AsyncClient, agent: Agent) -> str:
    response = await client.get(f"/api/v1/agents/{agent.id}/presence", headers=agent.headers)
    assert response.status_code == 200, response.text
    state: str = response.json()["state"]
    return state


# --- handshake -------------------------------------------------------------------------------


async def test_hello_with_an_agent_token_is_welcomed_with_presence_offers_and_chats(
    client: httpx.AsyncClient, sockets: Sockets, ana: Agent, talking: Chat
) -> None:
    offered = await start_chat(client, name="María López")
    async with sockets.desk(ana.token) as desk:
        frames = await desk.until("message", interaction_id=talking.id)
    welcome = frames[0]
    assert welcome["type"] == "welcome"
    assert welcome["agent"] == {"id": ana.id, "name": "Ana Ruiz"}
    assert welcome["presence"] == {"state": "available", "reason": None}
    assert [offer["interaction_id"] for offer in welcome["offers"]] == [offered.id]
    assert [chat["interaction_id"] for chat in welcome["chats"]] == [talking.id]
    assert (welcome["chats"][0]["state"], welcome["chats"][0]["last_seq"]) == ("active", 1)
    assert seqs(frames) == [1]


async def test_a_claimant_token_closes_the_desk_with_4403(sockets: Sockets, talking: Chat) -> None:
    async with sockets.desk(talking.token) as desk:
        assert await desk.closed() == 4403


async def test_an_expired_token_closes_the_desk_with_4401(
    app: FastAPI, sockets: Sockets, ana: Agent
) -> None:
    expired = issue_staff_token(
        resources_of(app).secret_key,
        staff_id=ana.id,
        role=Role.AGENT,
        name=ana.name,
        now=clock.now_s() - 3600,
        ttl_s=60,
    )
    async with sockets.desk(expired.token) as desk:
        assert await desk.closed() == 4401


async def test_a_desk_ping_is_answered_with_pong(sockets: Sockets, ana: Agent) -> None:
    async with sockets.desk(ana.token) as desk:
        await desk.until("welcome")
        await desk.send({"type": "ping"})
        assert (await desk.until("pong"))[-1] == {"type": "pong"}


# --- offers ----------------------------------------------------------------------------------


async def test_going_available_then_a_new_chat_brings_an_offer(
    app: FastAPI, client: httpx.AsyncClient, sockets: Sockets, queue_id: uuid.UUID
) -> None:
    ana = await add_chat_agent(app, "ana.ruiz", "Ana Ruiz", available=False)
    async with sockets.desk(ana.token) as desk:
        welcome = await desk.receive()
        assert welcome["presence"] == {"state": "offline", "reason": None}
        response = await client.put(
            f"/api/v1/agents/{ana.id}/presence", json={"state": "available"}, headers=ana.headers
        )
        assert response.status_code == 200, response.text
        presence = (await desk.until("presence"))[-1]
        chat = await start_chat(client)
        offer = (await desk.until("offer"))[-1]
    assert presence == {"type": "presence", "state": "available", "reason": None}
    assert offer["interaction_id"] == chat.id
    assert offer["channel"] == "chat"
    assert offer["queue"] == {"id": str(queue_id), "name": QUEUE}
    assert offer["customer"] == {"name": FORM["name"], "language": "es"}
    assert offer["topic"] == QUEUE
    expires_at = datetime.fromisoformat(offer["expires_at"])
    queued_at = datetime.fromisoformat(offer["queued_at"])
    assert timedelta(seconds=29) <= expires_at - queued_at <= timedelta(seconds=31)


async def test_a_returning_claimants_offer_shows_their_earlier_chat_read_once(
    app: FastAPI, client: httpx.AsyncClient, sockets: Sockets, ana: Agent, talking: Chat
) -> None:
    read_engine = resources_of(app).read_engine
    async with sockets.desk(ana.token) as desk:
        assert (await desk.receive())["type"] == "welcome"
        with recorded_statements(read_engine) as statements:
            again = await start_chat(client)  # the same claimant, by email
            offer = (await desk.until("offer", interaction_id=again.id))[-1]
    assert [entry["id"] for entry in offer["history"]] == [talking.id]
    # One read for the offer frame: its details and its history, on one connection, and no
    # history read again after it.
    histories = [s for s in statements if "ORDER BY interactions.created_at DESC" in s]
    assert len(histories) == 1


async def test_accepting_ends_the_offer_then_sends_the_chat_then_its_messages(
    client: httpx.AsyncClient, sockets: Sockets, ana: Agent
) -> None:
    async with sockets.desk(ana.token) as desk:
        await desk.until("welcome")
        chat = await start_chat(client)
        await desk.until("offer")
        await act(client, chat, ana, "accept")
        frames = await desk.until("message", seq=1)
    assert _types(frames, "offer_ended", "chat", "message") == ["offer_ended", "chat", "message"]
    assert of_type(frames, "offer_ended") == [
        {"type": "offer_ended", "interaction_id": chat.id, "reason": "accepted"}
    ]
    [joined] = of_type(frames, "chat")
    assert (joined["interaction_id"], joined["state"], joined["note"]) == (chat.id, "active", None)
    assert joined["customer"]["email"] == FORM["email"]
    assert joined["customer"]["case_number"] == FORM["case_number"]
    assert (joined["last_seq"], joined["wrap_up_ends_at"]) == (1, None)
    assert joined["accepted_at"] is not None


async def test_rejecting_ends_the_offer_as_rejected(
    client: httpx.AsyncClient, sockets: Sockets, ana: Agent
) -> None:
    async with sockets.desk(ana.token) as desk:
        await desk.until("welcome")
        chat = await start_chat(client)
        await desk.until("offer")
        await act(client, chat, ana, "reject")
        ended = (await desk.until("offer_ended"))[-1]
    assert ended == {"type": "offer_ended", "interaction_id": chat.id, "reason": "rejected"}


async def test_going_offline_revokes_the_open_offer(
    client: httpx.AsyncClient, sockets: Sockets, ana: Agent
) -> None:
    async with sockets.desk(ana.token) as desk:
        await desk.until("welcome")
        chat = await start_chat(client)
        await desk.until("offer")
        response = await client.put(
            f"/api/v1/agents/{ana.id}/presence", json={"state": "offline"}, headers=ana.headers
        )
        assert response.status_code == 200, response.text
        ended = (await desk.until("offer_ended"))[-1]
    assert ended == {"type": "offer_ended", "interaction_id": chat.id, "reason": "revoked"}


async def test_an_offer_left_unanswered_ends_as_timed_out(
    app: FastAPI, client: httpx.AsyncClient, sockets: Sockets
) -> None:
    await add_queue(app, QUEUE, {SKILL: 3}, offer_timeout_s=1)
    ana = await add_chat_agent(app, "ana.ruiz", "Ana Ruiz")
    async with sockets.desk(ana.token) as desk:
        await desk.until("welcome")
        chat = await start_chat(client)
        await desk.until("offer")
        ended = (await desk.until("offer_ended"))[-1]
    assert ended == {"type": "offer_ended", "interaction_id": chat.id, "reason": "timed_out"}


async def test_a_claimant_leaving_an_offered_chat_ends_the_offer(
    client: httpx.AsyncClient, sockets: Sockets, ana: Agent
) -> None:
    async with sockets.desk(ana.token) as desk:
        await desk.until("welcome")
        chat = await start_chat(client)
        await desk.until("offer")
        left = await client.post(f"{chat.interaction}/abandon", headers=chat.headers)
        assert left.status_code == 200, left.text
        ended = (await desk.until("offer_ended", within_s=SHORT_WAIT_S))[-1]
    assert ended == {"type": "offer_ended", "interaction_id": chat.id, "reason": "withdrawn"}


# --- actions as frames ----------------------------------------------------------------------


async def test_accept_complete_and_finish_as_frames_are_acked_and_end_the_chat(
    client: httpx.AsyncClient, sockets: Sockets, ana: Agent
) -> None:
    async with sockets.desk(ana.token) as desk:
        await desk.until("welcome")
        chat = await start_chat(client)
        await desk.until("offer")
        acks = []
        for action, then in (("accept", "chat"), ("complete", "wrap_up")):
            await desk.send({"type": action, "interaction_id": chat.id, "ref": action})
            frames = await desk.until(then)
            acks += of_type(frames, "ack") or of_type(await desk.until("ack"), "ack")
        await desk.send({"type": "finish_wrap_up", "interaction_id": chat.id, "ref": "f"})
        frames = await desk.until("chat_closed")
        acks += of_type(frames, "ack") or of_type(await desk.until("ack"), "ack")
    assert [(ack["action"], ack["ref"]) for ack in acks] == [
        ("accept", "accept"),
        ("complete", "complete"),
        ("finish_wrap_up", "f"),
    ]
    assert frames[-1] == {"type": "chat_closed", "interaction_id": chat.id, "reason": "completed"}


async def test_reject_as_a_frame_ends_the_offer_as_rejected(
    client: httpx.AsyncClient, sockets: Sockets, ana: Agent
) -> None:
    async with sockets.desk(ana.token) as desk:
        await desk.until("welcome")
        chat = await start_chat(client)
        await desk.until("offer")
        await desk.send({"type": "reject", "interaction_id": chat.id})
        ended = (await desk.until("offer_ended"))[-1]
    assert ended == {"type": "offer_ended", "interaction_id": chat.id, "reason": "rejected"}


async def test_completing_someone_elses_chat_as_a_frame_is_a_forbidden_error_frame(
    app: FastAPI, sockets: Sockets, talking: Chat
) -> None:
    maria = await add_chat_agent(app, "maria.lopez", "María López")
    async with sockets.desk(maria.token) as desk:
        await desk.until("welcome")
        await desk.send({"type": "complete", "interaction_id": talking.id, "ref": "r1"})
        error = (await desk.until("error"))[-1]
    assert (error["code"], error["ref"]) == ("forbidden", "r1")
    assert (await interaction_row(app, talking.id)).state.value == "active"


async def test_accepting_an_offer_that_is_not_yours_as_a_frame_is_an_error_frame(
    app: FastAPI, client: httpx.AsyncClient, sockets: Sockets, ana: Agent
) -> None:
    chat = await start_chat(client)
    maria = await add_chat_agent(app, "maria.lopez", "María López")
    async with sockets.desk(maria.token) as desk:
        await desk.until("welcome")
        await desk.send({"type": "accept", "interaction_id": chat.id, "ref": "r2"})
        error = (await desk.until("error"))[-1]
    assert (error["code"], error["ref"]) == ("wrong_agent", "r2")


async def test_an_action_frame_without_a_valid_interaction_id_names_the_field(
    sockets: Sockets, ana: Agent
) -> None:
    async with sockets.desk(ana.token) as desk:
        await desk.until("welcome")
        await desk.send({"type": "accept", "interaction_id": "not-a-uuid"})
        error = (await desk.until("error"))[-1]
    assert (error["code"], error["field"]) == ("validation_failed", "interaction_id")


# --- the claimant, as the desk sees them -----------------------------------------------------


async def test_a_claimant_message_reaches_the_desk(
    sockets: Sockets, ana: Agent, talking: Chat
) -> None:
    async with (
        sockets.desk(ana.token) as desk,
        sockets.claimant(talking.token) as claimant,
    ):
        await desk.until("message", seq=1)
        await claimant.ready()
        await claimant.send({"type": "message", "client_message_id": "c-2", "body": "Thanks"})
        message = (await desk.until("message", seq=2))[-1]
    assert message["interaction_id"] == talking.id
    assert (message["from"], message["author"], message["body"]) == (
        "customer",
        FORM["name"],
        "Thanks",
    )


async def test_claimant_typing_reaches_the_desk(
    sockets: Sockets, ana: Agent, talking: Chat
) -> None:
    async with (
        sockets.desk(ana.token) as desk,
        sockets.claimant(talking.token) as claimant,
    ):
        await desk.until("welcome")
        await claimant.ready()
        await claimant.send({"type": "typing", "typing": True})
        typing = (await desk.until("typing"))[-1]
    assert typing == {
        "type": "typing",
        "typing": True,
        "interaction_id": talking.id,
        "from": "customer",
    }


async def test_the_claimant_disconnecting_shows_customer_presence_disconnected(
    sockets: Sockets, ana: Agent, talking: Chat
) -> None:
    async with sockets.desk(ana.token) as desk:
        await desk.until("welcome")
        async with sockets.claimant(talking.token) as claimant:
            await claimant.ready()
            await desk.until("customer_presence", connected=True)
        gone = (await desk.until("customer_presence", connected=False))[-1]
    assert gone == {"type": "customer_presence", "interaction_id": talking.id, "connected": False}


async def test_the_chat_frame_says_whether_the_claimant_is_connected(
    client: httpx.AsyncClient, sockets: Sockets, ana: Agent
) -> None:
    chat = await start_chat(client)
    async with sockets.claimant(chat.token) as claimant:
        await claimant.ready()
        await act(client, chat, ana, "accept")
        await claimant.until("agent_joined")
        async with sockets.desk(ana.token) as desk:
            welcome = await desk.receive()
    assert welcome["chats"][0]["customer_connected"] is True


async def test_desk_typing_for_a_chat_it_does_not_hold_is_an_error_frame(
    client: httpx.AsyncClient, sockets: Sockets, ana: Agent, queue_id: uuid.UUID
) -> None:
    someone_elses = str(uuid.uuid4())
    async with sockets.desk(ana.token) as desk:
        await desk.until("welcome")
        await desk.send({"type": "typing", "interaction_id": someone_elses, "typing": True})
        error = (await desk.until("error"))[-1]
    assert (error["code"], error["field"]) == ("not_your_chat", "interaction_id")


# --- ending ----------------------------------------------------------------------------------


async def test_completing_sends_wrap_up_with_its_end(
    app: FastAPI, client: httpx.AsyncClient, sockets: Sockets, ana: Agent, talking: Chat
) -> None:
    async with sockets.desk(ana.token) as desk:
        await desk.until("message", seq=1)
        await act(client, talking, ana, "complete")
        wrap_up = (await desk.until("wrap_up"))[-1]
    assert wrap_up["interaction_id"] == talking.id
    wrap_up_at = (await interaction_row(app, talking.id)).wrap_up_at
    assert wrap_up_at is not None
    # The queue's wrap-up time is the default 120 s.
    assert datetime.fromisoformat(wrap_up["ends_at"]) - wrap_up_at == timedelta(seconds=120)


async def test_a_chat_going_to_wrap_up_is_told_without_reading_its_details_again(
    app: FastAPI, client: httpx.AsyncClient, sockets: Sockets, ana: Agent, talking: Chat
) -> None:
    async with sockets.desk(ana.token) as desk:
        await desk.until("message", seq=1)
        with recorded_statements(resources_of(app).read_engine) as statements:
            await act(client, talking, ana, "complete")
            await desk.until("wrap_up")
    # The desk's details statement: what a chat frame shows, with the queue joined.
    details = [s for s in statements if "customer_contact" in s and "JOIN queues" in s]
    assert details == []


async def test_finishing_wrap_up_closes_the_chat_as_completed(
    client: httpx.AsyncClient, sockets: Sockets, ana: Agent, talking: Chat
) -> None:
    await act(client, talking, ana, "complete")
    async with sockets.desk(ana.token) as desk:
        welcome = await desk.receive()
        assert welcome["chats"][0]["state"] == "wrap_up"
        assert welcome["chats"][0]["wrap_up_ends_at"] is not None
        await act(client, talking, ana, "finish-wrap-up")
        closed = (await desk.until("chat_closed"))[-1]
    assert closed == {"type": "chat_closed", "interaction_id": talking.id, "reason": "completed"}


async def test_a_claimant_ending_a_live_chat_shows_they_left_then_wrap_up(
    sockets: Sockets, ana: Agent, talking: Chat
) -> None:
    async with (
        sockets.desk(ana.token) as desk,
        sockets.claimant(talking.token) as claimant,
    ):
        await desk.until("welcome")
        await claimant.ready()
        await claimant.send({"type": "end"})
        frames = await desk.until("wrap_up")
    left = [frame for frame in of_type(frames, "customer_presence") if frame.get("left")]
    assert left == [
        {
            "type": "customer_presence",
            "interaction_id": talking.id,
            "connected": False,
            "left": True,
        }
    ]


# --- transfers -------------------------------------------------------------------------------


async def _warm_transfer(app: FastAPI, client: httpx.AsyncClient, chat: Chat, ana: Agent) -> Agent:
    """James, available, joins; Ana transfers the chat to him with a note."""
    james = await add_chat_agent(app, "james.lee", "James Lee")
    response = await client.post(
        f"{chat.interaction}/transfer",
        json={"agent_id": james.id, "note": "Payment held for identity check"},
        headers=ana.headers,
    )
    assert response.status_code == 200, response.text
    return james


async def test_a_warm_transfer_gives_the_second_agent_the_note_in_the_chat_frame(
    app: FastAPI, client: httpx.AsyncClient, sockets: Sockets, ana: Agent
) -> None:
    # Ana takes the chat before James exists, so the offer is hers.
    chat = await start_chat(client)
    await act(client, chat, ana, "accept")
    james = await _warm_transfer(app, client, chat, ana)
    async with sockets.desk(james.token) as desk:
        welcome = await desk.receive()
        assert [offer["interaction_id"] for offer in welcome["offers"]] == [chat.id]
        await act(client, chat, james, "accept")
        frames = await desk.until("message", seq=2)
    [joined] = of_type(frames, "chat")
    assert joined["note"] == "Payment held for identity check"
    assert of_type(frames, "message")[-1]["internal"] is True


async def test_a_transfer_closes_the_chat_on_the_first_agents_desk_as_transferred(
    app: FastAPI, client: httpx.AsyncClient, sockets: Sockets, ana: Agent, talking: Chat
) -> None:
    async with sockets.desk(ana.token) as desk:
        await desk.until("message", seq=1)
        await _warm_transfer(app, client, talking, ana)
        frames = await desk.until("chat_closed")
    assert frames[-1] == {
        "type": "chat_closed",
        "interaction_id": talking.id,
        "reason": "transferred",
    }
    # The note is sent while the chat is still on this desk, or not at all.
    assert all(message.get("internal") for message in of_type(frames, "message"))


# --- replay ----------------------------------------------------------------------------------


async def test_reconnecting_with_last_seq_per_chat_replays_only_missed_messages(
    client: httpx.AsyncClient, sockets: Sockets, ana: Agent, talking: Chat
) -> None:
    other = await start_chat(client, name="María López")
    await act(client, other, ana, "accept")
    for body in ("two", "three"):
        await send_as(client, talking, talking.headers, body)
    async with sockets.desk(ana.token, last_seq={talking.id: 2}) as desk:
        frames = await desk.until("welcome")
        frames += await desk.settle()
    replayed = [(m["interaction_id"], m["seq"]) for m in of_type(frames, "message")]
    assert sorted(replayed) == sorted([(other.id, 1), (talking.id, 3)])


async def test_a_live_message_after_the_replay_is_delivered_once(
    client: httpx.AsyncClient, sockets: Sockets, ana: Agent, talking: Chat
) -> None:
    async with sockets.desk(ana.token, last_seq={talking.id: 1}) as desk:
        await desk.until("welcome")
        await send_as(client, talking, talking.headers, "two")
        frames = await desk.until("message", seq=2)
        frames += await desk.settle()
    assert seqs(frames) == [2]


# --- grace period ----------------------------------------------------------------------------


async def _leave_desk(app: FastAPI, sockets: Sockets, agent: Agent) -> None:
    async with sockets.desk(agent.token) as desk:
        await desk.until("welcome")
    await wait_for_presence(app, AGENT, agent.id, disconnected)


async def test_a_desk_gone_past_the_grace_period_is_set_offline(
    app: FastAPI, client: httpx.AsyncClient, sockets: Sockets, ana: Agent, talking: Chat
) -> None:
    await _leave_desk(app, sockets, ana)
    await age_disconnection(app, AGENT, ana.id, LONG_AGO_S)
    await GraceKeeper(resources_of(app)).check_once()
    assert await _presence(client, ana) == "offline"


async def test_the_chat_of_a_desk_gone_past_the_grace_period_goes_back_to_its_queue(
    app: FastAPI, client: httpx.AsyncClient, sockets: Sockets, ana: Agent, talking: Chat
) -> None:
    await _leave_desk(app, sockets, ana)
    await age_disconnection(app, AGENT, ana.id, LONG_AGO_S)
    async with sockets.claimant(talking.token) as claimant:
        await claimant.ready()
        await GraceKeeper(resources_of(app)).check_once()
        frames = await claimant.until("queue")
    assert of_type(frames, "transferred") == [{"type": "transferred"}]
    row = await interaction_row(app, talking.id)
    assert (row.state.value, row.agent_id) == ("queued", None)


async def test_a_desk_gone_for_less_than_the_grace_period_stays_available(
    app: FastAPI, client: httpx.AsyncClient, sockets: Sockets, ana: Agent, talking: Chat
) -> None:
    await _leave_desk(app, sockets, ana)
    await GraceKeeper(resources_of(app)).check_once()
    assert await _presence(client, ana) == "available"
    assert (await interaction_row(app, talking.id)).state.value == "active"
