"""TURN credentials in the TURN REST API convention coturn's `use-auth-secret` accepts."""

from __future__ import annotations

import base64

from app.calls.credentials import TurnCredential, ice_servers, turn_credential, turn_password

# RFC 2202, HMAC-SHA1 test case 2: published independently of any code here.
RFC2202_KEY = "Jefe"
RFC2202_DATA = "what do ya want for nothing?"
RFC2202_DIGEST_HEX = "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
# Made with `printf %s "$username" | openssl dgst -sha1 -hmac "$secret" -binary | base64`.
OPENSSL_SECRET = "north-river-turn-secret"
OPENSSL_USERNAME = "1796239200:4b1f0c1e-6f0e-4f55-9a55-2f0d8f3b3c11"
OPENSSL_CREDENTIAL = "YPHMM06K+nOzX6k1Yz4LO87SRUg="


def test_the_password_is_base64_of_the_rfc_2202_hmac_sha1() -> None:
    expected = base64.b64encode(bytes.fromhex(RFC2202_DIGEST_HEX)).decode()
    assert turn_password(RFC2202_KEY, RFC2202_DATA) == expected


def test_the_password_matches_what_openssl_computes() -> None:
    assert turn_password(OPENSSL_SECRET, OPENSSL_USERNAME) == OPENSSL_CREDENTIAL


def test_the_username_is_the_expiry_then_the_subject() -> None:
    issued = turn_credential("s3cret", subject="agent-7", now=1_000.9, ttl_s=3600)
    assert issued == TurnCredential(
        username="4600:agent-7", credential=turn_password("s3cret", "4600:agent-7"), expires_at=4600
    )


def test_a_colon_in_the_subject_cannot_move_the_expiry() -> None:
    issued = turn_credential("s3cret", subject="a:b", now=0, ttl_s=60)
    assert issued.username == "60:a_b"


def test_turn_urls_without_credentials_are_left_out() -> None:
    assert ice_servers(stun_urls=["stun:s:3478"], turn_urls=["turn:t:3478"], turn=None) == [
        {"urls": ["stun:s:3478"]}
    ]


def test_no_servers_configured_gives_an_empty_list() -> None:
    assert ice_servers(stun_urls=[], turn_urls=[], turn=None) == []
