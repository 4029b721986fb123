"""Signatures: what the dispatcher sends is what `verify_signature` accepts, and nothing else."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from app.webhooks.signing import (
    SECRET_PREFIX,
    generate_secret,
    signature_header,
    verify_signature,
)

SECRET = "whsec_0123456789abcdef0123456789abcdef"
BODY = b'{"id":"e-1","type":"interaction.created","data":{}}'
NOW = 1_800_000_000


def test_the_header_carries_the_timestamp_and_the_hmac_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert signature_header(SECRET, NOW, BODY) == f"t={NOW},v1={expected}"


def test_a_genuine_signature_verifies() -> None:
    assert verify_signature(SECRET, signature_header(SECRET, NOW, BODY), BODY, now=NOW + 10)


def test_a_tampered_body_is_refused() -> None:
    header = signature_header(SECRET, NOW, BODY)
    assert not verify_signature(SECRET, header, BODY.replace(b"created", b"deleted"), now=NOW)


def test_another_secret_is_refused() -> None:
    header = signature_header(SECRET, NOW, BODY)
    assert not verify_signature(SECRET + "x", header, BODY, now=NOW)


@pytest.mark.parametrize("age_s", [301, -301, 86_400])
def test_a_stale_or_future_timestamp_is_refused(age_s: int) -> None:
    header = signature_header(SECRET, NOW, BODY)
    assert not verify_signature(SECRET, header, BODY, now=NOW + age_s)


def test_the_tolerance_can_be_widened() -> None:
    header = signature_header(SECRET, NOW, BODY)
    assert verify_signature(SECRET, header, BODY, now=NOW + 3600, tolerance_s=7200)


def test_a_changed_timestamp_is_refused() -> None:
    signature = signature_header(SECRET, NOW, BODY).split(",")[1]
    assert not verify_signature(SECRET, f"t={NOW + 1},{signature}", BODY, now=NOW)


@pytest.mark.parametrize(
    "header", ["", "garbage", "t=abc,v1=00", f"t={NOW}", "v1=00", f"t={NOW},v1="]
)
def test_a_malformed_header_is_refused(header: str) -> None:
    assert not verify_signature(SECRET, header, BODY, now=NOW)


def test_any_of_several_v1_signatures_may_match() -> None:
    genuine = signature_header(SECRET, NOW, BODY).split(",")[1]
    assert verify_signature(SECRET, f"t={NOW},v1=deadbeef,{genuine}", BODY, now=NOW)


def test_generated_secrets_are_long_random_and_prefixed() -> None:
    first, second = generate_secret(), generate_secret()
    assert first != second
    assert first.startswith(SECRET_PREFIX)
    assert len(first) - len(SECRET_PREFIX) >= 43  # 32 random bytes, base64url
