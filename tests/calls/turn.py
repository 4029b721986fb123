"""A coturn TURN server on loopback for the call tests.

`running_turnserver(workdir)` starts Debian's `turnserver` (package `coturn`, installed with
apt-get when missing, as the browser tests install Chromium) on 127.0.0.1 with a free
port, a random `static-auth-secret` and realm, and relays on 127.0.0.1 only; it waits until
the server answers a STUN Binding request and stops it afterwards.

Everything stays on loopback: coturn listens and relays on 127.0.0.1 and refuses to relay
to any peer outside 127.0.0.0/8 (`denied-peer-ip`), so a relayed call cannot leave the
machine's loopback even if a candidate named another address.
"""

from __future__ import annotations

import secrets
import shutil
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services import ensure_debian_package

HOST = "127.0.0.1"
PACKAGE = "coturn"
TURNSERVER = Path("/usr/bin/turnserver")
READY_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
# Relay ports: a small block in the dynamic range; each relayed party holds one.
RELAY_PORTS = 64
RELAY_BASE_LOW, RELAY_BASE_HIGH = 50_000, 59_000
# A STUN Binding request (RFC 5389): type, length 0, the magic cookie, a transaction id.
STUN_BINDING_REQUEST = 0x0001
STUN_BINDING_SUCCESS = 0x0101
STUN_MAGIC_COOKIE = 0x2112A442
PROBE_EVERY_S = 0.1
# Every address but 127.0.0.0/8: the relay never sends anything off loopback.
DENIED_PEERS = ("0.0.0.0-126.255.255.255", "128.0.0.0-255.255.255.255")


@dataclass(frozen=True)
class TurnServer:
    """A running coturn: where it listens, the secret it checks credentials with, its log."""

    port: int
    secret: str
    realm: str
    log_path: Path
    # The ports coturn relays from (both ends included).
    relay_min: int
    relay_max: int

    @property
    def url(self) -> str:
        """Its `turn:` URL over UDP, as `TURN_URLS` names it."""
        return f"turn:{HOST}:{self.port}?transport=udp"

    def log(self) -> str:
        """What coturn printed so far (for failure messages)."""
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def ensure_turnserver() -> str:
    """The path of `turnserver`, installing Debian's coturn once per run if it is missing;
    fails the test with the apt-get error if it cannot."""
    found = shutil.which("turnserver")
    if found is None:
        ensure_debian_package(TURNSERVER, PACKAGE)
        found = str(TURNSERVER)
    return found


def free_udp_port() -> int:
    """A port on 127.0.0.1 free for both UDP and TCP right now (coturn binds both)."""
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((HOST, 0))
            port: int = udp.getsockname()[1]
            with socket.socket() as tcp:
                try:
                    tcp.bind((HOST, port))
                except OSError:
                    continue
        return port
    raise RuntimeError("no port on 127.0.0.1 free for both UDP and TCP")


def turnserver_command(executable: str, server: TurnServer, workdir: Path) -> list[str]:
    """The command line of a loopback-only coturn checking TURN REST API credentials."""
    return [
        executable,
        "-n",  # no configuration file: everything is on this line
        f"--listening-ip={HOST}",
        f"--listening-port={server.port}",
        f"--relay-ip={HOST}",
        "--allow-loopback-peers",
        *(f"--denied-peer-ip={peers}" for peers in DENIED_PEERS),
        "--use-auth-secret",
        f"--static-auth-secret={server.secret}",
        f"--realm={server.realm}",
        "--no-tls",
        "--no-dtls",
        "--no-tcp",
        "--no-tcp-relay",
        "--no-cli",
        "--no-multicast-peers",
        f"--min-port={server.relay_min}",
        f"--max-port={server.relay_max}",
        # Its own files, not /var/run/turnserver.pid and /var/lib/turn/turndb.
        f"--pidfile={workdir / 'turnserver.pid'}",
        f"--userdb={workdir / 'turndb'}",
        "--log-file=stdout",
        "--simple-log",
    ]


def stun_binding_answered(port: int, timeout_s: float) -> bool:
    """Whether a STUN server on 127.0.0.1:`port` answers a Binding request over UDP."""
    transaction = secrets.token_bytes(12)
    request = struct.pack("!HHI", STUN_BINDING_REQUEST, 0, STUN_MAGIC_COOKIE) + transaction
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.settimeout(timeout_s)
        probe.connect((HOST, port))
        try:
            probe.send(request)
            answer = probe.recv(2048)
        except OSError:  # refused (nothing bound yet) or timed out
            return False
    if len(answer) < 20:
        return False
    kind = struct.unpack("!H", answer[:2])[0]
    return kind == STUN_BINDING_SUCCESS and answer[8:20] == transaction


@contextmanager
def running_turnserver(workdir: Path, *, secret: str | None = None) -> Iterator[TurnServer]:
    """coturn on 127.0.0.1, answering STUN, until the block ends (then stopped)."""
    executable = ensure_turnserver()
    workdir.mkdir(parents=True, exist_ok=True)
    relay_min = RELAY_BASE_LOW + secrets.randbelow(RELAY_BASE_HIGH - RELAY_BASE_LOW)
    server = TurnServer(
        port=free_udp_port(),
        secret=secret or secrets.token_urlsafe(24),
        realm=f"switchboard-{secrets.token_hex(4)}.test",
        log_path=workdir / "turnserver.log",
        relay_min=relay_min,
        relay_max=relay_min + RELAY_PORTS - 1,
    )
    with server.log_path.open("ab") as log:
        process = subprocess.Popen(
            turnserver_command(executable, server, workdir),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        _wait_until_answering(process, server)
        yield server
    finally:
        _stop(process)


def _wait_until_answering(process: subprocess.Popen[bytes], server: TurnServer) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"turnserver exited with {process.returncode} before answering:\n"
                f"{server.log()[-3000:]}",
                pytrace=False,
            )
        if stun_binding_answered(server.port, PROBE_EVERY_S):
            return
        time.sleep(PROBE_EVERY_S)
    pytest.fail(
        f"turnserver did not answer STUN on {HOST}:{server.port} within "
        f"{READY_TIMEOUT_S:.0f} s:\n{server.log()[-3000:]}",
        pytrace=False,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it does not exit in time."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_S)
