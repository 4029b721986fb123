"""The hot paths' JSON: orjson's speed, the standard library's reach."""

from __future__ import annotations

import json

import pytest

from app import json_codec


def test_values_encode_compactly_and_decode_to_the_same() -> None:
    value = {"type": "offer", "customer": {"name": "José Ramírez"}, "seq": [1, 2.5, None]}
    encoded = json_codec.dumps(value)
    assert encoded == json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    assert json_codec.loads(encoded) == value
    assert json_codec.dumps_text(value) == encoded.decode()


def test_integer_keys_become_strings_as_the_standard_library_makes_them() -> None:
    assert json_codec.loads(json_codec.dumps({1: "a"})) == {"1": "a"}


def test_an_integer_wider_than_64_bits_is_encoded_by_the_standard_library() -> None:
    wide = {"case": 2**70}
    assert json.loads(json_codec.dumps(wide)) == wide


def test_what_neither_can_encode_still_raises() -> None:
    with pytest.raises(TypeError):
        json_codec.dumps({"unknown": object()})


def test_text_that_is_not_json_raises_value_error() -> None:
    with pytest.raises(ValueError):
        json_codec.loads("{not json")
