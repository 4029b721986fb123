"""Where the real PostgreSQL and Redis for `integration` tests are, and the skips without them."""

from __future__ import annotations

import os

import pytest

POSTGRES_URL = os.environ.get("SWITCHBOARD_TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("SWITCHBOARD_TEST_REDIS_URL", "")


def require_postgres() -> str:
    """The test server's URL, or a skip that says how to enable these tests."""
    if not POSTGRES_URL:
        pytest.skip("set SWITCHBOARD_TEST_POSTGRES_URL to run the PostgreSQL tests")
    return POSTGRES_URL


def require_redis() -> str:
    """The test Redis URL, or a skip that says how to enable these tests."""
    if not REDIS_URL:
        pytest.skip("set SWITCHBOARD_TEST_REDIS_URL to run the Redis tests")
    return REDIS_URL
