"""End to end in real Chromium pages: a claimant on /chat and agents on /agent.

Every person has a browser context of their own (own cookies and sessionStorage): the
claimant, Ana (who takes the chat first) and María (to whom Ana transfers it). The way to
each behaviour is built by the fixtures below, one step per fixture:

    claimant ─┬─ talking ─┬─ transferred ── ended
    ana ──────┘           └─ dropped (the claimant's connection is lost)

The queue and the agents are the test's own (`centre`, see conftest.py).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import BrowserContext, Locator, Page, expect

from tests.browser.conftest import (
    DATABASE_FILE,
    Centre,
    ContextFactory,
    StaffAccount,
    SwitchboardServer,
    watch_for_script_errors,
)

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="package")]

CLAIMANT = "José Ramírez"
FIRST_MESSAGE = "I have not received my payment this week."
NOTE = "Payment on hold since Monday; claimant prefers Spanish."
DISPOSITION = "Claim status explained"
DISPOSITION_CODE = "claim_status_explained"

# Remembers the claimant page's websockets, so a test can drop the connection under it.
TRACK_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      window.__sockets.push(this);
    }
  };
})();
"""


@dataclass(frozen=True)
class Desk:
    """An agent signed in on /agent in a browser context of their own."""

    page: Page
    account: StaffAccount

    def panel(self) -> Locator:
        return self.page.get_by_role("tabpanel")

    def tab(self) -> Locator:
        return self.page.get_by_role("tab", name=re.compile(CLAIMANT))

    def messages(self) -> Locator:
        return self.panel().locator(".messages .message")

    async def send(self, text: str) -> None:
        """Write `text` in the open chat and wait until the server stored it."""
        box = self.panel().get_by_label("Message", exact=True)
        await box.fill(text)
        await box.press("Enter")
        own = self.panel().locator(".message.from-agent", has_text=text)
        await expect(own).to_have_count(1)
        await expect(own).to_have_attribute("data-seq", re.compile(r"^\d+$"))


@dataclass(frozen=True)
class Claimant:
    """The claimant's page, its context and the chat it started."""

    page: Page
    context: BrowserContext
    interaction_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def messages(self, text: str | None = None) -> Locator:
        lines = self.page.locator("#messages li.msg")
        return lines.filter(has_text=text) if text else lines

    async def send(self, text: str) -> None:
        box = self.page.get_by_label("Type your message")
        await box.fill(text)
        await box.press("Enter")


# ------------------------------------------------------------------ helpers


async def open_desk(new_context: ContextFactory, account: StaffAccount, errors: list[str]) -> Desk:
    """Sign `account` in on /agent in a new browser context and make it available."""
    page = watch_for_script_errors(await (await new_context()).new_page(), errors)
    await page.goto("/agent")
    await page.get_by_label("Username").fill(account.username)
    await page.get_by_label("Password").fill(account.password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#connection")).to_have_text("Connected")
    await page.get_by_label("Status").select_option("available")
    await expect(page.locator("#presence-text")).to_have_text("Receiving offers")
    return Desk(page, account)


async def accept_offer(desk: Desk) -> None:
    await desk.page.locator(".offer").get_by_role("button", name="Accept").click()
    await expect(desk.tab()).to_have_attribute("aria-selected", "true")


async def stored_messages(api: httpx.AsyncClient, claimant: Claimant) -> list[dict[str, Any]]:
    response = await api.get(
        f"/api/v1/chats/{claimant.interaction_id}/messages",
        params={"after_seq": 0},
        headers=claimant.headers,
    )
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


def query_database(server: SwitchboardServer, sql: str, *args: object) -> list[tuple[Any, ...]]:
    """Rows of `sql` from the server's SQLite file (UUIDs are stored as 32 hex digits)."""
    with sqlite3.connect(server.data_dir / DATABASE_FILE, timeout=10) as connection:
        return connection.execute(sql, args).fetchall()


async def shown_in_order(claimant: Claimant) -> list[tuple[int, str]]:
    """(seq, body) of every message on the claimant's page, top to bottom."""
    shown: list[list[Any]] = await claimant.messages().evaluate_all(
        "(lines) => lines.map((li) => [li.dataset.seq, li.querySelector('.body').textContent])"
    )
    return [(int(seq), str(body)) for seq, body in shown]


async def start_chat_in_line(page: Page, centre: Centre) -> dict[str, Any]:
    """Start José's chat on /chat and wait until he is first in line; what the page stored
    (interaction id and token)."""
    await page.goto("/chat")
    await expect(page.get_by_role("button", name="Start chat")).to_be_enabled()
    await page.get_by_label("Your name").fill(CLAIMANT)
    await page.get_by_label("Topic").select_option(centre.queue)
    await page.get_by_label("How can we help?").fill(FIRST_MESSAGE)
    await page.get_by_role("button", name="Start chat").click()
    await expect(page.locator("#queue-status")).to_contain_text("You are number 1 in line")
    stored: dict[str, Any] = await page.evaluate(
        "JSON.parse(sessionStorage.getItem('switchboard.chat'))"
    )
    return stored


# ------------------------------------------------------------------ fixtures


@pytest_asyncio.fixture(loop_scope="package")
async def claimant(
    new_context: ContextFactory, centre: Centre, script_errors: list[str]
) -> Claimant:
    """A claimant who started a chat on /chat and waits in line (nobody is available)."""
    context = await new_context()
    await context.add_init_script(TRACK_SOCKETS)
    page = watch_for_script_errors(await context.new_page(), script_errors)
    stored = await start_chat_in_line(page, centre)
    return Claimant(page, context, str(stored["interaction_id"]), str(stored["token"]))


@pytest_asyncio.fixture(loop_scope="package")
async def ana(
    claimant: Claimant, new_context: ContextFactory, centre: Centre, script_errors: list[str]
) -> Desk:
    """Ana on the desk, available once the claimant waits: the chat is offered to her."""
    return await open_desk(new_context, await centre.account("Ana Ruiz"), script_errors)


@pytest_asyncio.fixture(loop_scope="package")
async def talking(claimant: Claimant, ana: Desk) -> Claimant:
    """Ana accepted the offer; the claimant sees her join."""
    await accept_offer(ana)
    await expect(ana.messages().filter(has_text=FIRST_MESSAGE)).to_have_count(1)
    await expect(claimant.page.locator("#messages li.notice")).to_have_text(["Ana joined the chat"])
    await expect(claimant.page.locator("#queue-status")).to_be_hidden()
    return claimant


@pytest_asyncio.fixture(loop_scope="package")
async def maria(
    talking: Claimant, new_context: ContextFactory, centre: Centre, script_errors: list[str]
) -> Desk:
    """María on the desk and available, in a third browser context (after Ana took the chat,
    so that the queue offered it to Ana)."""
    return await open_desk(new_context, await centre.account("María López"), script_errors)


@pytest_asyncio.fixture(loop_scope="package")
async def transferred(talking: Claimant, ana: Desk, maria: Desk) -> Claimant:
    """Ana transferred the chat warm, with a note, to María by name; María accepted it."""
    await ana.panel().get_by_role("button", name="Transfer…").click()
    dialog = ana.page.get_by_role("dialog", name="Transfer")
    await dialog.get_by_role("radio", name="A named agent").check()
    agents = dialog.get_by_label("Agent", exact=True)
    # The list comes from GET /api/v1/agents/available: María is there by name.
    await expect(agents.locator(f'option[value="{maria.account.id}"]')).to_have_text("María López")
    await agents.select_option(maria.account.id)
    await dialog.get_by_role("radio", name="Warm").check()
    await dialog.get_by_role("textbox", name="Private note").fill(NOTE)
    await dialog.get_by_role("button", name="Transfer", exact=True).click()
    await expect(dialog).to_be_hidden()
    await accept_offer(maria)
    return talking


@pytest_asyncio.fixture(loop_scope="package")
async def ended(transferred: Claimant, maria: Desk) -> Claimant:
    """María ended the chat: her wrap-up form is open and the claimant's page says so."""
    await maria.panel().get_by_role("button", name="End chat").click()
    await maria.panel().get_by_role("button", name="Yes, end it").click()
    await expect(maria.panel().get_by_role("button", name="Finish wrap-up")).to_be_visible()
    await expect(transferred.page.locator("#ended-title")).to_have_text(
        "The specialist ended the chat."
    )
    return transferred


@pytest_asyncio.fixture(loop_scope="package")
async def dropped(talking: Claimant, ana: Desk) -> Claimant:
    """The claimant's connection was lost (socket closed, browser offline) and, while it was
    gone, Ana wrote a message."""
    await ana.send("Let me look at your claim.")
    await expect(talking.messages("Let me look at your claim.")).to_have_count(1)

    await talking.page.evaluate("window.__sockets.forEach((socket) => socket.close())")
    await talking.context.set_offline(True)
    await expect(talking.page.locator("#connection")).to_have_text("Connection lost. Reconnecting…")
    # The server noticed: Ana's desk shows the claimant disconnected.
    await expect(ana.panel().locator(".disconnected")).to_have_text("Disconnected")
    await ana.send("I found it: the payment was sent on Friday.")
    await asyncio.sleep(0.5)  # the page keeps trying to reconnect, and fails, meanwhile
    await expect(talking.page.locator("#connection")).to_have_text("Connection lost. Reconnecting…")
    return talking


# ------------------------------------------------------------------ (a) a whole chat


async def test_the_claimant_and_the_agent_exchange_messages_both_ways(
    talking: Claimant, ana: Desk, api: httpx.AsyncClient
) -> None:
    await talking.send("Hello, can you check my claim?")
    question = ana.messages().filter(has_text="Hello, can you check my claim?")
    await expect(question).to_have_count(1)
    await expect(question).to_have_class(re.compile("from-customer"))

    await ana.send("Of course. One moment please.")
    answer = talking.messages("Of course. One moment please.")
    await expect(answer).to_have_count(1)
    await expect(answer).to_have_class(re.compile("msg--agent"))
    await expect(answer.locator(".author")).to_contain_text("Ana")

    # The claimant's own message was acknowledged (Ana read it), and each side shows
    # every message once.
    await expect(talking.messages("Hello, can you check my claim?")).to_have_attribute(
        "data-state", re.compile("^(sent|read)$")
    )
    await expect(talking.messages()).to_have_count(3)
    await expect(ana.messages()).to_have_count(3)
    assert [m["body"] for m in await stored_messages(api, talking)] == [
        FIRST_MESSAGE,
        "Hello, can you check my claim?",
        "Of course. One moment please.",
    ]


async def test_a_warm_transfer_to_a_named_agent_shows_her_the_note_first(
    transferred: Claimant, ana: Desk, maria: Desk, api: httpx.AsyncClient
) -> None:
    # María sees Ana's note before anything else, then the conversation so far.
    first = maria.panel().locator(".panel-main > :not([hidden])").first
    await expect(first).to_have_class(re.compile("transfer-note"))
    await expect(first).to_contain_text(NOTE)
    await expect(maria.messages().filter(has_text=FIRST_MESSAGE)).to_have_count(1)
    await expect(ana.tab()).to_have_count(0)

    # The claimant stays in the chat, is told, meets María and never sees the note.
    notices = transferred.page.locator("#messages li.notice")
    await expect(notices).to_have_text(
        [
            "Ana joined the chat",
            "You are being transferred. Please stay in the chat.",
            "María joined the chat",
        ]
    )
    await maria.send("Hello José, I am María. I have read Ana's note.")
    await expect(transferred.messages("I am María")).to_have_count(1)
    await expect(transferred.page.locator("#messages")).not_to_contain_text(NOTE)
    assert NOTE not in str(await stored_messages(api, transferred))


async def test_the_second_agent_ends_the_chat_and_wraps_up_with_a_disposition(
    ended: Claimant, maria: Desk, server: SwitchboardServer
) -> None:
    panel = maria.panel()
    await panel.get_by_label(DISPOSITION).check()
    await panel.get_by_label("Notes").fill("Explained the payment hold.")
    await panel.get_by_role("button", name="Finish wrap-up").click()
    await expect(maria.tab()).to_have_count(0)
    await expect(maria.page.locator("#no-chats")).to_be_visible()

    rows = query_database(
        server,
        "SELECT d.code, i.recorded_by FROM interaction_dispositions AS i "
        "JOIN dispositions AS d ON d.id = i.disposition_id WHERE i.interaction_id = ?",
        uuid.UUID(ended.interaction_id).hex,
    )
    assert rows == [(DISPOSITION_CODE, uuid.UUID(maria.account.id).hex)]


async def test_the_claimant_rates_the_chat_once_it_has_ended(
    ended: Claimant, api: httpx.AsyncClient, server: SwitchboardServer
) -> None:
    page = ended.page
    await expect(page.get_by_label("Type your message")).to_be_hidden()
    await page.get_by_role("radio", name="4, good").check()
    await page.get_by_label("Comments (optional)").fill("María sorted it out.")
    await page.get_by_role("button", name="Send rating").click()
    await expect(page.locator("#rating-result")).to_have_text("Thank you for your feedback.")

    status = await api.get(f"/api/v1/chats/{ended.interaction_id}", headers=ended.headers)
    assert status.status_code == 200, status.text
    assert (status.json()["ended"], status.json()["rating"]) == (True, 4)
    rows = query_database(
        server,
        "SELECT satisfaction_rating, satisfaction_comment FROM interactions WHERE id = ?",
        uuid.UUID(ended.interaction_id).hex,
    )
    assert rows == [(4, "María sorted it out.")]


# ------------------------------------------------------------------ (b) a dropped connection


async def test_after_reconnecting_the_claimant_sees_every_message_once_in_order(
    dropped: Claimant, ana: Desk, api: httpx.AsyncClient
) -> None:
    expected = [
        FIRST_MESSAGE,
        "Let me look at your claim.",
        "I found it: the payment was sent on Friday.",
    ]
    await dropped.context.set_offline(False)
    await expect(dropped.messages()).to_have_count(3)
    await expect(ana.panel().locator(".disconnected")).to_be_hidden()
    await asyncio.sleep(0.5)  # a repeated replay would have arrived by now

    shown = await shown_in_order(dropped)
    assert [body for _, body in shown] == expected, shown
    stored = await stored_messages(api, dropped)
    assert shown == [(m["seq"], m["body"]) for m in stored]
    assert [seq for seq, _ in shown] == sorted({seq for seq, _ in shown})
    await expect(dropped.page.locator("#messages li.notice")).to_have_text(["Ana joined the chat"])


async def test_a_message_typed_while_offline_is_delivered_once_after_reconnecting(
    dropped: Claimant, ana: Desk, api: httpx.AsyncClient
) -> None:
    typed = "Thank you! Are you still there?"
    await dropped.send(typed)
    line = dropped.messages(typed)
    await expect(line).to_have_attribute("data-state", "sending")
    await asyncio.sleep(0.5)
    await expect(ana.messages().filter(has_text=typed)).to_have_count(0)

    await dropped.context.set_offline(False)
    await expect(line).to_have_attribute("data-state", re.compile("^(sent|read)$"))
    await expect(ana.messages().filter(has_text=typed)).to_have_count(1)
    await asyncio.sleep(0.5)  # a second delivery would have arrived by now
    await expect(line).to_have_count(1)
    await expect(ana.messages().filter(has_text=typed)).to_have_count(1)

    stored = [m["body"] for m in await stored_messages(api, dropped)]
    assert stored == [
        FIRST_MESSAGE,
        "Let me look at your claim.",
        "I found it: the payment was sent on Friday.",
        typed,
    ]
    shown = await shown_in_order(dropped)
    assert [body for _, body in shown] == stored, shown
