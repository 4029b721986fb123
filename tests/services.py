"""Real services for tests: where PostgreSQL and Redis are (and the skips without them),
and the Debian packages some tests install when missing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

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


# Debian packages the suite installs when missing (chromium, coturn): one attempt per run
# and package, its failure remembered so every test that needs it fails with the same words.
_install_failures: dict[str, str] = {}


def ensure_debian_package(binary: Path, package: str) -> None:
    """Install `package` with apt-get once per run unless `binary` exists; fail the test
    with apt-get's own words when it cannot be had."""
    if binary.exists():
        return
    if package not in _install_failures:
        failure = _apt_get("install", "-y", "--no-install-recommends", package)
        if failure is not None:
            # A fresh image may have no package lists yet: fetch them and try once more.
            failure = _apt_get("update") or _apt_get(
                "install", "-y", "--no-install-recommends", package
            )
        _install_failures[package] = failure or ""
    if not binary.exists():
        pytest.fail(
            f"{binary} is missing and `apt-get install -y {package}` failed: "
            f"{_install_failures[package] or f'no error, but no {binary.name} either'}. "
            f"Install Debian's {package} package to run these tests.",
            pytrace=False,
        )


def _apt_get(*args: str) -> str | None:
    """Run apt-get non-interactively: None when it worked, else the last lines it printed."""
    try:
        result = subprocess.run(
            ["apt-get", *args],
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{type(exc).__name__}: {exc}"
    if result.returncode == 0:
        return None
    tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
    return " | ".join(tail) or f"exit code {result.returncode}"
