"""The supervisor dashboard (/supervisor) in Chromium against a real demo server.

The dashboard is live: a chat that starts waiting and an agent whose state changes show on
it within two seconds, without reloading. Each test's queue and agents are its own
(`centre`, see conftest.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Locator, Page, expect

from tests.browser.conftest import DEMO_PASSWORD, Centre

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="package")]

LIVE_WITHIN_MS = 2_000


@pytest_asyncio.fixture(loop_scope="package", autouse=True)
async def no_script_errors(page: Page) -> AsyncIterator[None]:
    """Every test also checks that the page threw no JavaScript error."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield
    assert errors == []


async def sign_in_supervisor(page: Page) -> None:
    await page.goto("/supervisor")
    await page.get_by_label("Username").fill("supervisor")
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#connection")).to_have_text("Live")


async def start_chat(api: httpx.AsyncClient, queue: str) -> str:
    """A claimant's chat on the topic of `queue`; its interaction id."""
    topics = (await api.get("/api/v1/chats/options")).json()["topics"]
    topic = next(t["key"] for t in topics if queue in (t["key"], t.get("label")))
    response = await api.post(
        "/api/v1/chats",
        json={"name": "José Ramírez", "language": "es", "topic": topic, "message": "¿Mi pago?"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["interaction_id"])


def queue_tile(page: Page, centre: Centre) -> Locator:
    return page.locator(f'.tile[data-queue-id="{centre.queue_ids[0]}"]')


def agent_row(page: Page, agent_id: str) -> Locator:
    return page.locator(f'#agent-rows tr[data-agent-id="{agent_id}"]')


async def test_a_new_waiting_chat_and_an_agent_state_change_show_within_two_seconds(
    page: Page, centre: Centre, api: httpx.AsyncClient
) -> None:
    ana = await centre.agent("Ana Ruiz", available=False)
    await sign_in_supervisor(page)
    tile = queue_tile(page, centre)
    await expect(tile.locator(".waiting dd")).to_have_text("0")
    await expect(agent_row(page, ana.id).locator(".state")).to_have_text("Offline")

    await start_chat(api, centre.queue)
    await expect(tile.locator(".waiting dd")).to_have_text("1", timeout=LIVE_WITHIN_MS)

    response = await api.put(
        f"/api/v1/agents/{ana.id}/presence",
        json={"state": "busy", "reason": "break"},
        headers=ana.headers,
    )
    assert response.status_code == 200, response.text
    await expect(agent_row(page, ana.id).locator(".state")).to_have_text(
        "Busy: break", timeout=LIVE_WITHIN_MS
    )
    # With nobody available to take the chat, the queue raises an alert.
    alert = page.locator(f'#alerts li[data-queue="{centre.queue_ids[0]}"]')
    await expect(alert.first).to_be_visible()


async def test_a_supervisor_forces_an_agent_offline_from_the_board(
    page: Page, centre: Centre
) -> None:
    ana = await centre.agent("Ana Ruiz")
    await sign_in_supervisor(page)
    row = agent_row(page, ana.id)
    await expect(row.locator(".state")).to_have_text("Available")

    await row.get_by_label("New state for Ana Ruiz").select_option("offline")
    await row.get_by_role("button", name="Set the state of Ana Ruiz").click()

    await expect(row.locator(".state")).to_have_text("Offline", timeout=LIVE_WITHIN_MS)
