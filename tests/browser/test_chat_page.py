"""The claimant's chat page (/chat) in Chromium against a real `switchboard serve --demo`.

Agents are driven over REST (log in, become available, accept, write) while the page is
watched the way a claimant sees it. Each test's chats go to its own queue (`centre.queue`,
a topic of the form) and are taken by its own agents (see conftest.py).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Page, expect
from websockets.asyncio.client import ClientConnection, connect

from tests.browser.conftest import Centre, SignedInAgent, SwitchboardServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="package")]

FIRST_MESSAGE = "I have not received my payment"


async def _open_form(page: Page) -> None:
    await page.goto("/chat")
    # The button is enabled once GET /api/v1/chats/options has filled the form.
    await expect(page.get_by_role("button", name="Start chat")).to_be_enabled()


async def _start_chat(
    page: Page,
    topic: str,
    name: str = "José Ramírez",
    message: str = FIRST_MESSAGE,
    position: int = 1,
) -> str:
    """Fill in the pre-chat form, start the chat, wait for the place in line; its id."""
    await _open_form(page)
    await page.get_by_label("Your name").fill(name)
    # Without configured topics each active queue is a topic; the test's agents serve this one.
    await page.get_by_label("Topic").select_option(topic)
    await page.get_by_label("How can we help?").fill(message)
    await page.get_by_role("button", name="Start chat").click()
    await expect(page.locator("#queue-status")).to_contain_text(
        f"You are number {position} in line"
    )
    stored = await _stored_chat(page)
    assert stored is not None
    return str(stored["interaction_id"])


async def _stored_chat(page: Page) -> dict[str, Any] | None:
    result: dict[str, Any] | None = await page.evaluate(
        "JSON.parse(sessionStorage.getItem('switchboard.chat'))"
    )
    return result


async def _send(page: Page, text: str) -> None:
    box = page.get_by_label("Type your message")
    await box.fill(text)
    await box.press("Enter")


def _messages(page: Page, text: str | None = None, *, sender: str = "") -> Any:
    locator = page.locator(f"#messages li.msg{'--' + sender if sender else ''}")
    return locator.filter(has_text=text) if text else locator


async def _stored_messages(api: httpx.AsyncClient, page: Page) -> list[dict[str, Any]]:
    stored = await _stored_chat(page)
    assert stored is not None
    response = await api.get(
        f"/api/v1/chats/{stored['interaction_id']}/messages",
        params={"after_seq": 0},
        headers={"Authorization": f"Bearer {stored['token']}"},
    )
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


async def _accept(api: httpx.AsyncClient, agent: SignedInAgent, interaction_id: str) -> None:
    """Accept the chat as the agent, once routing has offered it (offers are asynchronous)."""
    deadline = time.monotonic() + 10
    while True:
        response = await api.post(
            f"/api/v1/interactions/{interaction_id}/accept", headers=agent.headers
        )
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert response.status_code == 200, response.text


async def test_the_page_loads_nothing_from_another_origin(
    page: Page, server_url: str, centre: Centre
) -> None:
    requested: list[str] = []
    sockets: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("websocket", lambda socket: sockets.append(socket.url))
    page.on("pageerror", lambda error: errors.append(str(error)))

    await _start_chat(page, centre.queue)
    await expect(_messages(page, FIRST_MESSAGE)).to_have_count(1)

    origin = urlsplit(server_url).netloc
    assert {urlsplit(url).netloc for url in requested} == {origin}, requested
    assert f"{server_url}/static/chat.js" in requested
    assert f"{server_url}/static/chat.css" in requested
    assert sockets == [f"ws://{origin}/ws/chat"]
    assert errors == []


async def test_the_form_has_labelled_fields_and_shows_server_errors_beside_them(
    page: Page, api: httpx.AsyncClient, centre: Centre
) -> None:
    limit = (await api.get("/api/v1/chats/options")).json()["max_message_chars"]
    await _open_form(page)
    labels = [
        "Your name",
        "Preferred language",
        "Topic",
        "Email (optional)",
        "Claim or case number (optional)",
        "How can we help?",
    ]
    for label in labels:
        await expect(page.get_by_label(label, exact=True)).to_be_visible()

    # An empty name and no topic are caught on the page, next to their fields.
    await page.get_by_role("button", name="Start chat").click()
    name = page.get_by_label("Your name")
    await expect(name).to_have_attribute("aria-invalid", "true")
    await expect(name).to_be_focused()
    await expect(page.locator("#f-name-error")).to_have_text("Please fill in this field.")
    await expect(page.locator("#f-topic-error")).to_have_text("Please choose a topic.")

    # A message over the limit goes to the server, whose 422 lands next to the message.
    await name.fill("Ana Claimant")
    await page.get_by_label("Topic").select_option(centre.queue)
    message = page.get_by_label("How can we help?")
    await message.fill("x" * (limit + 1))
    await expect(page.locator("#f-message-counter")).to_contain_text(f"{limit + 1} of {limit}")
    async with page.expect_response("**/api/v1/chats") as answer:
        await page.get_by_role("button", name="Start chat").click()
    response = await answer.value
    assert response.status == 422
    errors = (await response.json())["errors"]
    assert [error["field"].split(".")[-1] for error in errors] == ["message"]

    error = page.locator("#f-message-error")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text(str(limit))
    await expect(message).to_have_attribute("aria-invalid", "true")
    await expect(message).to_have_attribute("aria-describedby", "f-message-counter f-message-error")
    await expect(message).to_be_focused()
    await expect(name).not_to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#f-topic-error")).to_be_hidden()
    await expect(page.locator("#form-error")).to_be_hidden()
    assert await _stored_chat(page) is None

    # Too many chats from one address (the test's own): the page says how long to wait.
    chat = {"name": "Someone", "language": "en", "topic": centre.queue, "message": "Hello"}
    for _ in range(100):
        if (await api.post("/api/v1/chats", json=chat)).status_code == 429:
            break
    await message.fill("Hello")
    async with page.expect_response("**/api/v1/chats") as answer:
        await page.get_by_role("button", name="Start chat").click()
    response = await answer.value
    assert response.status == 429
    wait_s = response.headers["retry-after"]
    await expect(page.locator("#form-error")).to_have_text(
        f"Too many attempts. Please wait {wait_s} seconds and try again."
    )
    await expect(page.locator("#form-error")).to_be_focused()
    await expect(message).not_to_have_attribute("aria-invalid", "true")


async def test_starting_a_chat_shows_the_place_in_line_and_the_first_message(
    page: Page, api: httpx.AsyncClient, server_url: str, centre: Centre
) -> None:
    # Someone else is already waiting in the same line.
    chat = {"name": "Earlier Claimant", "language": "en", "topic": centre.queue, "message": "Hi"}
    earlier = await api.post("/api/v1/chats", json=chat)
    assert earlier.status_code == 201, earlier.text

    await _start_chat(page, centre.queue, position=2)
    # "..., about N minutes." follows when the queue has an estimate.
    await expect(page.locator("#queue-status")).to_have_text(
        re.compile(r"^You are number 2 in line(, about \d+ minutes?)?\.$")
    )

    # The earlier claimant leaves: a `queue` frame moves this one up.
    async with connect(f"ws://{urlsplit(server_url).netloc}/ws/chat") as other:
        await other.send(
            json.dumps({"type": "hello", "token": earlier.json()["token"], "last_seq": 0})
        )
        await other.send(json.dumps({"type": "end"}))
        await expect(page.locator("#queue-status")).to_contain_text("You are number 1 in line")

    first = _messages(page, FIRST_MESSAGE, sender="customer")
    await expect(first).to_have_count(1)
    await expect(first.locator(".author")).to_have_text("You")
    await expect(page.get_by_role("log")).to_have_attribute("aria-live", "polite")
    await expect(page.get_by_label("Type your message")).to_be_focused()


async def test_a_message_sent_appears_once_and_is_acknowledged(
    page: Page, api: httpx.AsyncClient, centre: Centre
) -> None:
    await _start_chat(page, centre.queue)
    await _send(page, "Is anyone there?")

    line = _messages(page, "Is anyone there?")
    await expect(line).to_have_attribute("data-state", "sent")
    await expect(line.locator(".state")).to_have_text("Sent")
    await expect(line).to_have_count(1)
    await expect(page.locator("#messages li[data-pending]")).to_have_count(0)
    stored = await _stored_messages(api, page)
    assert [m["body"] for m in stored] == [FIRST_MESSAGE, "Is anyone there?"]
    assert (await _stored_chat(page) or {})["last_seq"] == stored[-1]["seq"]


async def test_it_works_as_a_320px_wide_widget_in_an_iframe(
    page: Page, server_url: str, centre: Centre
) -> None:
    await page.set_content(
        f'<iframe src="{server_url}/chat?lang=es" title="Chat" '
        'style="width:320px;height:600px;border:0"></iframe>'
    )
    widget = page.frame_locator("iframe")
    await expect(widget.get_by_role("button", name="Iniciar chat")).to_be_enabled()
    frame = page.frames[1]
    assert await frame.evaluate("document.documentElement.scrollWidth") <= 320

    await widget.get_by_label("Su nombre").fill("José Ramírez")
    await widget.get_by_label("Tema").select_option(centre.queue)
    await widget.get_by_label("¿En qué podemos ayudarle?").fill("No he recibido mi pago")
    await widget.get_by_label("¿En qué podemos ayudarle?").press("Tab")
    await expect(widget.get_by_role("button", name="Iniciar chat")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(widget.locator("#queue-status")).to_contain_text("Usted es el número 1")
    await widget.get_by_label("Escriba su mensaje").fill("¿Hay alguien?")
    await page.keyboard.press("Enter")
    await expect(widget.locator("#messages li[data-state='sent']")).to_have_count(2)
    assert await frame.evaluate("document.documentElement.scrollWidth") <= 320


async def test_spanish_changes_the_text_and_the_page_language(page: Page, centre: Centre) -> None:
    spanish_queue = await centre.add_queue("Seguro de Desempleo")
    await _open_form(page)
    await page.get_by_role("button", name="ES (Español)").click()
    await expect(page.locator("html")).to_have_attribute("lang", "es")
    await expect(page.get_by_label("Su nombre")).to_be_visible()
    await expect(page.get_by_label("¿En qué podemos ayudarle?")).to_be_visible()
    await expect(page.get_by_label("Idioma preferido")).to_have_value("es")
    await expect(page.get_by_role("button", name="Iniciar chat")).to_be_enabled()

    # The preferred-language field switches the page too, both ways.
    await page.get_by_label("Idioma preferido").select_option("en")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Chat with us")
    await page.get_by_label("Preferred language").select_option("es")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Escríbanos por chat")

    await page.get_by_label("Su nombre").fill("José Ramírez")
    topic = page.get_by_label("Tema")
    await expect(topic.locator("option").first).to_have_text("Elija un tema")
    await topic.select_option(spanish_queue)
    await page.get_by_label("¿En qué podemos ayudarle?").fill("No he recibido mi pago")
    await page.get_by_role("button", name="Iniciar chat").click()
    await expect(page.locator("#queue-status")).to_contain_text("Usted es el número 1 en la fila")
    await expect(_messages(page, "No he recibido mi pago").locator(".author")).to_have_text("Usted")


async def test_a_reload_resumes_the_same_chat_without_duplicates(
    page: Page, api: httpx.AsyncClient, centre: Centre
) -> None:
    interaction_id = await _start_chat(page, centre.queue)
    await _send(page, "Second message")
    await expect(_messages(page, "Second message")).to_have_attribute("data-state", "sent")

    await page.reload()
    await expect(page.locator("#prechat")).to_be_hidden()
    await expect(page.locator("#messages li[data-seq]")).to_have_count(2)
    await expect(page.locator("#queue-status")).to_contain_text("You are number 1 in line")
    stored = await _stored_chat(page)
    assert stored is not None and stored["interaction_id"] == interaction_id

    # After the reload the same socket carries new messages, each shown once.
    await _send(page, "Third message")
    await expect(_messages(page, "Third message")).to_have_attribute("data-state", "sent")
    await asyncio.sleep(0.5)  # a duplicate replay would arrive by now
    for text in (FIRST_MESSAGE, "Second message", "Third message"):
        await expect(_messages(page, text)).to_have_count(1)
    assert [m["body"] for m in await _stored_messages(api, page)] == [
        FIRST_MESSAGE,
        "Second message",
        "Third message",
    ]


async def test_the_agent_joins_reads_and_writes(
    page: Page, api: httpx.AsyncClient, centre: Centre
) -> None:
    interaction_id = await _start_chat(page, centre.queue)
    ana = await centre.agent("Ana Ruiz")
    await _accept(api, ana, interaction_id)

    await expect(page.locator("#messages li.notice")).to_contain_text("Ana joined the chat")
    await expect(page.locator("#queue-status")).to_be_hidden()

    response = await api.post(
        f"/api/v1/chats/{interaction_id}/messages",
        json={"client_message_id": "agent-1", "body": "Hello, I'm Ana. Let me check."},
        headers=ana.headers,
    )
    assert response.status_code in (200, 201), response.text
    reply = _messages(page, "Hello, I'm Ana. Let me check.", sender="agent")
    await expect(reply).to_have_count(1)
    await expect(reply.locator(".author")).to_contain_text("Ana")

    await _send(page, "Thank you")
    await expect(_messages(page, "Thank you")).to_have_attribute("data-state", "sent")
    await expect(_messages(page)).to_have_count(3)

    # A reload shows the conversation again, once, with Ana still in it.
    await page.reload()
    await expect(page.locator("#messages li[data-seq]")).to_have_count(3)
    await expect(page.locator("#messages li.notice")).to_have_text(["Ana joined the chat"])
    await asyncio.sleep(0.5)
    await expect(_messages(page)).to_have_count(3)
    await expect(page.locator("#messages li.notice")).to_have_count(1)
    await expect(page.locator("#queue-status")).to_be_hidden()


async def _desk_frame(desk: ClientConnection, **expected: object) -> dict[str, Any]:
    """The next frame on the agent's desk socket that has all of `expected` (10 s at most)."""
    async with asyncio.timeout(10):
        while True:
            frame: dict[str, Any] = json.loads(await desk.recv())
            if all(frame.get(key) == value for key, value in expected.items()):
                return frame


async def test_typing_and_read_marks_go_both_ways(
    page: Page, api: httpx.AsyncClient, centre: Centre, server_url: str
) -> None:
    interaction_id = await _start_chat(page, centre.queue)
    ana = await centre.agent("Ana Ruiz")
    await _accept(api, ana, interaction_id)
    await expect(page.locator("#messages li.notice")).to_contain_text("Ana joined the chat")
    token = ana.headers["Authorization"].removeprefix("Bearer ")
    chat = {"interaction_id": interaction_id}

    async with connect(f"ws://{urlsplit(server_url).netloc}/ws/agent") as desk:
        await desk.send(json.dumps({"type": "hello", "token": token, "last_seq": {}}))
        await _desk_frame(desk, type="welcome")

        # The agent types: the claimant sees it, and stops seeing it.
        await desk.send(json.dumps({"type": "typing", "typing": True, **chat}))
        await expect(page.locator("#typing")).to_have_text("Ana is typing…")
        await desk.send(json.dumps({"type": "typing", "typing": False, **chat}))
        await expect(page.locator("#typing")).to_be_hidden()

        # The claimant types: the agent sees it.
        await page.get_by_label("Type your message").press_sequentially("Hel")
        await _desk_frame(desk, type="typing", typing=True, **chat)
        await page.get_by_label("Type your message").press_sequentially("lo")
        await page.get_by_label("Type your message").press("Enter")
        line = _messages(page, "Hello", sender="customer")
        await expect(line).to_have_attribute("data-state", "sent")
        seq = int(await line.get_attribute("data-seq") or 0)
        await _desk_frame(desk, type="typing", typing=False, **chat)

        # The agent reads it: "Read" on the claimant's message.
        await desk.send(json.dumps({"type": "read", "seq": seq, **chat}))
        await expect(line.locator(".state")).to_have_text("Read")

        # The agent writes; the visible page says it has read up to that message.
        response = await api.post(
            f"/api/v1/chats/{interaction_id}/messages",
            json={"client_message_id": "agent-2", "body": "Thanks for waiting"},
            headers=ana.headers,
        )
        assert response.status_code == 201, response.text
        await _desk_frame(desk, type="read", seq=response.json()["seq"], **chat)


async def test_ending_the_chat_offers_a_rating_and_the_transcript(
    page: Page, api: httpx.AsyncClient, centre: Centre
) -> None:
    interaction_id = await _start_chat(page, centre.queue)
    ana = await centre.agent("Ana Ruiz")
    await _accept(api, ana, interaction_id)
    await expect(page.locator("#messages li.notice")).to_contain_text("Ana joined the chat")

    await page.get_by_role("button", name="End chat").click()
    await page.get_by_role("button", name="Yes, end chat").click()
    await expect(page.locator("#ended-title")).to_have_text("You ended the chat.")
    await expect(page.get_by_label("Type your message")).to_be_hidden()

    await page.get_by_role("radio", name="5, excellent").check()
    await page.get_by_label("Comments (optional)").fill("Very helpful")
    await page.get_by_role("button", name="Send rating").click()
    await expect(page.locator("#rating-result")).to_have_text("Thank you for your feedback.")

    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Download transcript").click()
    download = await download_info.value
    assert download.suggested_filename.endswith(".txt")
    path = await download.path()
    assert FIRST_MESSAGE in path.read_text(encoding="utf-8")

    await page.get_by_role("button", name="Start a new chat").click()
    await expect(page.get_by_role("button", name="Start chat")).to_be_enabled()
    assert await _stored_chat(page) is None


async def test_the_page_reconnects_and_resends_after_the_server_restarts(
    page: Page, api: httpx.AsyncClient, switchboard_server: SwitchboardServer, centre: Centre
) -> None:
    # The only test that needs a server of its own: it stops and starts it.
    await _start_chat(page, centre.queue)
    await asyncio.to_thread(switchboard_server.stop)
    await expect(page.locator("#connection")).to_have_text("Connection lost. Reconnecting…")

    # Written while the server is away: kept as "sending…", sent again once it is back.
    await _send(page, "Are you still there?")
    line = _messages(page, "Are you still there?")
    await expect(line).to_have_attribute("data-state", "sending")
    await asyncio.to_thread(switchboard_server.start)

    await expect(line).to_have_attribute("data-state", "sent", timeout=20_000)
    await expect(page.locator("#connection")).not_to_have_text("Connection lost. Reconnecting…")
    await expect(line).to_have_count(1)
    await expect(_messages(page, FIRST_MESSAGE)).to_have_count(1)
    assert [m["body"] for m in await _stored_messages(api, page)] == [
        FIRST_MESSAGE,
        "Are you still there?",
    ]
