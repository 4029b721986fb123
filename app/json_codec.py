"""JSON for the hot paths: websocket frames, routing events on the bus, JSON columns.

Every interaction makes a dozen frames and events and stores a dozen JSON values; with the
standard library's encoder that was about 8% of the process's CPU at its ceiling. orjson
does the same work several times faster. What orjson refuses and the standard library takes
(an integer wider than 64 bits, say, inside an integrator's attributes) is encoded by the
standard library, so nothing that encoded before fails now.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# Integer keys become strings, as the standard library makes them.
_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps(value: Any) -> bytes:
    """`value` as compact JSON, UTF-8."""
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def dumps_text(value: Any) -> str:
    """`value` as compact JSON text."""
    return dumps(value).decode()


def loads(data: str | bytes) -> Any:
    """The value of a frame or bus message (raises `ValueError` when it is not JSON).

    Integers wider than 64 bits come back as floats: no frame has any. Stored values
    (integrators' attributes) are read by the standard library, which keeps them whole.
    """
    return orjson.loads(data)
