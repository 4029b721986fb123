"""Firefox for Playwright, behind a WebDriver BiDi relay that answers one no-op command.

Why it exists: Playwright 1.65 drives Firefox over WebDriver BiDi and sends
``emulation.setMediaFeaturesOverride`` for every new browser context and page. Debian's
Firefox 153 ESR does not implement that command: it answers "unknown command", so Playwright
can make no context at all. When the command asks for no change (every media feature it
names is null, "no override": what Playwright sends for a context made with
``color_scheme="null"``, the Python spelling of "no-override"), there is nothing for
Firefox to do, so the relay turns Firefox's "unknown command" into the success the command
would have had. A real override (dark, light, reduced motion, ...) is never pretended: it
reaches Firefox and gets Firefox's own error back. Remove this module once the versions
agree (Firefox implements the command, or Playwright stops sending it) and launch
/usr/bin/firefox-esr directly; until then the relay passes the command on first, so a
Firefox that knows it is simply obeyed.

What it does, and nothing else:

* runs ``FIREFOX ARGUMENT...`` (the arguments Playwright gave), its standard output
  untouched;
* when Firefox prints ``WebDriver BiDi listening on ws://...`` on standard error, starts a
  relay on 127.0.0.1 only (a port the system picks) and prints that line with the relay's
  address instead, so Playwright connects to the relay; every other line is copied as is;
* relays every message both ways unchanged, except the answer to a no-op
  ``emulation.setMediaFeaturesOverride`` described above.

It is bounded: it exits, with Firefox's status, when Firefox exits (closing the relay),
and each relayed connection closes as soon as either side closes. SIGTERM, SIGINT and
SIGHUP are passed on to Firefox.

Usage (tests/browser/conftest.py writes a wrapper that Playwright launches as Firefox)::

    python tests/browser/firefox_relay.py /usr/bin/firefox-esr [FIREFOX-ARGUMENT...]
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.typing import Data

RELAY_HOST = "127.0.0.1"
# The line Firefox prints once its BiDi server listens; Playwright waits for it.
LISTENING = re.compile(rb"WebDriver BiDi listening on (ws://\S+)")
MEDIA_OVERRIDE = "emulation.setMediaFeaturesOverride"
UNKNOWN_COMMAND = "unknown command"
# A relay adds nothing of its own: no keep-alive pings (a busy Firefox must not look dead),
# no compression, and no size limit (screenshots are large).
WEBSOCKET_OPTIONS: dict[str, Any] = {"max_size": None, "ping_interval": None, "compression": None}
FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
# After Firefox exits, how long its child processes may still write to the shared stderr.
DRAIN_TIMEOUT_S = 2.0


def asks_for_no_change(command: dict[str, Any]) -> bool:
    """Whether a setMediaFeaturesOverride `command` overrides nothing: it names at least
    one media feature and sets every one to null. (An empty `features` is not taken as a
    no-op: Playwright sends that for ``color_scheme="no-preference"``.)"""
    params = command.get("params")
    features = params.get("features") if isinstance(params, dict) else None
    return (
        isinstance(features, dict)
        and bool(features)
        and all(value is None for value in features.values())
    )


def _json_object(raw: Data) -> dict[str, Any] | None:
    """`raw` as a JSON object, or None when it is not one (it is then relayed as it is)."""
    if not isinstance(raw, str):
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


class _Relayed:
    """One Playwright connection and its Firefox connection, relayed both ways."""

    def __init__(self, playwright: ServerConnection, firefox: ClientConnection) -> None:
        self.playwright = playwright
        self.firefox = firefox
        # Ids of no-op setMediaFeaturesOverride commands whose answer has not come yet.
        self.no_op_ids: set[int] = set()

    async def run(self) -> None:
        """Relay until either side closes, then stop relaying the other way too."""
        tasks = [
            asyncio.create_task(self._to_firefox()),
            asyncio.create_task(self._to_playwright()),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            # A side that closed abnormally ends its task with ConnectionClosedError:
            # that is just how the relay ends.
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _to_firefox(self) -> None:
        async for raw in self.playwright:
            # Only messages that can be the command are parsed; the rest pass untouched.
            if isinstance(raw, str) and MEDIA_OVERRIDE in raw:
                command = _json_object(raw)
                if (
                    command is not None
                    and command.get("method") == MEDIA_OVERRIDE
                    and isinstance(command.get("id"), int)
                    and asks_for_no_change(command)
                ):
                    self.no_op_ids.add(command["id"])
            await self.firefox.send(raw)

    async def _to_playwright(self) -> None:
        async for raw in self.firefox:
            await self.playwright.send(self._answer(raw) if self.no_op_ids else raw)

    def _answer(self, raw: Data) -> Data:
        """`raw`, or success in place of Firefox's "unknown command" for a no-op command."""
        reply = _json_object(raw)
        answered = reply.get("id") if reply is not None else None
        if reply is None or not isinstance(answered, int) or answered not in self.no_op_ids:
            return raw
        self.no_op_ids.discard(answered)
        if reply.get("type") == "error" and reply.get("error") == UNKNOWN_COMMAND:
            return json.dumps({"type": "success", "id": answered, "result": {}})
        return raw


class FirefoxRelay:
    """The relay server: once Firefox's BiDi address is known, it listens on 127.0.0.1."""

    def __init__(self) -> None:
        self._server: Server | None = None
        self._upstream = ""

    async def start(self, upstream: str) -> str:
        """Relay to Firefox's BiDi server at `upstream`; the relay's own ws:// address."""
        self._upstream = upstream.rstrip("/")
        self._server = await serve(self._handle, RELAY_HOST, 0, **WEBSOCKET_OPTIONS)
        port = self._server.sockets[0].getsockname()[1]
        return f"ws://{RELAY_HOST}:{port}"

    async def close(self) -> None:
        """Stop listening and close every relayed connection."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, playwright: ServerConnection) -> None:
        path = playwright.request.path if playwright.request is not None else "/"
        async with connect(self._upstream + path, **WEBSOCKET_OPTIONS) as firefox:
            await _Relayed(playwright, firefox).run()

    async def copy_stderr(self, stream: asyncio.StreamReader) -> None:
        """Copy Firefox's standard error to ours until it ends, the BiDi address line
        rewritten to the relay's (the relay starts when that line comes)."""
        out = sys.stderr.buffer
        while True:
            try:
                line = await stream.readuntil(b"\n")
            except asyncio.IncompleteReadError as end:
                line = end.partial  # the last bytes, or b"" at the end
            except asyncio.LimitOverrunError as long:
                line = await stream.readexactly(long.consumed)  # a very long line, in parts
            if not line:
                return
            found = LISTENING.search(line) if self._server is None else None
            if found is not None:
                relay = await self.start(found.group(1).decode())
                line = line[: found.start(1)] + relay.encode() + line[found.end(1) :]
            try:
                out.write(line)
                out.flush()
            except BrokenPipeError:
                # Playwright stopped reading: keep draining so Firefox never blocks on it.
                pass


def _forward(process: asyncio.subprocess.Process, signum: int) -> None:
    if process.returncode is None:
        process.send_signal(signum)


async def run(firefox: str, arguments: list[str]) -> int:
    """Run Firefox behind the relay; Firefox's exit status (128 + N for signal N)."""
    process = await asyncio.create_subprocess_exec(
        firefox, *arguments, stderr=asyncio.subprocess.PIPE
    )
    loop = asyncio.get_running_loop()
    for signum in FORWARDED_SIGNALS:
        loop.add_signal_handler(signum, _forward, process, signum)
    assert process.stderr is not None
    relay = FirefoxRelay()
    copying = asyncio.create_task(relay.copy_stderr(process.stderr))
    exited = asyncio.create_task(process.wait())
    try:
        await asyncio.wait([copying, exited], return_when=asyncio.FIRST_COMPLETED)
        if copying.done() and copying.exception() is not None and process.returncode is None:
            # The relay could not start: Playwright cannot use this Firefox, so stop it.
            process.kill()
        returncode = await exited
        await asyncio.wait([copying], timeout=DRAIN_TIMEOUT_S)
        if copying.done():
            copying.result()  # the relay's own failure, if any, with its traceback
    finally:
        copying.cancel()
        await relay.close()
    return returncode if returncode >= 0 else 128 - returncode


def main(argv: list[str]) -> int:
    """``firefox_relay.py FIREFOX [ARGUMENT...]``."""
    if not argv:
        print(f"usage: {sys.argv[0]} FIREFOX [FIREFOX-ARGUMENT...]", file=sys.stderr)
        return 2
    return asyncio.run(run(argv[0], argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
