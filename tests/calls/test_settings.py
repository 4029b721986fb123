"""The call settings read as the issue and docs/calls.md name them, and refuse a broken TURN."""

from __future__ import annotations

import pytest

from app.settings import SettingsError, load_settings


def test_bare_names_are_read_and_split_on_commas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUN_URLS", "stun:a.example:3478, stuns:b.example:5349")
    monkeypatch.setenv("TURN_URLS", "turn:a.example:3478?transport=udp")
    monkeypatch.setenv("TURN_SECRET", "a-long-shared-secret")
    monkeypatch.setenv("TURN_TTL_S", "900")
    settings = load_settings()
    assert settings.stun_urls == ["stun:a.example:3478", "stuns:b.example:5349"]
    assert settings.turn_urls == ["turn:a.example:3478?transport=udp"]
    assert settings.turn_secret is not None
    assert settings.turn_secret.get_secret_value() == "a-long-shared-secret"
    assert settings.turn_ttl_s == 900


def test_prefixed_names_work_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_STUN_URLS", "stun:a.example")
    assert load_settings().stun_urls == ["stun:a.example"]


def test_nothing_is_configured_by_default() -> None:
    settings = load_settings()
    assert (settings.stun_urls, settings.turn_urls, settings.turn_secret) == ([], [], None)
    assert settings.turn_ttl_s == 3600


def test_turn_without_its_secret_stops_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TURN_URLS", "turn:a.example:3478")
    with pytest.raises(SettingsError, match="TURN_SECRET"):
        load_settings()


def test_a_url_of_the_wrong_scheme_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUN_URLS", "https://a.example")
    with pytest.raises(SettingsError, match=r"STUN_URLS.*stun:"):
        load_settings()
