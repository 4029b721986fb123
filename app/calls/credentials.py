"""ICE servers for browsers, with TURN credentials in the TURN REST API convention.

coturn's `use-auth-secret` mode accepts any username of the form `<unix expiry>:<subject>`
whose password is base64(HMAC-SHA1(static-auth-secret, username)) until the expiry passes,
so credentials are derived here and never stored. Pure functions: the time is passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TurnCredential:
    """A username and password coturn accepts until `expires_at` (epoch seconds)."""

    username: str
    credential: str
    expires_at: int


def turn_password(secret: str, username: str) -> str:
    """base64(HMAC-SHA1(secret, username)): the password coturn expects for `username`."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def turn_credential(secret: str, *, subject: str, now: float, ttl_s: int) -> TurnCredential:
    """Credentials for `subject` valid for `ttl_s` seconds from `now`."""
    expires_at = int(now) + ttl_s
    # A colon in the subject would split the username where coturn reads the expiry.
    username = f"{expires_at}:{subject.replace(':', '_')}"
    return TurnCredential(username, turn_password(secret, username), expires_at)


def ice_servers(
    *,
    stun_urls: Sequence[str],
    turn_urls: Sequence[str],
    turn: TurnCredential | None,
) -> list[dict[str, object]]:
    """The `iceServers` list for `new RTCPeerConnection({iceServers})`.

    TURN URLs appear only with credentials: an entry a browser cannot log in to would
    only delay every call while it tries.
    """
    servers: list[dict[str, object]] = []
    if stun_urls:
        servers.append({"urls": list(stun_urls)})
    if turn_urls and turn is not None:
        servers.append(
            {"urls": list(turn_urls), "username": turn.username, "credential": turn.credential}
        )
    return servers
