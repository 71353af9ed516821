"""TLS end to end: a real BoardServer with a throwaway self-signed certificate (made by the openssl
command), the client's non-blocking pump (pgboard/net.py over pgboard/tls.py) and blocking TLS test
clients. Trust by fingerprint, a changed fingerprint, plain and TLS peers mixed up, and a handshake
that stalls without holding up anyone else."""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pgboard_server.limits import NO_RATE_LIMITS
from pgboard_server.server import BoardServer
from pgboard_server.tls import TLS_REQUIRED, file_fingerprint, server_context
from support import WAIT, RawClient, ServerProcess, passed_on, running_server
from test_net import Client

from pgboard import ids
from pgboard.net import Connection
from pgboard.protocol import Add, BoardObject, Chat, Codec, Error, Hello, Obj, Say
from pgboard.protocol_snapshot import Snapshot
from pgboard.tls import normal_fingerprint
from pgboard.widgets.statusbar import connection_text

FAST = {"close_linger": 0.05}


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed to make a test certificate (apt-get install openssl)")
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        + ["-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost"]
        + ["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


@pytest.fixture
def tls_server(cert: tuple[Path, Path]) -> Iterator[BoardServer]:
    with running_server(tls=server_context(*cert), **FAST, **NO_RATE_LIMITS) as srv:
        yield srv


def trusting(cert: tuple[Path, Path]) -> ssl.SSLContext:
    """A blocking test client's context that trusts the throwaway certificate."""
    context = ssl.create_default_context(cafile=str(cert[0]))
    return context


def tls_client(port: int, *, fingerprint: str = "", nick: str = "alice") -> Client:
    c = Client(port, nick=nick, secret=f"secret-{nick}")
    c.conn = Connection(
        c.sched, "127.0.0.1", port, nick, "", f"secret-{nick}", tls=True, fingerprint=fingerprint
    )
    return c


def test_a_real_tls_session_joins_draws_chats_and_catches_up_thousands_of_objects(
    cert: tuple[Path, Path],
) -> None:
    # small kernel buffers: the catch-up of 3000 objects leaves in many partial writes of ciphertext
    with running_server(tls=server_context(*cert), send_buffer=8192, **FAST, **NO_RATE_LIMITS) as srv:
        with RawClient(srv.address, tls=trusting(cert)) as bob:
            bob.join("bob")
            bob.catch_up()
            bob.send_bytes(
                b"".join(
                    Codec.send(
                        Add(
                            f"b{i}",
                            BoardObject(bob.obj_id(f"o{i}"), "rect", ((i % 3000, 5), (i % 3000 + 9, 50))),
                        )
                    )
                    for i in range(3000)
                )
            )
            bob.recv_until(lambda m: isinstance(m, Add) and m.oid == "b2999", timeout=WAIT * 2)
            c = tls_client(srv.address[1], fingerprint=file_fingerprint(cert[0]))
            conn = c.online()
            got = passed_on(conn)  # the board as obj frames, or as snapshot frames (the client asks those)
            ids_seen = [m.obj.id for m in got if isinstance(m, Obj)]
            ids_seen += [o.id for m in got if isinstance(m, Snapshot) for o in m.objects]
            assert ids_seen == [bob.obj_id(f"o{i}") for i in range(3000)]
            mine = ids.scoped(ids.device_id(conn.client_secret), "mine")
            conn.send_op(Add("a1", BoardObject(mine, "line", ((1, 1), (9, 9)))))
            conn.send(Say("hello over TLS"))
            c.pump_until(lambda: not conn.pending_ops)
            assert bob.recv_until(Add).obj.id == mine
            assert bob.recv_until(Chat).text == "hello over TLS"
            bob.send(Say("hi alice"))
            c.pump_until(lambda: any(isinstance(m, Chat) and m.text == "hi alice" for m in passed_on(conn)))
            assert conn.tls_fingerprint == normal_fingerprint(file_fingerprint(cert[0]))
            c.close()


def test_an_unknown_self_signed_certificate_shows_its_fingerprint_and_is_trusted_on_request(
    tls_server: BoardServer, cert: tuple[Path, Path]
) -> None:
    c = tls_client(tls_server.address[1])
    c.conn.start()
    c.pump_until(lambda: c.conn.state == "untrusted")
    expected = normal_fingerprint(file_fingerprint(cert[0]))
    assert c.conn.tls_fingerprint == expected and not c.conn.tls_changed
    assert expected in connection_text(c.conn) and "trust it?" in connection_text(c.conn)
    assert c.sched.time_until_next() is None, "no retry: the user must decide"
    c.conn.trust(c.conn.tls_fingerprint)
    c.pump_until(lambda: c.conn.state == "online")
    c.close()


def test_a_changed_fingerprint_is_refused_loudly_and_never_retried(tls_server: BoardServer) -> None:
    c = tls_client(tls_server.address[1], fingerprint="AB" * 32)
    c.conn.start()
    c.pump_until(lambda: c.conn.state == "untrusted")
    assert c.conn.tls_changed
    line = connection_text(c.conn)
    assert "CERTIFICATE CHANGED" in line and c.conn.tls_fingerprint in line
    assert c.sched.time_until_next() is None
    assert not any(s.joined for s in tls_server.sessions)  # nothing was sent in the clear or otherwise


def test_a_plain_client_talking_to_a_tls_server_gets_a_clear_error(cert: tuple[Path, Path]) -> None:
    with running_server(tls=server_context(*cert), tls_handshake_timeout=0.3, **FAST) as srv:
        with RawClient(srv.address) as plain:  # says join at once: not TLS, refused at once
            plain.send_bytes(b'{"t":"join","nick":"x"}\xc3\x98')
            assert plain.wait_closed() == [Error("tls_required", TLS_REQUIRED, fatal=True)]
        c = Client(srv.address[1])
        c.conn.start()  # the pgboard client waits for hello in silence: told after the handshake timeout
        c.pump_until(lambda: c.conn.state == "closed")
        assert "tls_required" in connection_text(c.conn) and "--tls" in connection_text(c.conn)


def test_a_tls_client_talking_to_a_plain_server_is_told_so(cert: tuple[Path, Path]) -> None:
    with running_server(**FAST) as srv:
        c = tls_client(srv.address[1])
        c.conn.start()
        c.pump_until(lambda: c.conn.state == "closed")
        assert "does not speak TLS" in connection_text(c.conn)


def test_a_stalled_handshake_holds_up_nobody_and_ends_after_its_timeout(cert: tuple[Path, Path]) -> None:
    with running_server(tls=server_context(*cert), tls_handshake_timeout=1.0, **FAST) as srv:
        stalled = socket.create_connection(srv.address, timeout=WAIT)
        stalled.sendall(b"\x16\x03\x01\x02\x00")  # the start of a ClientHello, and then nothing
        try:
            with (
                RawClient(srv.address, tls=trusting(cert)) as a,
                RawClient(srv.address, tls=trusting(cert)) as b,
            ):
                a.join("alice")
                a.catch_up()
                b.join("bob")
                b.catch_up()
                a.send(Add("x", BoardObject(a.obj_id("x"), "line", ((1, 1), (5, 5)))))
                assert b.recv_until(Add).obj.id == a.obj_id("x")
            stalled.settimeout(WAIT)  # the server gives up on it after tls_handshake_timeout
            with contextlib.suppress(ConnectionResetError):
                assert stalled.recv(4096) == b""
        finally:
            stalled.close()


def test_the_command_line_serves_tls(tmp_path: Path, cert: tuple[Path, Path]) -> None:
    log = tmp_path / "server.log"
    with (
        ServerProcess(
            tmp_path / "b.sqlite3", "--tls-cert", str(cert[0]), "--tls-key", str(cert[1]), log_path=log
        ) as server,
        RawClient(server.address, tls=trusting(cert)) as c,
    ):
        assert isinstance(c.recv(), Hello)
    assert normal_fingerprint(file_fingerprint(cert[0])) in log.read_text()
