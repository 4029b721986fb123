"""A web call's lifecycle and quality from the browsers' frames, against a real server:
connected (the wait ends there), held and resumed, ended by whom, legs after a new set-up,
each side's getStats summary, and the refusals."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.interactions.models import InteractionEvent
from tests.calls.conftest import Call, Telephony, signal
from tests.channels.conftest import QUEUE as CHAT_QUEUE
from tests.channels.conftest import Agent, Peer, Sockets, act, of_type, start_chat
from tests.world import resources_of

QUALITY = {"rtt_ms": 42.5, "jitter_ms": 3.25, "loss_pct": 0.5, "samples": 6}


def state(interaction_id: str, value: str, **fields: Any) -> dict[str, Any]:
    """A browser's `call_state` frame."""
    return {"type": "call_state", "interaction_id": interaction_id, "state": value, **fields}


def quality(interaction_id: str, **fields: Any) -> dict[str, Any]:
    """A browser's `call_quality` frame."""
    return {"type": "call_quality", "interaction_id": interaction_id, **QUALITY, **fields}


async def sent(peer: Peer, *frames: dict[str, Any]) -> list[dict[str, Any]]:
    """Send frames and wait until the server handled them (a socket's frames are handled in
    order); returns what the peer received meanwhile."""
    for frame in frames:
        await peer.send(frame)
    return await peer.settle()


async def read_call(client: httpx.AsyncClient, agent: Agent, interaction_id: str) -> Any:
    """The call as `GET /interactions/{id}/call` answers it."""
    response = await client.get(
        f"/api/v1/interactions/{interaction_id}/call", headers=agent.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def history(app: FastAPI, interaction_id: str, prefix: str = "call.") -> list[Any]:
    """The interaction's call events, oldest first."""
    async with resources_of(app).sessions() as session:
        rows = await session.scalars(
            select(InteractionEvent)
            .where(
                InteractionEvent.interaction_id == uuid.UUID(interaction_id),
                InteractionEvent.type.startswith(prefix),
            )
            .order_by(InteractionEvent.id)
        )
        return list(rows)


async def test_the_first_side_to_connect_answers_the_call_once(
    app: FastAPI, client: httpx.AsyncClient, sockets: Sockets, ana: Agent, call: Call
) -> None:
    async with sockets.claimant(call.token) as claimant, sockets.desk(ana.token) as desk:
        await claimant.ready()
        await desk.ready()
        await sent(claimant, state(call.id, "connected"))
        await sent(desk, state(call.id, "connected"))
        await sent(claimant, state(call.id, "connected"))
        read = await read_call(client, ana, call.id)
    answered = [event for event in await history(app, call.id) if event.type == "call.answered"]
    assert (read["status"], read["legs"]) == ("connected", 1)
    assert read["connected_at"] is not None
    assert len(answered) == 1
    assert answered[0].actor_kind == "claimant"


async def test_the_answer_carries_the_wait_until_the_call_connected(
    app: FastAPI, sockets: Sockets, ana: Agent, call: Call
) -> None:
    async with sockets.desk(ana.token) as desk:
        await desk.ready()
        await sent(desk, state(call.id, "connected"))
    accepted = (await history(app, call.id, "interaction.accepted"))[-1]
    answered = (await history(app, call.id, "call.answered"))[-1]
    data = answered.data
    assert (data["queue_id"], data["agent_id"]) == (
        accepted.data["queue_id"],
        accepted.data["agent_id"],
    )
    assert data["ring_s"] >= 0
    assert data["wait_s"] == pytest.approx(accepted.data["wait_s"] + data["ring_s"], abs=0.01)


async def test_the_agent_holds_and_resumes_and_the_hold_is_counted(
    client: httpx.AsyncClient, sockets: Sockets, ana: Agent, call: Call
) -> None:
    async with sockets.desk(ana.token) as desk:
        await desk.ready()
        await sent(desk, state(call.id, "connected"), state(call.id, "held"))
        held = await read_call(client, ana, call.id)
        await sent(desk, state(call.id, "resumed"))
        resumed = await read_call(client, ana, call.id)
    assert (held["status"], held["held_since"] is not None) == ("held", True)
    assert (resumed["status"], resumed["hold_count"], resumed["held_since"]) == (
        "connected",
        1,
        None,
    )
    assert resumed["hold_s"] >= 0


async def test_the_claimant_cannot_hold_the_call(sockets: Sockets, ana: Agent, call: Call) -> None:
    async with sockets.claimant(call.token) as claimant:
        await claimant.ready()
        await claimant.send(state(call.id, "held", ref="h1"))
        refused = (await claimant.until("error"))[-1]
    assert (refused["code"], refused["field"], refused["ref"]) == ("not_allowed", "state", "h1")


async def test_a_hang_up_ends_the_call_by_its_sender_and_the_chat_goes_on(
    client: httpx.AsyncClient, sockets: Sockets, ana: Agent, call: Call
) -> None:
    async with sockets.claimant(call.token) as claimant, sockets.desk(ana.token) as desk:
        await claimant.ready()
        await desk.ready()
        await sent(desk, state(call.id, "connected"))
        await sent(desk, signal(call.id, "hangup", reason="ended"))
        read = await read_call(client, ana, call.id)
    assert (read["status"], read["ended_by"], read["interaction_state"]) == (
        "ended",
        "agent",
        "active",
    )
    assert read["talk_s"] is not None and read["talk_s"] >= 0


async def test_media_lost_ends_the_call_on_the_system_s_behalf(
    client: httpx.AsyncClient, sockets: Sockets, ana: Agent, call: Call
) -> None:
    async with sockets.claimant(call.token) as claimant:
        await claimant.ready()
        await sent(claimant, state(call.id, "connected"))
        await sent(claimant, signal(call.id, "hangup", reason="media_lost"))
        read = await read_call(client, ana, call.id)
    assert (read["status"], read["ended_by"]) == ("ended", "system")


async def test_a_call_set_up_anew_after_it_ended_is_a_second_leg(
    app: FastAPI, client: httpx.AsyncClient, sockets: Sockets, ana: Agent, call: Call
) -> None:
    async with sockets.desk(ana.token) as desk:
        await desk.ready()
        for _ in range(2):
            await sent(desk, state(call.id, "connected"))
            await sent(desk, signal(call.id, "hangup", reason="ended"))
        read = await read_call(client, ana, call.id)
    ended = await history(app, call.id, "call.ended")
    answered = await history(app, call.id, "call.answered")
    assert (read["legs"], read["status"], len(ended)) == (2, "ended", 2)
    # Counted once: only the first answer after the acceptance carries the wait.
    assert ["wait_s" in event.data for event in answered] == [True, False]
    # The talk time sums the legs: the second end's figure includes the first leg's.
    assert read["talk_s"] == pytest.approx(ended[-1].data["talk_s"])
    assert ended[-1].data["talk_s"] >= ended[0].data["talk_s"]


async def test_each_side_s_latest_quality_summary_is_kept(
    client: httpx.AsyncClient, sockets: Sockets, ana: Agent, call: Call
) -> None:
    async with sockets.claimant(call.token) as claimant, sockets.desk(ana.token) as desk:
        await claimant.ready()
        await desk.ready()
        await sent(claimant, quality(call.id, samples=3), quality(call.id, rtt_ms=80.0))
        relayed = await sent(desk, quality(call.id, rtt_ms=None, loss_pct=0.0))
        read = await read_call(client, ana, call.id)
    customer, agent = read["quality"]["customer"], read["quality"]["agent"]
    assert (customer["rtt_ms"], customer["samples"], customer["loss_pct"]) == (80.0, 6, 0.5)
    assert (agent["rtt_ms"], agent["jitter_ms"], agent["loss_pct"]) == (None, 3.25, 0.0)
    assert customer["at"] is not None
    # Recorded, not relayed: the other party never sees it.
    assert of_type(relayed, "call_quality") == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"loss_pct": 150}, "loss_pct"), ({"rtt_ms": -1}, "rtt_ms"), ({"samples": None}, "samples")],
)
async def test_a_quality_summary_out_of_bounds_is_refused_naming_the_field(
    sockets: Sockets, ana: Agent, call: Call, fields: dict[str, Any], field: str
) -> None:
    async with sockets.desk(ana.token) as desk:
        await desk.ready()
        await desk.send(quality(call.id, ref="q1", **fields))
        refused = (await desk.until("error"))[-1]
    assert (refused["code"], refused["field"], refused["ref"]) == ("validation_failed", field, "q1")


async def test_an_unknown_call_state_is_refused_naming_the_field(
    sockets: Sockets, ana: Agent, call: Call
) -> None:
    async with sockets.desk(ana.token) as desk:
        await desk.ready()
        await desk.send(state(call.id, "ringing", ref="s1"))
        refused = (await desk.until("error"))[-1]
    assert (refused["code"], refused["field"]) == ("validation_failed", "state")


async def test_a_call_in_a_chat_has_its_figures_once_the_invite_is_accepted(
    client: httpx.AsyncClient, sockets: Sockets, ana: Agent
) -> None:
    chat = await start_chat(client)
    await act(client, chat, ana, "accept")
    async with sockets.claimant(chat.token) as claimant, sockets.desk(ana.token) as desk:
        await claimant.ready()
        await desk.ready()
        missing = await client.get(f"/api/v1/interactions/{chat.id}/call", headers=ana.headers)
        await desk.send({"type": "call_invite", "interaction_id": chat.id, "media": "voice"})
        await claimant.until("call_invite")
        await sent(claimant, {"type": "call_accept", "interaction_id": chat.id})
        await desk.until("call_accept")
        await sent(desk, state(chat.id, "connected"))
        read = await read_call(client, ana, chat.id)
    assert missing.status_code == 409
    assert (read["status"], read["legs"]) == ("connected", 1)


# --- calls the pages left up ------------------------------------------------------------------


async def test_a_call_left_up_when_the_agent_completes_ends_on_the_system_s_behalf(
    app: FastAPI, client: httpx.AsyncClient, sockets: Sockets, ana: Agent, call: Call
) -> None:
    async with sockets.claimant(call.token) as claimant:
        await claimant.ready()
        await sent(claimant, state(call.id, "connected"))
        completed = await client.post(
            f"/api/v1/interactions/{call.id}/complete", headers=ana.headers
        )
        read = await read_call(client, ana, call.id)
    ended = await history(app, call.id, "call.ended")
    assert completed.status_code == 200, completed.text
    assert (read["status"], read["ended_by"], read["interaction_state"]) == (
        "ended",
        "system",
        "wrap_up",
    )
    assert [(event.actor_kind, event.data["reason"]) for event in ended] == [
        ("system", "completed")
    ]
    assert read["talk_s"] is not None and read["talk_s"] >= 0


async def test_a_call_left_up_when_the_agent_transfers_ends_and_may_be_set_up_anew(
    client: httpx.AsyncClient, sockets: Sockets, ana: Agent, call: Call
) -> None:
    async with sockets.claimant(call.token) as claimant:
        await claimant.ready()
        await sent(claimant, state(call.id, "connected"))
        transferred = await client.post(
            f"/api/v1/interactions/{call.id}/transfer",
            json={"queue": CHAT_QUEUE},
            headers=ana.headers,
        )
        after_transfer = await read_call(client, ana, call.id)
    assert transferred.status_code == 200, transferred.text
    assert (after_transfer["status"], after_transfer["ended_by"], after_transfer["legs"]) == (
        "ended",
        "system",
        1,
    )


async def test_a_call_hung_up_before_the_agent_completes_keeps_who_ended_it(
    app: FastAPI, client: httpx.AsyncClient, sockets: Sockets, ana: Agent, call: Call
) -> None:
    async with sockets.desk(ana.token) as desk:
        await desk.ready()
        await sent(desk, state(call.id, "connected"))
        await sent(desk, signal(call.id, "hangup", reason="ended"))
        await act_on(client, ana, call.id, "complete")
        read = await read_call(client, ana, call.id)
    assert (read["status"], read["ended_by"]) == ("ended", "agent")
    assert len(await history(app, call.id, "call.ended")) == 1


async def test_a_telephony_call_is_left_to_the_platform_when_the_agent_completes(
    client: httpx.AsyncClient, telephony: Telephony
) -> None:
    interaction_id = await telephony.accepted_call()
    answered = await telephony.post(interaction_id, "answered")
    completed = await client.post(
        f"/api/v1/interactions/{interaction_id}/complete", headers=telephony.agent.headers
    )
    read = await client.get(
        f"/api/v1/interactions/{interaction_id}/call", headers=telephony.agent.headers
    )
    assert (answered.status_code, completed.status_code) == (200, 200)
    assert read.json()["status"] == "connected"


async def act_on(client: httpx.AsyncClient, agent: Agent, interaction_id: str, action: str) -> None:
    """An agent's lifecycle action on the interaction; must answer 200."""
    response = await client.post(
        f"/api/v1/interactions/{interaction_id}/{action}", headers=agent.headers
    )
    assert response.status_code == 200, response.text
