"""The agent desk (/agent) and the claimant's chat (/chat) in Firefox ESR.

The same pages as the Chromium tests, in Debian's Firefox ESR over WebDriver BiDi
(`firefox` and `new_firefox_context`, see conftest.py and firefox_relay.py): a whole chat
from both sides, the desk with the keyboard alone, and both pages in Spanish. Every person
has a Firefox context of their own; the queue and the agents are the test's own
(`centre`). The desk steps are the Chromium end-to-end test's (test_end_to_end.py).

Calls (voice and video) are left out: their tests feed a fake camera and microphone with
Chromium's command-line flags, which Firefox does not have.
"""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from tests.browser.conftest import (
    Centre,
    ContextFactory,
    StaffAccount,
    SwitchboardServer,
    sign_in_in_spanish,
    watch_for_script_errors,
)
from tests.browser.test_end_to_end import (
    CLAIMANT,
    DISPOSITION,
    DISPOSITION_CODE,
    FIRST_MESSAGE,
    accept_offer,
    open_desk,
    query_database,
    start_chat_in_line,
)

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="package")]


@pytest_asyncio.fixture(loop_scope="package")
async def firefox_page(new_firefox_context: ContextFactory, script_errors: list[str]) -> Page:
    """A Firefox page in a context of its own, its script errors watched."""
    return watch_for_script_errors(await (await new_firefox_context()).new_page(), script_errors)


async def test_in_firefox_a_claimant_and_an_agent_chat_until_the_agent_wraps_it_up(
    firefox_page: Page,
    new_firefox_context: ContextFactory,
    centre: Centre,
    server: SwitchboardServer,
    script_errors: list[str],
) -> None:
    claimant = firefox_page
    interaction_id = str((await start_chat_in_line(claimant, centre))["interaction_id"])

    # Ana signs in on the desk, goes available and accepts the offer.
    ana = await open_desk(new_firefox_context, await centre.account("Ana Ruiz"), script_errors)
    await accept_offer(ana)
    await expect(ana.messages().filter(has_text=FIRST_MESSAGE)).to_have_count(1)
    await expect(claimant.locator("#messages li.notice")).to_have_text(["Ana joined the chat"])

    # Messages go both ways.
    box = claimant.get_by_label("Type your message")
    await box.fill("Hello, can you check my claim?")
    await box.press("Enter")
    question = ana.messages().filter(has_text="Hello, can you check my claim?")
    await expect(question).to_have_class(re.compile("from-customer"))
    await ana.send("Of course. One moment please.")
    answer = claimant.locator("#messages li.msg").filter(has_text="Of course. One moment please.")
    await expect(answer).to_have_class(re.compile("msg--agent"))
    await expect(claimant.locator("#messages li.msg")).to_have_count(3)
    await expect(ana.messages()).to_have_count(3)

    # Ana ends the chat: the claimant is told, and Ana wraps up with a disposition.
    panel = ana.panel()
    await panel.get_by_role("button", name="End chat").click()
    await panel.get_by_role("button", name="Yes, end it").click()
    await expect(claimant.locator("#ended-title")).to_have_text("The specialist ended the chat.")
    await expect(claimant.get_by_label("Type your message")).to_be_hidden()
    await panel.get_by_label(DISPOSITION).check()
    await panel.get_by_role("button", name="Finish wrap-up").click()
    await expect(ana.tab()).to_have_count(0)
    await expect(ana.page.locator("#no-chats")).to_be_visible()
    rows = query_database(
        server,
        "SELECT d.code, i.recorded_by FROM interaction_dispositions AS i "
        "JOIN dispositions AS d ON d.id = i.disposition_id WHERE i.interaction_id = ?",
        uuid.UUID(interaction_id).hex,
    )
    assert rows == [(DISPOSITION_CODE, uuid.UUID(ana.account.id).hex)]


async def sign_in_with_the_keyboard(page: Page, account: StaffAccount) -> None:
    """Sign in on /agent with keys only: the form starts focused, Tab goes from the
    username to the password, Enter sends the form."""
    await page.goto("/agent")
    await expect(page.get_by_label("Username")).to_be_focused()
    await page.keyboard.type(account.username)
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Password")).to_be_focused()
    await page.keyboard.type(account.password)
    await page.keyboard.press("Enter")
    await expect(page.locator("#connection")).to_have_text("Connected")


async def test_in_firefox_an_agent_signs_in_and_goes_available_with_the_keyboard_alone(
    firefox_page: Page, centre: Centre, api: httpx.AsyncClient
) -> None:
    account = await centre.account("Ana Ruiz")
    await sign_in_with_the_keyboard(firefox_page, account)

    # Focus moves to the state switcher; typing an option's first letter picks it.
    status = firefox_page.get_by_label("Status")
    await expect(status).to_be_focused()
    await firefox_page.keyboard.type("A")
    await expect(firefox_page.locator("#presence-text")).to_have_text("Receiving offers")
    await expect(status).to_have_value("available")

    # The server has the state the keyboard chose.
    presence = await api.get(f"/api/v1/agents/{account.id}/presence", headers=centre.admin)
    assert presence.status_code == 200, presence.text
    assert presence.json()["state"] == "available"


async def test_in_firefox_the_state_switcher_keeps_the_focus_after_a_change(
    firefox_page: Page, centre: Centre
) -> None:
    await sign_in_with_the_keyboard(firefox_page, await centre.account("Ana Ruiz"))
    status = firefox_page.get_by_label("Status")
    await expect(status).to_be_focused()
    await firefox_page.keyboard.type("A")
    await expect(firefox_page.locator("#presence-text")).to_have_text("Receiving offers")
    await expect(status).to_be_enabled()
    await expect(status).to_be_focused(timeout=2_000)
    await firefox_page.keyboard.press("End")
    await expect(firefox_page.locator("#presence-text")).to_have_text("Offline")


async def test_in_firefox_the_desk_renders_in_spanish(firefox_page: Page, centre: Centre) -> None:
    account = await centre.account("Ana Ruiz")
    page = firefox_page
    status = await sign_in_in_spanish(page, account)
    await status.select_option("available")
    await expect(page.locator("#presence-text")).to_have_text("Recibe contactos")
    await expect(page.get_by_role("button", name="Cerrar sesión")).to_be_visible()


async def test_in_firefox_the_chat_page_renders_in_spanish(
    firefox_page: Page, centre: Centre
) -> None:
    page = firefox_page
    await page.goto("/chat?lang=es")
    await expect(page.locator("html")).to_have_attribute("lang", "es")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Escríbanos por chat")
    await expect(page.get_by_label("Idioma preferido")).to_have_value("es")
    await expect(page.get_by_role("button", name="Iniciar chat")).to_be_enabled()
    await page.get_by_label("Su nombre").fill(CLAIMANT)
    await page.get_by_label("Tema").select_option(centre.queue)
    await page.get_by_label("¿En qué podemos ayudarle?").fill("No he recibido mi pago")
    await page.get_by_role("button", name="Iniciar chat").click()
    await expect(page.locator("#queue-status")).to_contain_text("Usted es el número 1 en la fila")
    await expect(page.get_by_label("Escriba su mensaje")).to_be_visible()
