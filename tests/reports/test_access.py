"""Who may read reports, and how bad parameters are refused."""

from __future__ import annotations

import httpx

from app.agents.models import StaffRole
from tests.conftest import Caller, CallerFactory

REPORTS = ("queues", "agents", "dispositions", "satisfaction", "topics")
BAD_PARAMETERS = [
    ({"from": "23/11/2026"}, "query.from"),
    ({"from": "2026-11-23", "to": "2026-11-22"}, "query.to"),
    ({"from": "2026-11-23T10:00:00Z", "to": "2026-11-23T10:00:00Z"}, "query.to"),
    ({"from": "2026-01-01", "to": "2026-04-03"}, "query.to"),
    ({"tz": "Mars/Olympus_Mons"}, "query.tz"),
    ({"tz": "../../etc/passwd"}, "query.tz"),
    ({"format": "xlsx"}, "query.format"),
    ({"queue_id": "claims"}, "query.queue_id"),
]


async def test_an_agent_may_not_read_reports(
    client: httpx.AsyncClient, staff_caller: CallerFactory
) -> None:
    agent = await staff_caller(StaffRole.AGENT)
    for name in REPORTS:
        response = await client.get(f"/api/v1/reports/{name}", headers=agent.headers)
        assert response.status_code == 403, name
        assert response.headers["content-type"] == "application/problem+json"


async def test_an_anonymous_caller_is_asked_to_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/reports/queues")
    assert response.status_code == 401


async def test_admins_and_supervisors_read_todays_report_by_default(
    client: httpx.AsyncClient, staff_caller: CallerFactory
) -> None:
    for role in (StaffRole.ADMIN, StaffRole.SUPERVISOR):
        caller = await staff_caller(role)
        response = await client.get("/api/v1/reports/queues", headers=caller.headers)
        assert response.status_code == 200, role
        period = response.json()["period"]
        assert (period["tz"], period["start"][11:], period["end"][11:]) == (
            "UTC",
            "00:00:00Z",
            "00:00:00Z",
        )


async def test_an_integrator_may_read_reports(
    client: httpx.AsyncClient, integrator_caller: CallerFactory
) -> None:
    integrator = await integrator_caller()
    response = await client.get(
        "/api/v1/reports/satisfaction", params={"by": "agent"}, headers=integrator.headers
    )
    assert response.status_code == 200
    assert response.json()["overall"] == {
        "id": None,
        "name": "All",
        "count": 0,
        "average": None,
        "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0},
    }


async def test_a_bad_parameter_is_422_naming_it(
    client: httpx.AsyncClient, supervisor: Caller
) -> None:
    for params, field in BAD_PARAMETERS:
        response = await client.get(
            "/api/v1/reports/queues", params=params, headers=supervisor.headers
        )
        assert response.status_code == 422, params
        assert response.headers["content-type"] == "application/problem+json"
        assert [error["field"] for error in response.json()["errors"]] == [field], params


async def test_ninety_two_days_is_the_longest_period(
    client: httpx.AsyncClient, supervisor: Caller
) -> None:
    # New York: 92 days less the hour lost to summer time fit; 93 do not.
    params = {"from": "2026-01-01", "to": "2026-04-02", "tz": "America/New_York"}
    response = await client.get("/api/v1/reports/queues", params=params, headers=supervisor.headers)
    assert response.status_code == 200
    params["to"] = "2026-04-03"
    response = await client.get("/api/v1/reports/queues", params=params, headers=supervisor.headers)
    assert response.status_code == 422


async def test_report_specific_parameters_are_checked(
    client: httpx.AsyncClient, supervisor: Caller
) -> None:
    for name, params, field in (
        ("topics", {"limit": "0"}, "query.limit"),
        ("satisfaction", {"by": "day"}, "query.by"),
    ):
        response = await client.get(
            f"/api/v1/reports/{name}", params=params, headers=supervisor.headers
        )
        assert response.status_code == 422, name
        assert [error["field"] for error in response.json()["errors"]] == [field]
