"""The agent desk (/agent) in Chromium against a real demo server.

Each test drives one behaviour; the way there (sign in, go available, a claimant starts a
chat, accept it) is built by the fixtures below. The claimant side is played over REST and
`/ws/chat` from Python, as docs/realtime-protocol.md describes it. Each test's agents and
queues are its own (`centre`, see conftest.py), on a server the tests share.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Locator, Page, expect
from websockets.asyncio.client import ClientConnection, connect

from tests.browser.conftest import (
    DEMO_PASSWORD,
    Centre,
    ContextFactory,
    StaffAccount,
    sign_in_in_spanish,
)

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="package")]

AGENT_NAME = "Ana Ruiz"
CUSTOMER = "José Ramírez"
FIRST_MESSAGE = "I have not received my payment this week."
FRAME_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Claimant:
    """A chat started over REST: its id and the claimant's token."""

    interaction_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


# ------------------------------------------------------------------ helpers


async def sign_in(page: Page, username: str, password: str) -> None:
    await page.goto("/agent")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def sign_in_available(page: Page, account: StaffAccount) -> None:
    """Sign `account` in on the desk and set it available."""
    await sign_in(page, account.username, account.password)
    await expect(page.locator("#connection")).to_have_text("Connected")
    await page.get_by_label("Status").select_option("available")
    await expect(page.locator("#presence-text")).to_have_text("Receiving offers")


async def start_chat(api: httpx.AsyncClient, queue: str, name: str = CUSTOMER) -> Claimant:
    """Start a chat as a claimant, on the topic of `queue` (the test's, which Ana serves)."""
    options = await api.get("/api/v1/chats/options")
    assert options.status_code == 200, options.text
    topics = options.json()["topics"]
    topic = next((t["key"] for t in topics if queue in (t["key"], t.get("label"))), None)
    assert topic is not None, f"no topic for {queue!r} in {topics}"
    response = await api.post(
        "/api/v1/chats",
        json={
            "name": name,
            "language": "en",
            "topic": topic,
            "email": "jose@example.org",
            "case_number": "UI-2026-004512",
            "message": FIRST_MESSAGE,
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Claimant(interaction_id=str(body["interaction_id"]), token=body["token"])


def offer_banner(page: Page) -> Locator:
    return page.locator(".offer")


def conversation_tab(page: Page) -> Locator:
    return page.get_by_role("tab", name=re.compile(CUSTOMER))


def conversation_panel(page: Page) -> Locator:
    return page.get_by_role("tabpanel")


@asynccontextmanager
async def claimant_socket(server_url: str, claimant: Claimant) -> AsyncIterator[ClientConnection]:
    """The claimant's `/ws/chat`, past its `welcome` frame."""
    url = server_url.replace("http://", "ws://", 1) + "/ws/chat"
    async with connect(url) as ws:
        await ws.send(json.dumps({"type": "hello", "token": claimant.token, "last_seq": 0}))
        async with asyncio.timeout(FRAME_TIMEOUT_S):
            while json.loads(await ws.recv()).get("type") != "welcome":
                pass
        yield ws


async def agent_message_seen_by_claimant(
    server_url: str, claimant: Claimant, body: str
) -> dict[str, Any]:
    """Wait on the claimant's socket for the agent's message `body`."""
    async with claimant_socket(server_url, claimant) as ws, asyncio.timeout(FRAME_TIMEOUT_S):
        async for raw in ws:
            frame = json.loads(raw)
            wanted = ("message", "agent", body)
            if (frame.get("type"), frame.get("from"), frame.get("body")) == wanted:
                return dict(frame)
    raise AssertionError("the claimant socket closed before the agent's message came")


# ------------------------------------------------------------------ fixtures


@pytest_asyncio.fixture(loop_scope="package", autouse=True)
async def no_script_errors(page: Page) -> AsyncIterator[None]:
    """Every test also checks that the page threw no JavaScript error."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield
    assert errors == []


@pytest_asyncio.fixture(loop_scope="package")
async def ana(centre: Centre) -> StaffAccount:
    """Ana's account: an agent of the test's own who serves `centre.queue`."""
    return await centre.account(AGENT_NAME)


@pytest_asyncio.fixture(loop_scope="package")
async def desk(page: Page, ana: StaffAccount) -> Page:
    """Ana signed in on the desk, its socket connected."""
    await sign_in(page, ana.username, ana.password)
    await expect(page.get_by_label("Status")).to_be_visible()
    await expect(page.locator("#connection")).to_have_text("Connected")
    return page


@pytest_asyncio.fixture(loop_scope="package")
async def available_desk(desk: Page) -> Page:
    """Ana available: offers come to this page."""
    await desk.get_by_label("Status").select_option("available")
    await expect(desk.locator("#presence-text")).to_have_text("Receiving offers")
    return desk


@pytest_asyncio.fixture(loop_scope="package")
async def offered(available_desk: Page, api: httpx.AsyncClient, centre: Centre) -> Claimant:
    """A claimant's chat, offered to Ana: the banner is showing."""
    claimant = await start_chat(api, centre.queue)
    await expect(offer_banner(available_desk)).to_be_visible()
    return claimant


@pytest_asyncio.fixture(loop_scope="package")
async def accepted(available_desk: Page, offered: Claimant) -> Claimant:
    """Ana accepted the offered chat: its tab is open."""
    await offer_banner(available_desk).get_by_role("button", name="Accept").click()
    await expect(conversation_tab(available_desk)).to_be_visible()
    return offered


@pytest_asyncio.fixture(loop_scope="package")
async def wrap_up(available_desk: Page, accepted: Claimant) -> Claimant:
    """Ana ended the chat: the wrap-up form is open."""
    panel = conversation_panel(available_desk)
    await panel.get_by_role("button", name="End chat").click()
    await panel.get_by_role("button", name="Yes, end it").click()
    await expect(panel.get_by_role("button", name="Finish wrap-up")).to_be_visible()
    return accepted


# ------------------------------------------------------------------ tests


async def test_the_page_loads_nothing_from_another_origin(
    page: Page, server_url: str, ana: StaffAccount
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("websocket", lambda ws: requested.append(ws.url))
    await sign_in(page, ana.username, ana.password)
    await expect(page.locator("#connection")).to_have_text("Connected")
    ws_origin = server_url.replace("http://", "ws://", 1)
    foreign = [url for url in requested if not url.startswith((server_url + "/", ws_origin + "/"))]
    assert requested, "the page made no request at all"
    assert foreign == []
    assert any(url.endswith("/static/agent.js") for url in requested)


async def test_a_wrong_password_is_shown_at_the_form(page: Page) -> None:
    await sign_in(page, "ana.ruiz", "not-the-password")
    await expect(page.locator("#signin-error")).to_be_visible()
    await expect(page.get_by_label("Status")).to_be_hidden()


async def test_signing_in_shows_the_state_switcher(desk: Page) -> None:
    switcher = desk.get_by_label("Status")
    await expect(switcher).to_be_visible()
    await expect(switcher.locator("option")).to_contain_text(["Available", "Offline"])
    await expect(desk.locator("#agent-name")).to_have_text(AGENT_NAME)


async def test_signing_out_returns_to_the_sign_in_form(desk: Page) -> None:
    await desk.get_by_role("button", name="Sign out").click()
    await expect(desk.get_by_label("Username")).to_be_visible()
    await expect(desk.get_by_label("Status")).to_be_hidden()
    stored = await desk.evaluate("sessionStorage.getItem('switchboard.agent.session')")
    assert stored is None


async def test_a_session_near_its_expiry_is_refreshed(desk: Page) -> None:
    key = "switchboard.agent.session"
    before = await desk.evaluate(
        """(key) => {
            const saved = JSON.parse(sessionStorage.getItem(key));
            saved.expires_at = Date.now() + 5000;
            sessionStorage.setItem(key, JSON.stringify(saved));
            return saved.refresh_token;
        }""",
        key,
    )
    async with desk.expect_response("**/api/v1/auth/refresh") as refreshed:
        await desk.reload()
    assert (await refreshed.value).status == 200
    await expect(desk.locator("#connection")).to_have_text("Connected")
    after = await desk.evaluate("(key) => JSON.parse(sessionStorage.getItem(key))", key)
    assert after["refresh_token"] != before
    assert after["expires_at"] > 0


async def test_busy_with_a_reason_is_stored(desk: Page, api: httpx.AsyncClient) -> None:
    await desk.get_by_label("Status").select_option("busy:training")
    await expect(desk.locator("#presence-text")).to_have_text("Not receiving offers")
    token = await desk.evaluate(
        "JSON.parse(sessionStorage.getItem('switchboard.agent.session')).access_token"
    )
    me = await api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    presence = await api.get(
        f"/api/v1/agents/{me.json()['subject_id']}/presence",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert presence.status_code == 200, presence.text
    assert (presence.json()["state"], presence.json()["reason"]) == ("busy", "training")


async def test_the_state_switcher_keeps_the_focus_after_a_change_from_the_keyboard(
    desk: Page,
) -> None:
    status = desk.get_by_label("Status")
    await status.focus()
    await desk.keyboard.press("Home")  # the first option: available
    await expect(desk.locator("#presence-text")).to_have_text("Receiving offers")
    await expect(status).to_be_enabled()
    await expect(status).to_be_focused()
    await desk.keyboard.press("End")  # the last: offline, with no second look for the list
    await expect(desk.locator("#presence-text")).to_have_text("Offline")


async def test_an_offer_shows_a_banner_with_a_countdown(
    available_desk: Page, offered: Claimant, centre: Centre
) -> None:
    banner = offer_banner(available_desk)
    await expect(banner).to_contain_text(CUSTOMER)
    await expect(banner).to_contain_text(centre.queue)
    await expect(banner.locator(".offer-countdown-text")).to_have_text(
        re.compile(r"Expires in \d+ s")
    )
    await expect(banner.get_by_role("button", name="Accept")).to_be_enabled()
    await expect(banner.get_by_role("button", name="Reject")).to_be_enabled()
    await expect(available_desk.locator("#announce-assertive")).to_contain_text(CUSTOMER)


async def test_accepting_opens_a_tab_with_the_customer(
    available_desk: Page, accepted: Claimant
) -> None:
    await expect(offer_banner(available_desk)).to_have_count(0)
    await expect(conversation_tab(available_desk)).to_have_attribute("aria-selected", "true")
    panel = conversation_panel(available_desk)
    await expect(panel.locator(".c-case")).to_have_text("UI-2026-004512")
    await expect(panel.locator(".messages")).to_contain_text(FIRST_MESSAGE)


async def test_a_message_from_the_claimant_appears(
    available_desk: Page, accepted: Claimant, api: httpx.AsyncClient
) -> None:
    response = await api.post(
        f"/api/v1/chats/{accepted.interaction_id}/messages",
        json={"client_message_id": "c-2", "body": "It was due on Monday."},
        headers=accepted.headers,
    )
    assert response.status_code in (200, 201), response.text
    messages = conversation_panel(available_desk).locator(".messages .message")
    await expect(messages.filter(has_text="It was due on Monday.")).to_have_count(1)


async def test_a_message_in_another_tab_counts_as_unread(
    available_desk: Page, accepted: Claimant, api: httpx.AsyncClient, centre: Centre
) -> None:
    first_tab = conversation_tab(available_desk)
    await start_chat(api, centre.queue, name="Linh Tran")
    await offer_banner(available_desk).get_by_role("button", name="Accept").click()
    second_tab = available_desk.get_by_role("tab", name=re.compile("Linh Tran"))
    await expect(second_tab).to_have_attribute("aria-selected", "true")
    response = await api.post(
        f"/api/v1/chats/{accepted.interaction_id}/messages",
        json={"client_message_id": "c-2", "body": "Hello? Anyone there?"},
        headers=accepted.headers,
    )
    assert response.status_code in (200, 201), response.text
    await expect(first_tab.locator(".unread")).to_have_text("1")
    await first_tab.click()
    await expect(first_tab.locator(".unread")).to_be_hidden()
    await expect(conversation_panel(available_desk)).to_contain_text("Hello? Anyone there?")


async def test_the_agents_reply_reaches_the_claimant(
    available_desk: Page, accepted: Claimant, server_url: str
) -> None:
    reply = "Hello José, let me look at your claim."
    await conversation_panel(available_desk).get_by_label("Message", exact=True).fill(reply)
    await conversation_panel(available_desk).get_by_label("Message", exact=True).press("Enter")
    frame = await agent_message_seen_by_claimant(server_url, accepted, reply)
    assert frame["interaction_id"] == accepted.interaction_id
    own = conversation_panel(available_desk).locator(".message.from-agent", has_text=reply)
    await expect(own).to_have_count(1)
    await expect(own.locator(".status")).not_to_have_text("Sending…")


async def test_reloading_the_page_brings_the_chat_back_without_repeats(
    available_desk: Page, accepted: Claimant, api: httpx.AsyncClient
) -> None:
    response = await api.post(
        f"/api/v1/chats/{accepted.interaction_id}/messages",
        json={"client_message_id": "c-2", "body": "Are you still there?"},
        headers=accepted.headers,
    )
    assert response.status_code in (200, 201), response.text
    messages = conversation_panel(available_desk).locator(".messages .message")
    await expect(messages).to_have_count(2)
    await available_desk.reload()
    await expect(conversation_tab(available_desk)).to_be_visible()
    await expect(messages).to_have_count(2)
    await expect(messages.filter(has_text="Are you still there?")).to_have_count(1)


async def test_a_canned_response_is_filled_with_the_first_name(
    page: Page, api: httpx.AsyncClient, centre: Centre, ana: StaffAccount
) -> None:
    login = await api.post(
        "/api/v1/auth/login", json={"username": "supervisor", "password": DEMO_PASSWORD}
    )
    assert login.status_code == 200, login.text
    # Canned responses are shared by every desk: a title of this test's own.
    title = f"Greeting {centre.tag}"
    created = await api.post(
        "/api/v1/canned-responses",
        json={"title": title, "body": "Hello {first_name}, thanks for waiting."},
        headers={"Authorization": f"Bearer {login.json()['access_token']}"},
    )
    assert created.status_code == 201, created.text
    await sign_in_available(page, ana)
    await start_chat(api, centre.queue)
    await offer_banner(page).get_by_role("button", name="Accept").click()
    panel = conversation_panel(page)
    await panel.get_by_label("Canned response").select_option(label=title)
    await expect(panel.get_by_label("Message", exact=True)).to_have_value(
        "Hello José, thanks for waiting."
    )


async def test_a_warm_transfer_to_a_queue_closes_the_tab(
    available_desk: Page, accepted: Claimant, api: httpx.AsyncClient, centre: Centre
) -> None:
    note = "Claimant prefers Spanish; payment hold since Monday."
    spanish_queue = await centre.add_queue("Seguro de Desempleo")
    await conversation_panel(available_desk).get_by_role("button", name="Transfer…").click()
    dialog = available_desk.get_by_role("dialog", name="Transfer")
    await dialog.get_by_label("Queue", exact=True).select_option(spanish_queue)
    await dialog.get_by_role("radio", name="Warm").check()
    await dialog.get_by_role("textbox", name="Private note").fill(note)
    await dialog.get_by_role("button", name="Transfer", exact=True).click()
    await expect(dialog).to_be_hidden()
    await expect(conversation_tab(available_desk)).to_have_count(0)
    seen = await api.get(
        f"/api/v1/chats/{accepted.interaction_id}/messages", headers=accepted.headers
    )
    assert seen.status_code == 200, seen.text
    assert note not in seen.text


async def open_transfer_to_a_named_agent(desk: Page) -> Locator:
    """Open the transfer dialog of the open chat and choose "A named agent"; the dialog."""
    await conversation_panel(desk).get_by_role("button", name="Transfer…").click()
    dialog = desk.get_by_role("dialog", name="Transfer")
    await dialog.get_by_role("radio", name="A named agent").check()
    await expect(dialog.get_by_label("Agent", exact=True)).to_be_visible()
    return dialog


@pytest.mark.parametrize("target", ["a named agent", "a queue"])
async def test_the_receiving_agent_sees_the_warm_transfer_note_first(
    target: str,
    available_desk: Page,
    accepted: Claimant,
    ana: StaffAccount,
    centre: Centre,
    new_context: ContextFactory,
) -> None:
    note = "Payment hold since Monday; claimant prefers Spanish."
    # María serves another queue only: she gets the chat by name, or through her queue.
    spanish = await centre.add_skill()
    spanish_queue = await centre.add_queue("Seguro de Desempleo", skill=spanish)
    maria_account = await centre.account("María López", skills=[spanish])
    maria = await (await new_context()).new_page()
    errors: list[str] = []
    maria.on("pageerror", lambda error: errors.append(str(error)))
    await sign_in_available(maria, maria_account)

    if target == "a named agent":
        dialog = await open_transfer_to_a_named_agent(available_desk)
        # Colleagues available now, from GET /api/v1/agents/available: María, never Ana.
        agents = dialog.get_by_label("Agent", exact=True)
        await expect(agents.locator(f'option[value="{maria_account.id}"]')).to_have_text(
            "María López"
        )
        await expect(agents.locator(f'option[value="{ana.id}"]')).to_have_count(0)
        await expect(dialog.locator("#transfer-agent-error")).to_be_hidden()
        await agents.select_option(maria_account.id)
    else:
        await conversation_panel(available_desk).get_by_role("button", name="Transfer…").click()
        dialog = available_desk.get_by_role("dialog", name="Transfer")
        await dialog.get_by_label("Queue", exact=True).select_option(spanish_queue)
    await dialog.get_by_role("radio", name="Warm").check()
    await dialog.get_by_role("textbox", name="Private note").fill(note)
    await dialog.get_by_role("button", name="Transfer", exact=True).click()
    await expect(dialog).to_be_hidden()
    await expect(conversation_tab(available_desk)).to_have_count(0)

    await offer_banner(maria).get_by_role("button", name="Accept").click()
    panel = conversation_panel(maria)
    first = panel.locator(".panel-main > :not([hidden])").first
    await expect(first).to_have_class(re.compile("transfer-note"))
    await expect(first).to_contain_text(note)
    assert errors == []


async def test_agents_that_cannot_be_listed_are_explained_in_the_transfer_dialog(
    available_desk: Page, accepted: Claimant
) -> None:
    problem = {
        "type": "about:blank",
        "title": "Service unavailable",
        "status": 503,
        "detail": "Routing is starting up.",
        "code": "not_ready",
        "errors": [],
    }
    await available_desk.route(
        "**/api/v1/agents/available",
        lambda route: route.fulfill(
            status=503, json=problem, headers={"Content-Type": "application/problem+json"}
        ),
    )
    dialog = await open_transfer_to_a_named_agent(available_desk)
    agents = dialog.get_by_label("Agent", exact=True)
    await expect(agents.locator("option")).to_have_text(["Agents could not be loaded"])
    error = dialog.locator("#transfer-agent-error")
    await expect(error).to_have_text("Service unavailable: Routing is starting up.")
    await expect(dialog.locator("#transfer-agent-hint")).to_contain_text("Transfer to a queue")
    # Queues still work.
    await expect(dialog.get_by_label("Queue", exact=True).locator("option")).not_to_have_count(1)


async def test_the_claimant_typing_is_shown(
    available_desk: Page, accepted: Claimant, server_url: str
) -> None:
    typing = conversation_panel(available_desk).locator(".typing")
    async with claimant_socket(server_url, accepted) as ws:
        await ws.send(json.dumps({"type": "typing", "typing": True}))
        await expect(typing).to_have_text("José is typing…")
        await ws.send(json.dumps({"type": "typing", "typing": False}))
        await expect(typing).to_have_text("")


async def test_the_claimants_read_receipt_marks_the_reply_read(
    available_desk: Page, accepted: Claimant, server_url: str
) -> None:
    panel = conversation_panel(available_desk)
    reply = "Your payment was sent on Friday."
    await panel.get_by_label("Message", exact=True).fill(reply)
    await panel.get_by_role("button", name="Send").click()
    own = panel.locator(".message.from-agent", has_text=reply)
    await expect(own.locator(".status")).to_have_text("Sent")
    async with claimant_socket(server_url, accepted) as ws:
        seq = int(await own.get_attribute("data-seq") or 0)
        assert seq > 1
        await ws.send(json.dumps({"type": "read", "seq": seq}))
        await expect(own.locator(".status")).to_have_text("Read")


async def test_an_accepted_call_shows_its_details_and_an_end_button(
    available_desk: Page, api: httpx.AsyncClient, centre: Centre
) -> None:
    login = await api.post(
        "/api/v1/auth/login", json={"username": "supervisor", "password": DEMO_PASSWORD}
    )
    assert login.status_code == 200, login.text
    created = await api.post(
        "/api/v1/interactions",
        json={
            "channel": "voice",
            "queue": centre.queue,
            "customer": {"name": "Grace Hopper", "phone": "+1 555 0100"},
            "language": "en",
            "topic": "Weekly certification",
        },
        headers={"Authorization": f"Bearer {login.json()['access_token']}"},
    )
    assert created.status_code == 201, created.text
    banner = offer_banner(available_desk)
    await expect(banner).to_contain_text("Phone call")
    await banner.get_by_role("button", name="Accept").click()
    panel = conversation_panel(available_desk)
    await expect(panel.locator(".call-card")).to_contain_text("Phone call with Grace Hopper")
    await expect(panel.locator(".c-phone")).to_have_text("+1 555 0100")
    await expect(panel.get_by_role("button", name="End call")).to_be_visible()
    await expect(panel.get_by_label("Message", exact=True)).to_be_hidden()


async def test_ending_the_chat_opens_wrap_up_with_dispositions(
    available_desk: Page, wrap_up: Claimant
) -> None:
    panel = conversation_panel(available_desk)
    await expect(panel.get_by_label("Claim status explained")).to_be_visible()
    await expect(panel.get_by_label("Notes")).to_be_visible()
    await expect(panel.get_by_label("Message", exact=True)).to_be_hidden()


async def test_submitting_wrap_up_closes_the_tab(
    available_desk: Page, wrap_up: Claimant, api: httpx.AsyncClient
) -> None:
    panel = conversation_panel(available_desk)
    await panel.get_by_label("Claim status explained").check()
    await panel.get_by_label("Notes").fill("Payment released on Friday.")
    await panel.get_by_role("button", name="Finish wrap-up").click()
    # Sooner than the page's own fallback (15 s): the chat_closed frame removes the tab.
    await expect(conversation_tab(available_desk)).to_have_count(0)
    await expect(available_desk.locator("#no-chats")).to_have_text(
        "No open conversations. New offers appear here."
    )


async def test_the_desk_in_spanish_switches_to_english_and_remembers_it(
    page: Page, ana: StaffAccount
) -> None:
    status = await sign_in_in_spanish(page, ana)
    await status.select_option("available")
    await expect(page.locator("#presence-text")).to_have_text("Recibe contactos")
    await expect(page.locator("#no-chats")).to_have_text(
        "No hay conversaciones abiertas. Los nuevos contactos aparecerán aquí."
    )

    # The selector in the top bar: everything on the page follows, nothing is lost.
    await page.get_by_label("Idioma").select_option("en")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_label("Status")).to_have_value("available")
    await expect(page.locator("#presence-text")).to_have_text("Receiving offers")
    await expect(page.locator("#connection")).to_have_text("Connected")
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    await expect(page).to_have_title("Switchboard agent desk")
    assert await page.evaluate("localStorage.getItem('switchboard.agent.lang')") == "en"

    # The address follows the choice, so a reload keeps it; so does /agent without ?lang=.
    await page.reload()
    await expect(page.get_by_label("Language")).to_have_value("en")
    await expect(page.locator("#connection")).to_have_text("Connected")
    await page.goto("/agent")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_label("Status").locator("option").first).to_have_text("Available")
