"""Where webhooks may go: public addresses and the listed networks, never this machine or
the office network by default; checked when a subscription is made and at every connection."""

from __future__ import annotations

import ipaddress

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.agents.models import StaffRole
from app.webhooks.models import DeliveryStatus, WebhookDelivery
from app.webhooks.outbox import enqueue_deliveries
from app.webhooks.targets import TargetPolicy, TargetRefusedError
from tests.conftest import CallerFactory
from tests.webhooks.conftest import (
    DispatcherFactory,
    Receiver,
    add_subscription,
    event,
    eventually,
)

PUBLIC_ONLY = TargetPolicy()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.10",
        "172.16.5.4",
        "169.254.169.254",  # a cloud's metadata service
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
    ],
)
def test_addresses_that_are_not_public_are_refused(address: str) -> None:
    with pytest.raises(TargetRefusedError, match="SWITCHBOARD_WEBHOOK_ALLOWED_NETWORKS"):
        PUBLIC_ONLY.check_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1::1"])
def test_public_addresses_are_allowed(address: str) -> None:
    PUBLIC_ONLY.check_address(ipaddress.ip_address(address))


def test_a_listed_network_is_allowed_and_its_neighbours_are_not() -> None:
    policy = TargetPolicy.from_networks(["10.20.0.0/16"])
    policy.check_address(ipaddress.ip_address("10.20.3.4"))
    with pytest.raises(TargetRefusedError, match="private"):
        policy.check_address(ipaddress.ip_address("10.21.3.4"))


@pytest.mark.parametrize(
    "url", ["http://localhost:8080/hooks", "https://api.localhost/x", "http://[::1]/x"]
)
def test_a_url_naming_this_machine_is_refused_without_asking_dns(url: str) -> None:
    with pytest.raises(TargetRefusedError, match="loopback"):
        PUBLIC_ONLY.check_url(url)


def test_a_url_naming_a_host_is_left_to_the_connection() -> None:
    PUBLIC_ONLY.check_url("https://crm.example.org/hooks")  # may not resolve from here yet


async def test_a_name_resolving_to_loopback_is_refused_at_connection() -> None:
    with pytest.raises(TargetRefusedError, match="loopback"):
        await PUBLIC_ONLY.resolve("localhost", 80)


async def test_creating_a_subscription_to_the_metadata_address_is_422_naming_the_url(
    client: httpx.AsyncClient, staff_caller: CallerFactory
) -> None:
    admin = await staff_caller(StaffRole.ADMIN)
    response = await client.post(
        "/api/v1/webhooks",
        json={
            "url": "http://169.254.169.254/latest/meta-data",
            "event_types": ["interaction.created"],
        },
        headers=admin.headers,
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "webhook_target_refused"
    assert [error["field"] for error in problem["errors"]] == ["body.url"]
    assert "link-local" in problem["errors"][0]["message"]


async def test_moving_a_subscription_to_the_office_network_is_422_naming_the_url(
    app: FastAPI, client: httpx.AsyncClient, staff_caller: CallerFactory
) -> None:
    admin = await staff_caller(StaffRole.ADMIN)
    created = await client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hooks", "event_types": ["interaction.created"]},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text  # loopback is listed for the tests
    response = await client.patch(
        f"/api/v1/webhooks/{created.json()['id']}",
        json={"url": "http://10.0.0.5/hooks"},
        headers=admin.headers,
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "body.url"


async def test_the_dispatchers_own_client_does_not_connect_to_a_refused_address(
    sessions: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    start_dispatcher: DispatcherFactory,
) -> None:
    # Stored before the rule (or by a name that resolved elsewhere then): caught at connection.
    url = receiver.on("/hook").replace("127.0.0.1", "localhost")
    await add_subscription(sessions, url)
    async with sessions() as session, session.begin():
        await enqueue_deliveries(session, [event(interaction_id="i-1")])
    await start_dispatcher(http=None, targets=PUBLIC_ONLY)

    async def refused() -> bool:
        async with sessions() as session:
            rows = list(await session.scalars(select(WebhookDelivery)))
        return bool(rows) and rows[0].last_error is not None

    await eventually(refused)
    async with sessions() as session:
        [row] = list(await session.scalars(select(WebhookDelivery)))
    assert row.status is DeliveryStatus.PENDING and row.attempts == 1
    assert "refused" in (row.last_error or "") and "loopback" in (row.last_error or "")
    assert receiver.received("/hook") == []
