"""The peers pgboard is measured against, and the server processes every benchmark drives.

``python -m bench.peers twisted|asyncio`` runs a minimal broadcast server with pgboard's framing
(ASCII JSON frames ended by the UTF-8 bytes of ``Ø``): every frame received goes to every connection,
the sender included, unchanged. No rooms, no join, no log, no validation: the least a relay can do.
Both listen on 127.0.0.1 port 0 with a backlog of 512 (as pgboard) and TCP_NODELAY on, and print
``listening on HOST:PORT`` first, as ``pgboard-server`` does.

:class:`ServerProcess` starts any of the three as a subprocess and reads its RSS and CPU time from /proc.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

TERMINATOR = "Ø".encode()
BACKLOG = 512
MAX_FRAME = 256 * 1024
START_TIMEOUT = 15.0  # seconds a server may take to print its port
STOP_TIMEOUT = 5.0
KINDS = ("pgboard", "twisted", "asyncio")
_TICK = os.sysconf("SC_CLK_TCK")


def run_twisted() -> None:
    from twisted.internet import protocol, reactor
    from twisted.protocols.basic import LineOnlyReceiver

    class Relay(LineOnlyReceiver):
        delimiter = TERMINATOR
        MAX_LENGTH = MAX_FRAME

        def connectionMade(self) -> None:
            self.transport.setTcpNoDelay(True)
            self.factory.clients.add(self)

        def connectionLost(self, reason: object = None) -> None:
            self.factory.clients.discard(self)

        def lineReceived(self, line: bytes) -> None:
            frame = line + TERMINATOR
            for c in self.factory.clients:
                c.transport.write(frame)

    factory = protocol.ServerFactory()
    factory.protocol = Relay
    factory.clients = set()
    port = reactor.listenTCP(0, factory, backlog=BACKLOG, interface="127.0.0.1")
    sys.stdout.write(f"listening on 127.0.0.1:{port.getHost().port}\n")
    sys.stdout.flush()
    reactor.run()


def run_asyncio() -> None:
    import asyncio

    clients: set[asyncio.Transport] = set()

    class Relay(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            self.transport = transport
            self.buf = b""
            clients.add(transport)

        def connection_lost(self, exc: Exception | None) -> None:
            clients.discard(self.transport)

        def data_received(self, data: bytes) -> None:
            frames = (self.buf + data).split(TERMINATOR)
            self.buf = frames.pop()
            if len(self.buf) > MAX_FRAME:
                self.transport.close()
                return
            for f in frames:
                frame = f + TERMINATOR
                for t in list(clients):
                    t.write(frame)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Relay, "127.0.0.1", 0, backlog=BACKLOG)
        port = server.sockets[0].getsockname()[1]
        sys.stdout.write(f"listening on 127.0.0.1:{port}\n")
        sys.stdout.flush()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


class ServerProcess:
    """One server under test as a subprocess: ``kind`` is pgboard, twisted or asyncio; ``db`` the
    pgboard store (a file path, or ":memory:")."""

    def __init__(self, kind: str, db: str | Path = ":memory:", log_path: Path | None = None) -> None:
        self.kind = kind
        if kind == "pgboard":
            cmd = [sys.executable, "-m", "pgboard_server.cli", "--port", "0", "--db", str(db)]
            cmd += ["--log-level", "WARNING", "--no-rate-limits"]  # it measures the server flat out
        elif kind in ("twisted", "asyncio"):
            cmd = [sys.executable, "-m", "bench.peers", kind]
        else:
            raise ValueError(f"unknown server kind {kind!r}")
        self._log = open(log_path or os.devnull, "ab")  # noqa: SIM115 (closed in stop)
        root = Path(__file__).resolve().parent.parent
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log, cwd=root)
        self.pid = self.proc.pid
        try:
            self.port = self._read_port()
        except BaseException:
            self.stop()
            raise

    def _read_port(self) -> int:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            poller = select.poll()  # not select(): a descriptor past 1024 (a long pytest process) is refused
            poller.register(self.proc.stdout, select.POLLIN)
            if not poller.poll(max(0.0, left) * 1000):
                raise RuntimeError(f"{self.kind} server did not start within {START_TIMEOUT} s")
            chunk = os.read(self.proc.stdout.fileno(), 256)
            if not chunk:
                raise RuntimeError(f"{self.kind} server exited: {self.proc.wait()}")
            line += chunk
        return int(line.split(b"\n", 1)[0].rsplit(b":", 1)[1])

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def rss(self) -> int:
        """Resident set size in bytes."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def cpu(self) -> float:
        """User + system CPU seconds used so far."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    {"twisted": run_twisted, "asyncio": run_asyncio}[sys.argv[1]]()
