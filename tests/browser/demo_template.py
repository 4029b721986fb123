"""Build the database every browser-test server starts from (run by conftest.py in a subprocess).

``python tests/browser/demo_template.py POOL_SIZE``, with SWITCHBOARD_DATA_DIR and
SWITCHBOARD_DATABASE_URL set, runs `switchboard seed-demo` and then adds POOL_SIZE agent
accounts without skills (``pool-agent-001``, …) for the tests to take one by one and give
a name and skills over the admin API. It prints their ids and usernames as JSON.

Passwords are hashed with argon2id at its lowest cost, as tests/conftest.py does for the
in-process tests: signing in then takes milliseconds instead of a good part of a second,
which adds up over the many agents the browser tests sign in. Nothing else differs from
a database the real command makes; `serve --demo` still runs its idempotent seeding on it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

from argon2 import PasswordHasher

from app import cli
from app.agents.models import StaffRole
from app.agents.service import create_staff
from app.auth import passwords
from app.db.session import create_engine, create_session_factory

POOL_PASSWORD = "browser-test-agent"


async def add_pool(database_url: str, size: int) -> list[dict[str, str]]:
    """Add `size` agent accounts; their ids and usernames."""
    engine = create_engine(database_url)
    made: list[dict[str, str]] = []
    try:
        async with create_session_factory(engine)() as session, session.begin():
            for n in range(1, size + 1):
                username = f"pool-agent-{n:03d}"
                staff = await create_staff(
                    session,
                    username=username,
                    password=POOL_PASSWORD,
                    role=StaffRole.AGENT,
                    display_name=username,
                )
                made.append({"id": str(staff.id), "username": username})
    finally:
        await engine.dispose()
    return made


def main(size: int) -> int:
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    status = cli.main(["seed-demo"])
    if status != 0:
        return status
    pool = asyncio.run(add_pool(os.environ["SWITCHBOARD_DATABASE_URL"], size))
    print(json.dumps(pool))
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
