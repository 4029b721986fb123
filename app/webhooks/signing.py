"""Webhook signatures: `Switchboard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`.

The HMAC key is the subscription's secret (UTF-8) and the message is `f"{t}.{raw body}"`,
so a receiver can refuse a replayed request by its age as well as a forged one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "Switchboard-Signature"
EVENT_ID_HEADER = "Switchboard-Event-Id"
EVENT_TYPE_HEADER = "Switchboard-Event-Type"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_S = 300
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def generate_secret() -> str:
    """A new signing secret: 256 random bits, URL-safe, recognisable by its prefix."""
    return SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES)


def compute_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `f"{timestamp}.{body}"` under `secret`."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The value of the `Switchboard-Signature` header for one request."""
    return f"t={timestamp},{SIGNATURE_VERSION}={compute_signature(secret, timestamp, body)}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    now: float,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> bool:
    """For receivers: True if `header` signs `body` with `secret` within `tolerance_s` of `now`.

    `now` is Unix seconds (`time.time()`); `body` must be the raw bytes as received.
    """
    parsed = _parse_header(header)
    if parsed is None:
        return False
    timestamp, candidates = parsed
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = compute_signature(secret, timestamp, body)
    # Compare against every v1 value so a sender may sign with two secrets while rotating.
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


def _parse_header(header: str) -> tuple[int, list[str]] | None:
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == SIGNATURE_VERSION and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return None
    return timestamp, candidates
