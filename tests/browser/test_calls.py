"""Voice calls between two real Chromium pages: a claimant on /chat and an agent on /agent.

Chromium runs with a fake microphone and camera (conftest.py). WebRTC would otherwise
gather candidates on every interface of the machine (no Chromium flag stops that), so the
Chromium of these tests runs in a network namespace of its own that has only loopback
(`unshare -n`, which needs root), started by `netns_launcher.py` written below: inside it
a small forwarder listens on 127.0.0.1 at the server's port and hands each connection to a
Unix socket, which this test process forwards to the shared server on 127.0.0.1. The pages
keep the server's URL; the media between the two pages can only use the namespace's
loopback, and the test asserts from getStats that the selected pair is on 127.0.0.1.
The server answers an empty `iceServers` list (no STUN or TURN configured): host
candidates only.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    FORWARDED_HEADER,
    Centre,
    ContextFactory,
    StaffAccount,
    SwitchboardServer,
    watch_for_script_errors,
)

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="package")]

CLAIMANT = "Rosa Díaz"
FIRST_MESSAGE = "Please call me about my weekly certification."
CONNECT_TIMEOUT_MS = 20_000
BACK_IN_LINE = "You are back in line: the call will start again when the next specialist answers."

# Runs inside the new network namespace: loopback up, the forwarder, then Chromium (with
# Playwright's pipe, file descriptors 3 and 4).
NETNS_LAUNCHER = """
import os, socket, subprocess, sys, threading

port, unix_path, chromium, *args = sys.argv[1:]
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
listener = socket.create_server(("127.0.0.1", int(port)))


def pipe(source, sink):
    try:
        while data := source.recv(65536):
            sink.sendall(data)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        source.close()
        sink.close()


def serve():
    while True:
        client, _ = listener.accept()
        upstream = socket.socket(socket.AF_UNIX)
        try:
            upstream.connect(unix_path)
        except OSError:
            client.close()
            continue
        threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()


threading.Thread(target=serve, daemon=True).start()
fds = [fd for fd in (3, 4) if os.path.exists(f"/proc/self/fd/{fd}")]
sys.exit(subprocess.call([chromium, *args], pass_fds=fds))
"""

# Remembers the pages' peer connections, for getStats and the senders' tracks.
TRACK_PEERS = """
(() => {
  const Native = window.RTCPeerConnection;
  if (typeof Native !== "function") return;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      window.__pcs.push(this);
    }
  };
})();
"""

# The claimant says no when the browser asks for the microphone.
PERMISSION_DENIED = """
MediaDevices.prototype.getUserMedia = function () {
  return Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
};
"""

NO_MEDIA_DEVICES = """
Object.defineProperty(Navigator.prototype, "mediaDevices", {
  get: () => undefined, configurable: true,
});
"""

SELECTED_PAIR = """
async () => {
  const pc = window.__pcs[window.__pcs.length - 1];
  const stats = await pc.getStats();
  const byId = new Map();
  stats.forEach((s) => byId.set(s.id, s));
  for (const s of byId.values()) {
    if (s.type === "transport" && s.selectedCandidatePairId) {
      const pair = byId.get(s.selectedCandidatePairId);
      return [byId.get(pair.localCandidateId).address, byId.get(pair.remoteCandidateId).address];
    }
  }
  return null;
}
"""

VIDEO_FRAMES_DECODED = """
async () => {
  const stats = await window.__pcs[window.__pcs.length - 1].getStats();
  let frames = 0;
  stats.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") frames += s.framesDecoded || 0;
  });
  return frames;
}
"""

VIDEO_SENDERS_ENABLED = """
() => window.__pcs[window.__pcs.length - 1].getSenders()
  .filter((s) => s.track && s.track.kind === "video").map((s) => s.track.enabled)
"""

AUDIO_SENDERS_ENABLED = """
() => window.__pcs[window.__pcs.length - 1].getSenders()
  .filter((s) => s.track && s.track.kind === "audio").map((s) => s.track.enabled)
"""


@dataclass(frozen=True)
class Desk:
    """An agent signed in on /agent."""

    page: Page
    account: StaffAccount

    def panel(self) -> Locator:
        return self.page.get_by_role("tabpanel")

    def call(self) -> Locator:
        return self.panel().locator(".web-call")


@dataclass(frozen=True)
class Caller:
    """The claimant's page."""

    page: Page
    context: BrowserContext

    def call(self) -> Locator:
        return self.page.locator("#call")

    def messages(self, text: str) -> Locator:
        return self.page.locator("#messages li.msg").filter(has_text=text)

    async def interaction_id(self) -> str:
        """The id of the claimant's interaction (the page keeps it in sessionStorage)."""
        stored = await self.page.evaluate("JSON.parse(sessionStorage.getItem('switchboard.chat'))")
        return str(stored["interaction_id"])


async def _forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.close()


async def _to_server(
    port: int,
    running: set[asyncio.Task[Any]],
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> None:
    """One connection from the namespace's forwarder, carried on to the server.

    The task stays in `running` until it ends: asyncio keeps only a weak hold on it, and a
    half-closed connection's task collected while it waits would leave its sockets unclosed
    (a ResourceWarning, an error under -W error, in whichever test runs then)."""
    task = asyncio.current_task()
    assert task is not None
    running.add(task)
    up_writer: asyncio.StreamWriter | None = None
    try:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.gather(_forward(reader, up_writer), _forward(up_reader, writer))
    except OSError:
        pass
    finally:
        running.discard(task)
        for end in (writer, up_writer):
            if end is not None:
                end.close()


@pytest_asyncio.fixture(scope="module", loop_scope="package")
async def loopback_browser(
    browser: Browser, shared_server: SwitchboardServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Browser]:
    """A Chromium in a network namespace that has only loopback, reaching the shared server
    through a Unix socket."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.fail("the call tests need unshare and ip (util-linux, iproute2)", pytrace=False)
    directory = tmp_path_factory.mktemp("netns")
    unix_path = directory / "server.sock"
    launcher = directory / "netns_launcher.py"
    launcher.write_text(NETNS_LAUNCHER, encoding="utf-8")
    wrapper = directory / "chromium-in-netns"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'exec unshare -n "{sys.executable}" "{launcher}" {shared_server.port} "{unix_path}" '
        f'"{CHROMIUM}" "$@"\n',
        encoding="utf-8",
    )
    wrapper.chmod(0o755)
    running: set[asyncio.Task[Any]] = set()
    forwarder = await asyncio.start_unix_server(
        lambda r, w: _to_server(shared_server.port, running, r, w), path=str(unix_path)
    )
    chromium = await browser.browser_type.launch(
        executable_path=str(wrapper), args=CHROMIUM_ARGS, headless=True
    )
    try:
        yield chromium
    finally:
        await chromium.close()
        forwarder.close()
        for task in list(running):
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(forwarder.wait_closed(), 5)


@pytest_asyncio.fixture(loop_scope="package")
async def call_context(
    loopback_browser: Browser, shared_server: SwitchboardServer, client_address: str
) -> AsyncIterator[ContextFactory]:
    """``await call_context()``: a context of the loopback-only Chromium, closed after the test."""
    contexts: list[BrowserContext] = []

    async def make() -> BrowserContext:
        context = await loopback_browser.new_context(
            base_url=shared_server.url, extra_http_headers={FORWARDED_HEADER: client_address}
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    try:
        yield make
    finally:
        for context in contexts:
            await context.close()


async def new_page(new_context: ContextFactory, errors: list[str], *scripts: str) -> Page:
    context = await new_context()
    for script in scripts:
        await context.add_init_script(script)
    return watch_for_script_errors(await context.new_page(), errors)


async def fill_prechat(page: Page, topic: str) -> None:
    await page.goto("/chat")
    await expect(page.get_by_role("button", name="Start chat")).to_be_enabled()
    await page.get_by_label("Your name").fill(CLAIMANT)
    await page.get_by_label("Topic").select_option(topic)
    await page.get_by_label("How can we help?").fill(FIRST_MESSAGE)


async def start_call(
    call_context: ContextFactory,
    centre: Centre,
    errors: list[str],
    *scripts: str,
    channel: str = "Voice call",
) -> Caller:
    """A claimant who asks for a call (`channel`: "Voice call" or "Video call") on /chat and
    waits in line."""
    page = await new_page(call_context, errors, TRACK_PEERS, *scripts)
    await fill_prechat(page, centre.queue)
    await page.get_by_role("radio", name=channel).check()
    await page.get_by_role("button", name="Start chat").click()
    await expect(page.locator("#queue-status")).to_contain_text("You are number 1 in line")
    await expect(page.locator("#call-status")).to_have_text(
        "The call starts when a specialist answers."
    )
    return Caller(page, page.context)


async def open_desk(
    call_context: ContextFactory,
    centre: Centre,
    errors: list[str],
    offered: str | None = "Phone call",
    name: str = "Ana Ruiz",
) -> Desk:
    """Ana (or `name`) on the desk, available (agents may take one voice or video call by
    default), and offered the call unless `offered` is None."""
    account = await centre.account(name)
    page = await new_page(call_context, errors, TRACK_PEERS)
    await page.goto("/agent")
    await page.get_by_label("Username").fill(account.username)
    await page.get_by_label("Password").fill(account.password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#connection")).to_have_text("Connected")
    await page.get_by_label("Status").select_option("available")
    if offered is not None:
        await expect(page.locator(".offer")).to_contain_text(offered)
    return Desk(page, account)


@pytest_asyncio.fixture(loop_scope="package")
async def caller(call_context: ContextFactory, centre: Centre, script_errors: list[str]) -> Caller:
    """A claimant who asked for a voice call on /chat and waits in line."""
    return await start_call(call_context, centre, script_errors)


@pytest_asyncio.fixture(loop_scope="package")
async def desk(
    caller: Caller, call_context: ContextFactory, centre: Centre, script_errors: list[str]
) -> Desk:
    """Ana on the desk, offered the claimant's call."""
    return await open_desk(call_context, centre, script_errors)


@pytest_asyncio.fixture(loop_scope="package")
async def connected(caller: Caller, desk: Desk) -> Caller:
    """Ana accepted: both pages set the call up and its media connected."""
    await desk.page.locator(".offer").get_by_role("button", name="Accept").click()
    await expect(caller.call()).to_have_attribute(
        "data-connection", "connected", timeout=CONNECT_TIMEOUT_MS
    )
    await expect(desk.call()).to_have_attribute("data-state", "connected")
    return caller


async def accept_and_connect(caller: Caller, desk: Desk) -> None:
    """The desk accepts the offered call and both pages' media connect."""
    await desk.page.locator(".offer").get_by_role("button", name="Accept").click()
    await expect(caller.call()).to_have_attribute(
        "data-connection", "connected", timeout=CONNECT_TIMEOUT_MS
    )
    await expect(desk.call()).to_have_attribute(
        "data-state", "connected", timeout=CONNECT_TIMEOUT_MS
    )


async def read_call(
    centre: Centre, interaction_id: str, until: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """GET /api/v1/interactions/{id}/call with a staff (admin) token, asked again for about
    10 s until `until` holds (the pages' frames are stored a moment after they are sent);
    the last answer."""
    body: dict[str, Any] = {}
    for _ in range(50):
        response = await centre.api.get(
            f"/api/v1/interactions/{interaction_id}/call", headers=centre.admin
        )
        assert response.status_code == 200, response.text
        body = response.json()
        if until(body):
            break
        await asyncio.sleep(0.2)
    return body


def has_quality_of_both(call: dict[str, Any]) -> bool:
    """Both pages' quality summaries are in."""
    quality = call.get("quality") or {}
    return all(quality.get(party) for party in ("customer", "agent"))


async def frames_decoded(page: Page) -> int:
    """Video frames the page decoded, once there are some (bounded: about 10 s)."""
    frames = 0
    for _ in range(50):
        frames = int(await page.evaluate(VIDEO_FRAMES_DECODED))
        if frames > 0:
            break
        await asyncio.sleep(0.2)
    return frames


async def test_a_voice_call_connects_both_pages_over_loopback_and_its_timer_runs(
    connected: Caller, desk: Desk
) -> None:
    await expect(connected.page.locator("#call-status")).to_have_text("Call connected.")
    await expect(desk.call().locator(".web-call-status")).to_have_text("Call connected.")
    # The text chat goes on beside the call.
    await expect(desk.panel().get_by_label("Message", exact=True)).to_be_visible()
    await expect(connected.page.get_by_label("Type your message")).to_be_visible()

    for page in (connected.page, desk.page):
        pair: Any = await page.evaluate(SELECTED_PAIR)
        assert pair == ["127.0.0.1", "127.0.0.1"], pair

    claimant_timer = connected.page.locator("#call-timer")
    desk_timer = desk.call().locator(".web-call-timer")
    await expect(claimant_timer).to_have_attribute("data-seconds", re.compile(r"^[2-9]|\d\d"))
    await expect(desk_timer).to_have_attribute("data-seconds", re.compile(r"^[2-9]|\d\d"))
    await expect(claimant_timer).to_have_text(re.compile(r"^0:0[2-9]|0:[1-5]\d$"))
    # The quality indicator reads getStats: loopback is good.
    await expect(connected.page.locator("#call-quality")).to_have_text("Connection: good")
    await expect(desk.call().locator(".web-call-quality")).to_contain_text("Connection: good")


async def test_mute_stops_and_restarts_the_outgoing_audio(connected: Caller, desk: Desk) -> None:
    mute = connected.page.get_by_role("button", name="Mute microphone")
    assert await connected.page.evaluate(AUDIO_SENDERS_ENABLED) == [True]
    await mute.click()
    await expect(mute).to_have_attribute("aria-pressed", "true")
    assert await connected.page.evaluate(AUDIO_SENDERS_ENABLED) == [False]
    await mute.press("Enter")  # keyboard too
    await expect(mute).to_have_attribute("aria-pressed", "false")
    assert await connected.page.evaluate(AUDIO_SENDERS_ENABLED) == [True]

    desk_mute = desk.call().get_by_role("button", name="Mute")
    await desk_mute.click()
    await expect(desk_mute).to_have_attribute("aria-pressed", "true")
    assert await desk.page.evaluate(AUDIO_SENDERS_ENABLED) == [False]


async def test_the_agent_hangs_up_and_the_claimant_sees_the_call_ended(
    connected: Caller, desk: Desk
) -> None:
    await desk.call().get_by_role("button", name="Hang up").click()
    await expect(desk.call()).to_have_attribute("data-state", "ended")
    await expect(connected.call()).to_have_attribute("data-state", "ended")
    await expect(connected.page.locator("#call-status")).to_have_text(
        "The specialist ended the call. You can keep writing here."
    )
    await expect(connected.page.get_by_role("button", name="Hang up")).to_be_hidden()
    state = await connected.page.evaluate("window.__pcs[window.__pcs.length - 1].signalingState")
    assert state == "closed"
    # The chat itself goes on.
    await expect(connected.page.get_by_label("Type your message")).to_be_visible()


async def test_a_browser_without_media_devices_is_told_so_and_offered_the_chat(
    new_context: ContextFactory, centre: Centre, script_errors: list[str]
) -> None:
    page = await new_page(new_context, script_errors, NO_MEDIA_DEVICES)
    await fill_prechat(page, centre.queue)
    await page.get_by_role("radio", name="Voice call").check()
    notice = page.get_by_role("alert").filter(has_text="cannot make calls")
    await expect(notice).to_have_text(
        re.compile("This browser cannot use a microphone or camera here, so it cannot make calls")
    )
    await page.get_by_role("button", name="Continue with a text chat").click()
    await expect(page.get_by_role("radio", name="Chat", exact=True)).to_be_checked()
    await expect(notice).to_be_hidden()
    await page.get_by_role("button", name="Start chat").click()
    await expect(page.locator("#queue-status")).to_contain_text("You are number 1 in line")
    await expect(page.locator("#call")).to_be_hidden()


async def test_a_refused_microphone_is_explained_and_the_chat_goes_on(
    call_context: ContextFactory, centre: Centre, script_errors: list[str]
) -> None:
    caller = await start_call(call_context, centre, script_errors, PERMISSION_DENIED)
    desk = await open_desk(call_context, centre, script_errors)
    await desk.page.locator(".offer").get_by_role("button", name="Accept").click()

    problem = caller.page.locator("#call-problem")
    await expect(problem).to_have_attribute("role", "alert")
    await expect(problem).to_contain_text(
        "The call could not start: permission to use your microphone or camera was denied."
    )
    await expect(caller.call()).to_have_attribute("data-state", "failed")
    # The desk is told why (the claimant's page hung up with the reason).
    await expect(desk.call().locator(".web-call-status")).to_have_text(
        "No call: the customer's browser was refused the microphone or camera. Continue by chat."
    )
    await caller.page.get_by_role("button", name="Continue with a text chat").click()
    await expect(caller.call()).to_be_hidden()
    await expect(caller.page.get_by_label("Type your message")).to_be_focused()


async def test_closing_the_claimant_tab_ends_the_call_on_the_desk(
    connected: Caller, desk: Desk
) -> None:
    await connected.page.close()
    await expect(desk.call()).to_have_attribute("data-state", "ended")
    await expect(desk.call().locator(".web-call-status")).to_have_text(
        "The customer closed the page: the call ended. End the conversation when you are done."
    )
    await expect(desk.call().get_by_role("button", name="Hang up")).to_be_hidden()


async def test_an_invited_video_call_shows_video_both_ways_and_the_screen_when_asked(
    call_context: ContextFactory, centre: Centre, script_errors: list[str]
) -> None:
    page = await new_page(call_context, script_errors, TRACK_PEERS)
    await fill_prechat(page, centre.queue)
    await page.get_by_role("button", name="Start chat").click()
    await expect(page.locator("#queue-status")).to_contain_text("You are number 1 in line")
    caller = Caller(page, page.context)
    desk = await open_desk(call_context, centre, script_errors, offered="Chat")
    await desk.page.locator(".offer").get_by_role("button", name="Accept").click()

    await desk.panel().get_by_role("button", name="Invite to video call").click()
    invite = page.get_by_role("group", name=re.compile("invites you to a video call"))
    await expect(invite).to_contain_text("Ana invites you to a video call.")
    await invite.get_by_role("button", name="Accept the call").click()
    await expect(caller.call()).to_have_attribute(
        "data-connection", "connected", timeout=CONNECT_TIMEOUT_MS
    )
    await expect(desk.call()).to_have_attribute("data-state", "connected")

    for side in (page, desk.page):
        assert await frames_decoded(side) > 0
    camera = page.get_by_role("button", name="Turn camera off")
    await camera.click()
    await expect(camera).to_have_attribute("aria-pressed", "true")
    assert await page.evaluate(VIDEO_SENDERS_ENABLED) == [False]

    # The agent asks (a line in the chat); the claimant agrees by sharing, and stops.
    await desk.call().get_by_role("button", name="Ask to share screen").click()
    await expect(caller.messages("Could you share your screen")).to_have_count(1)
    await page.get_by_role("button", name="Share my screen").click()
    stop = page.get_by_role("button", name="Stop sharing my screen")
    await expect(stop).to_be_visible()
    screen = desk.call().get_by_label("Customer's shared screen")
    await expect(screen).to_be_visible()
    await stop.click()
    await expect(page.get_by_role("button", name="Share my screen")).to_be_visible()
    await expect(screen).to_be_hidden()


async def test_hold_silences_the_agent_and_tells_the_claimant_in_the_chat(
    connected: Caller, desk: Desk, centre: Centre
) -> None:
    hold = desk.call().get_by_role("button", name="Hold")
    await hold.click()
    await expect(hold).to_have_attribute("aria-pressed", "true")
    await expect(desk.call()).to_have_attribute("data-state", "held")
    assert await desk.page.evaluate(AUDIO_SENDERS_ENABLED) == [False]
    await expect(connected.messages("I have put the call on hold.")).to_have_count(1)

    await hold.click()
    await expect(desk.call()).to_have_attribute("data-state", "connected")
    assert await desk.page.evaluate(AUDIO_SENDERS_ENABLED) == [True]
    await expect(connected.messages("I am back on the call.")).to_have_count(1)
    # The desk reported the hold and its end: the call counts one hold, and runs on.
    call = await read_call(
        centre,
        await connected.interaction_id(),
        lambda c: c["hold_count"] == 1 and c["status"] == "connected",
    )
    assert (call["hold_count"], call["status"], call["held_since"]) == (1, "connected", None)


async def test_a_video_call_ended_by_the_agent_is_recorded_with_both_sides_quality(
    call_context: ContextFactory, centre: Centre, script_errors: list[str]
) -> None:
    caller = await start_call(call_context, centre, script_errors, channel="Video call")
    desk = await open_desk(call_context, centre, script_errors, offered="Video call")
    await accept_and_connect(caller, desk)
    for side in (caller.page, desk.page):
        assert await frames_decoded(side) > 0
    # A few getStats readings on each side (one every 2 s) before the agent hangs up.
    await expect(desk.call().locator(".web-call-timer")).to_have_attribute(
        "data-seconds", re.compile(r"^[3-9]|\d\d")
    )
    await desk.call().get_by_role("button", name="Hang up").click()
    await expect(caller.call()).to_have_attribute("data-state", "ended")

    call = await read_call(
        centre,
        await caller.interaction_id(),
        lambda c: c["status"] == "ended" and has_quality_of_both(c),
    )
    assert (call["status"], call["ended_by"], call["legs"]) == ("ended", "agent", 1), call
    assert call["connected_at"] is not None
    assert call["talk_s"] is not None and call["talk_s"] > 0
    for party in ("customer", "agent"):
        quality = call["quality"][party]
        assert quality is not None, (party, call)
        assert quality["samples"] >= 1, (party, quality)
        assert quality["rtt_ms"] is not None, (party, quality)
        # Loopback loses nothing worth counting.
        assert quality["loss_pct"] is None or quality["loss_pct"] < 5, (party, quality)


async def test_a_video_call_transferred_to_a_colleague_is_set_up_again_on_her_desk(
    call_context: ContextFactory, centre: Centre, script_errors: list[str]
) -> None:
    caller = await start_call(call_context, centre, script_errors, channel="Video call")
    ana = await open_desk(call_context, centre, script_errors, offered="Video call")
    await accept_and_connect(caller, ana)
    # María comes on after Ana took the call, so that the queue offered it to Ana.
    maria = await open_desk(call_context, centre, script_errors, offered=None, name="María López")

    await ana.panel().get_by_role("button", name="Transfer…").click()
    dialog = ana.page.get_by_role("dialog", name="Transfer")
    await dialog.get_by_role("radio", name="A named agent").check()
    agents = dialog.get_by_label("Agent", exact=True)
    await expect(agents.locator(f'option[value="{maria.account.id}"]')).to_have_count(1)
    await agents.select_option(maria.account.id)
    await dialog.get_by_role("button", name="Transfer", exact=True).click()
    await expect(dialog).to_be_hidden()

    # Ana's desk hung up for the transfer; the claimant is told plainly and waits.
    await expect(caller.call()).to_have_attribute("data-state", "ended")
    await expect(caller.page.locator("#call-status")).to_have_text(BACK_IN_LINE)
    interaction_id = await caller.interaction_id()
    ended = await read_call(centre, interaction_id, lambda c: c["status"] == "ended")
    assert (ended["status"], ended["ended_by"], ended["legs"]) == ("ended", "agent", 1), ended

    # María accepts: the claimant's page offers again, and the call connects on her desk.
    await maria.page.locator(".offer").get_by_role("button", name="Accept").click()
    await expect(maria.call()).to_have_attribute(
        "data-state", "connected", timeout=CONNECT_TIMEOUT_MS
    )
    await expect(caller.call()).to_have_attribute("data-connection", "connected")
    await expect(caller.page.locator("#call-status")).to_have_text("Call connected.")
    assert await frames_decoded(maria.page) > 0
    assert await frames_decoded(caller.page) > 0
    again = await read_call(centre, interaction_id, lambda c: c["legs"] == 2)
    assert (again["status"], again["legs"], again["ended_at"]) == ("connected", 2, None), again


async def test_the_desk_call_controls_in_spanish_and_after_a_switch_to_english(
    call_context: ContextFactory, centre: Centre, script_errors: list[str]
) -> None:
    caller = await start_call(call_context, centre, script_errors)
    account = await centre.account("Ana Ruiz")
    page = await new_page(call_context, script_errors, TRACK_PEERS)
    await page.goto("/agent?lang=es")
    await page.get_by_label("Nombre de usuario").fill(account.username)
    await page.get_by_label("Contraseña").fill(account.password)
    await page.get_by_role("button", name="Iniciar sesión").click()
    await expect(page.locator("#connection")).to_have_text("Conectado")
    await page.get_by_label("Estado").select_option("available")
    desk = Desk(page, account)
    await expect(page.locator(".offer")).to_contain_text("Llamada telefónica")
    await page.locator(".offer").get_by_role("button", name="Aceptar").click()
    await expect(caller.call()).to_have_attribute(
        "data-connection", "connected", timeout=CONNECT_TIMEOUT_MS
    )
    await expect(desk.call()).to_have_attribute("data-state", "connected")

    call = desk.call()
    await expect(call.locator(".web-call-status")).to_have_text("Llamada conectada.")
    await expect(call.locator(".web-call-meta .visually-hidden")).to_have_text(
        "Duración de la llamada"
    )
    controls = call.get_by_role("group", name="Controles de la llamada")
    await expect(controls.get_by_role("button")).to_have_text(
        ["Silenciar", "En espera", "Pedir que comparta la pantalla", "Colgar"]
    )
    mute = controls.get_by_role("button", name="Silenciar")
    await mute.press("Enter")  # from the keyboard
    await expect(mute).to_have_attribute("aria-pressed", "true")
    assert await page.evaluate(AUDIO_SENDERS_ENABLED) == [False]
    await expect(call.locator(".web-call-quality")).to_contain_text("Conexión: buena")

    # Switching mid-call rewrites the panel; the call and its state carry on.
    await page.get_by_label("Idioma").select_option("en")
    controls = call.get_by_role("group", name="Call controls")
    await expect(controls.get_by_role("button")).to_have_text(
        ["Mute", "Hold", "Ask to share screen", "Hang up"]
    )
    await expect(controls.get_by_role("button", name="Mute")).to_have_attribute(
        "aria-pressed", "true"
    )
    await expect(call.locator(".web-call-status")).to_have_text("Call connected.")
    await expect(call.locator(".web-call-quality")).to_contain_text("Connection: good")
    await page.get_by_label("Language").select_option("es")
    await call.get_by_role("button", name="Colgar").click()
    await expect(call.locator(".web-call-status")).to_have_text(
        "Usted colgó. Termine la conversación cuando acabe."
    )
    await expect(caller.call()).to_have_attribute("data-state", "ended")
