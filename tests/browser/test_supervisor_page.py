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


def catalogue_row(page: Page, section: str, name: str) -> Locator:
    """The row of `name` in the catalogue section `section` (canned, dispositions)."""
    cell = page.get_by_role("cell", name=name, exact=True)
    return page.locator(f"#{section}-rows tr").filter(has=cell)


async def agents_see(api: httpx.AsyncClient, headers: dict[str, str], title: str) -> bool:
    response = await api.get("/api/v1/canned-responses", headers=headers)
    assert response.status_code == 200, response.text
    return title in [item["title"] for item in response.json()]


async def test_a_supervisor_adds_edits_hides_and_deletes_a_canned_response(
    page: Page, centre: Centre, api: httpx.AsyncClient
) -> None:
    ana = await centre.agent("Ana Ruiz")
    title = f"Greeting {centre.tag}"
    await sign_in_supervisor(page)
    section = page.locator("#canned")
    await section.get_by_label("Title").fill(title)
    await section.get_by_label("Language code").fill("es")
    await section.get_by_label("Text").fill("Hola {nombre}")
    await section.get_by_role("button", name="Add").click()
    # The API's refusal of an unknown placeholder shows beside the text, naming it.
    await expect(page.locator("#canned-field-body-error")).to_contain_text("{nombre}")
    await section.get_by_label("Text").fill("Hola {first_name}, soy {agent_first_name}.")
    await section.get_by_role("button", name="Add").click()
    row = catalogue_row(page, "canned", title)
    await expect(row.locator(".active")).to_have_text("Yes")
    assert await agents_see(api, ana.headers, title)
    # Reloaded, the page signs in from its kept session before the list's script runs.
    await page.reload()
    await expect(row.locator(".long-text")).to_have_text(
        "Hola {first_name}, soy {agent_first_name}."
    )

    await row.get_by_role("button", name=f"Edit {title}").click()
    await section.get_by_label("Text").fill("Hola {first_name}. ¿En qué le puedo ayudar?")
    await section.get_by_role("button", name="Save changes").click()
    await expect(row.locator(".long-text")).to_have_text(
        "Hola {first_name}. ¿En qué le puedo ayudar?"
    )

    await row.get_by_role("button", name=f"Hide from agents: {title}").click()
    await expect(row.locator(".active")).to_have_text("No (hidden)")
    assert not await agents_see(api, ana.headers, title)

    page.once("dialog", lambda dialog: dialog.accept())
    await row.get_by_role("button", name=f"Delete {title}").click()
    await expect(row).to_have_count(0)
    response = await api.get(
        "/api/v1/canned-responses", params={"include_inactive": "true"}, headers=centre.admin
    )
    assert title not in [item["title"] for item in response.json()]


async def test_a_supervisor_adds_renames_and_stops_offering_a_disposition(
    page: Page, centre: Centre, api: httpx.AsyncClient
) -> None:
    ana = await centre.agent("Ana Ruiz")
    code, label = f"resea_set_{centre.tag}", f"RESEA appointment set {centre.tag}"
    await sign_in_supervisor(page)
    section = page.locator("#dispositions")
    await section.get_by_label("Code").fill(code)
    await section.get_by_role("button", name="Add").click()
    await expect(page.locator("#dispositions-field-label-error")).to_be_visible()
    await section.get_by_label("Label").fill(label)
    await section.get_by_role("button", name="Add").click()
    row = catalogue_row(page, "dispositions", label)
    await expect(row.locator(".active")).to_have_text("Yes")

    # The code is fixed once made: editing offers the label and the description only.
    await row.get_by_role("button", name=f"Edit {label}").click()
    await expect(section.get_by_label("Code")).not_to_be_editable()
    renamed = f"RESEA appointment booked {centre.tag}"
    await section.get_by_label("Label").fill(renamed)
    await section.get_by_role("button", name="Save changes").click()
    row = catalogue_row(page, "dispositions", renamed)
    await expect(row).to_have_count(1)
    assert renamed in await offered_at_wrap_up(api, ana.headers)

    await row.get_by_role("button", name=f"Stop offering: {renamed}").click()
    await expect(row.locator(".active")).to_have_text("No (hidden)")
    assert renamed not in await offered_at_wrap_up(api, ana.headers)
    await expect(row.get_by_role("button", name=f"Delete {renamed}")).to_have_count(0)


async def offered_at_wrap_up(api: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    """The labels of the dispositions an agent is offered at wrap-up."""
    response = await api.get(
        "/api/v1/dispositions", params={"active": "true", "limit": 200}, headers=headers
    )
    assert response.status_code == 200, response.text
    return [item["label"] for item in response.json()["items"]]
