"""Integrator API keys: `sb_<prefix>_<secret>`, found by prefix, the secret kept as a hash.

The secret part is 256 random bits, so a fast SHA-256 is as safe to store as a slow
password hash and keeps every API call cheap.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey
from app.auth.principals import Principal, PrincipalKind, Role

KEY_SCHEME = "sb"
PREFIX_BYTES = 6
SECRET_BYTES = 32


@dataclass(frozen=True, slots=True)
class NewApiKey:
    """A freshly made key: `plaintext` is shown to its owner once and never stored."""

    plaintext: str
    prefix: str
    key_hash: str


def generate_api_key() -> NewApiKey:
    """A new random key with its lookup prefix and stored hash."""
    prefix = secrets.token_hex(PREFIX_BYTES)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return NewApiKey(f"{KEY_SCHEME}_{prefix}_{secret}", prefix, hash_secret(secret))


def hash_secret(secret: str) -> str:
    """The stored form of a key's secret part."""
    return hashlib.sha256(secret.encode()).hexdigest()


def split_api_key(plaintext: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key, or None."""
    scheme, _, rest = plaintext.partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != KEY_SCHEME or len(prefix) != PREFIX_BYTES * 2 or not secret:
        return None
    return prefix, secret


async def find_api_key(session: AsyncSession, plaintext: str, *, now: datetime) -> ApiKey | None:
    """The live key `plaintext` proves, or None for an unknown, revoked or expired key."""
    parts = split_api_key(plaintext)
    if parts is None:
        return None
    prefix, secret = parts
    key = await session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or not hmac.compare_digest(key.key_hash, hash_secret(secret)):
        return None
    if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
        return None
    return key


def api_key_principal(key: ApiKey) -> Principal:
    """The principal a live key speaks for."""
    return Principal(
        kind=PrincipalKind.API_KEY, role=Role(key.role), subject_id=str(key.id), name=key.name
    )


async def authenticate_api_key(
    session: AsyncSession, plaintext: str, *, now: datetime
) -> Principal | None:
    """The integrator a key belongs to, or None for an unknown, revoked or expired key."""
    key = await find_api_key(session, plaintext, now=now)
    return None if key is None else api_key_principal(key)


# How long a process trusts a key it verified: a revoked key is refused by every process
# within this many seconds (at once by the process that revoked it).
VERIFIED_KEY_TTL_S = 5.0
VERIFIED_KEYS_MAX = 1024


@dataclass(frozen=True, slots=True)
class _Verified:
    principal: Principal
    trusted_until: datetime
    expires_at: datetime | None


class VerifiedKeys:
    """API keys this process verified lately, so an integrator posting hundreds of
    interactions a second costs one database read per key every few seconds, not one each."""

    def __init__(self, ttl_s: float = VERIFIED_KEY_TTL_S) -> None:
        self._ttl_s = ttl_s
        self._by_digest: dict[str, _Verified] = {}

    def get(self, plaintext: str, *, now: datetime) -> Principal | None:
        """The principal of a key verified less than `ttl_s` ago and not expired since."""
        found = self._by_digest.get(hash_secret(plaintext))
        if found is None or found.trusted_until <= now:
            return None
        if found.expires_at is not None and found.expires_at <= now:
            return None
        return found.principal

    def put(self, plaintext: str, key: ApiKey, *, now: datetime) -> None:
        """Remember a key just verified against the database."""
        if len(self._by_digest) >= VERIFIED_KEYS_MAX:
            self._by_digest.clear()  # many keys in a few seconds: start over, stay bounded
        self._by_digest[hash_secret(plaintext)] = _Verified(
            api_key_principal(key), now + timedelta(seconds=self._ttl_s), key.expires_at
        )

    def forget(self, key_id: str) -> None:
        """Drop a key this process revoked."""
        for digest, verified in list(self._by_digest.items()):
            if verified.principal.subject_id == key_id:
                del self._by_digest[digest]
