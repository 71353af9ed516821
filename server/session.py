"""One client connection: a reader thread that frames and dispatches (what it decides is in
server/session_input.py), and a bounded queue of outbound frames, written by the thread that queued
them or, when that would block, by a writer thread started for the purpose (it coalesces many frames
into one sendall() and ends after WRITER_IDLE without work: an idle connection has one thread).

When the writer is idle and the kernel's send buffer has room, the thread that queued the frames
sends them itself (:meth:`Session.flush`, one non-blocking write of everything queued,
server/fastwrite.py): a broadcast then costs one system call per member instead of waking a writer
thread per member, and the writer only takes over when the peer is slow (the write would block).
Coalescing is explicit: the room queues the echoes of an input chunk's operations without writing
(``send_frames(..., flush=False)``) and returns the members it queued on; the reader gathers them
over the whole chunk and flushes each once at its end (:meth:`Session._handle_input`), so a hundred
operations in one segment leave in one write per member. Everything else is written when queued.

The queue holds encoded frames (bytes) and lazy items (an iterator of frames, used for catch-ups so a
board of 100k objects is encoded by this connection's writer, not under the room's lock, and never
counts against the slow-reader bound). When a client stops reading and its live frames pass
``send_queue_limit`` bytes, it is dropped ("too slow"): nobody else ever waits for it.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from pgboard_server import lockorder, session_input
from pgboard_server.echo import RawCodec
from pgboard_server.fastwrite import read_waiter, write_now
from pgboard_server.limits import MAX_INPUT_PAUSE, READER_IDLE_MS, WRITER_IDLE
from pgboard_server.ratelimit import AddressQuota, Throttle
from pgboard_server.rounds import Rounds
from pgboard_server.tls import TLS_REQUIRED, HandshakeFailed, TlsWire

from pgboard.protocol import MAX_FRAME, OPERATIONS, Error, Message, Operation, ProtocolError, encode

if TYPE_CHECKING:
    from pgboard_server.room import Room
    from pgboard_server.server import BoardServer

log = logging.getLogger(__name__)

Lazy = Iterable[bytes]
_READY = threading.Event()  # the wire of every plain TCP connection: ready at once
_READY.set()


class Session:
    """A connection and, once joined, a member of a room (``user`` is its author id)."""

    def __init__(
        self,
        server: BoardServer,
        sock: socket.socket,
        peer: str,
        number: int,
        quota: AddressQuota | None = None,
        tls: TlsWire | None = None,
    ) -> None:
        self.server = server
        self.limits = server.limits
        self.sock = sock
        self.peer = peer
        self.number = number
        self.quota = quota  # what this connection shares with the others from its address
        self.throttle = Throttle(self.limits, server.clock, quota)
        self.stop_reading: threading.Event | None = None  # ends an input pause early at a close (made then)
        self.user = ""
        self.id_prefix = ""  # what this connection's object ids begin with (pgboard/ids.py), set at join
        self.nick = ""
        self.room: Room | None = None
        self.parked = False  # no reader thread: the socket waits in the server's IdleWatch
        self.last_round: threading.Event | None = None  # set once the last chunk handed over is applied
        self.ignoring_chat = False
        self.last_heard = server.clock()
        self.connected_at = self.last_heard  # JOIN_TIMEOUT counts from here: no input resets it
        self.last_ping = self.last_heard
        self.last_progress = self.last_heard  # a catch-up chunk was taken by the peer: it is alive
        self.pings = 0
        self._frames = 0  # whole frames read (the heartbeat's signs of life)
        self.close_reason = ""
        self._state = lockorder.lock("session state")  # guards closing/room against a join racing a close
        self._lock = lockorder.lock("session")  # taken directly on the hot path: Condition's with is slower
        self._cv = threading.Condition(self._lock)
        self._queue: deque[bytes | Lazy] = deque()
        self._queued = 0  # bytes of live frames in _queue
        self._writing = False  # the writer thread holds a batch taken from the queue
        self._tail = b""  # wire bytes a short write left over: they go before anything else
        self.tls = tls  # None: plain TCP
        # the writer may start (after the TLS handshake); plain TCP shares one that is always set
        self._wire_ready = threading.Event() if tls is not None else _READY
        self._tls_failed = False
        self._writing = tls is not None  # nothing is written before the handshake is done
        self._closing = False
        self._writer_done = threading.Event()
        self._read_done = threading.Event()
        self._linger = self.limits.close_linger
        # until the join, a frame is at most UNJOINED_MAX_FRAME bytes (what the reader thread may buffer
        # for a stranger); attach() lifts it to MAX_FRAME
        self.codec = RawCodec(max_frame=self.limits.unjoined_max_frame)
        self._stranger_read = min(self.limits.recv_size, self.limits.unjoined_max_frame + 2)
        self.reader: threading.Thread | None = None  # None while parked (a dead thread costs ~1 KiB)
        self.writer: threading.Thread | None = None  # started when a write would block (_wake_locked)
        self._writer_running = False

    def __repr__(self) -> str:
        return f"<Session #{self.number} {self.peer} {self.nick or '-'}>"

    @property
    def closing(self) -> bool:
        return self._closing

    @property
    def joined(self) -> bool:
        return self.room is not None

    def start(self) -> None:
        if self.tls is not None:  # the writer waits for the handshake, then writes under TLS
            with self._lock:
                self._wake_locked()
        name = f"pgboard-read-{self.number}"
        self.reader = threading.Thread(target=self._read_loop, name=name, daemon=True)
        self.reader.start()

    # -- outbound

    def send(self, msg: Message) -> None:
        self.send_frame(encode(msg))

    def send_frame(self, frame: bytes, *, flush: bool = True) -> None:
        """Queue one encoded frame (see :meth:`send_frames`); never blocks."""
        self.send_frames((frame,), flush=flush)

    def send_frames(self, frames: Sequence[bytes], *, flush: bool = True) -> None:
        """Queue encoded frames, in order, and write them now; never blocks. With ``flush=False``
        they wait for the caller's :meth:`flush` (the end of its input chunk), unless the queue is
        half full already. A client whose queue is full is dropped."""
        with self._lock:
            if self._closing:
                return
            self._queue.extend(frames)
            self._queued += sum(map(len, frames))
            over = self._queued > self.limits.send_queue_limit
            if flush or 2 * self._queued > self.limits.send_queue_limit:
                self._flush_locked()  # now: a long input chunk must not make a reader look slow
        if over:
            log.warning("%r: %d bytes queued, dropping a client that does not read", self, self._queued)
            self.close(
                "too slow",
                Error("slow_reader", "you did not read fast enough and were disconnected", fatal=True),
                drop_queue=True,
            )

    def wake(self) -> None:
        with self._lock:
            self._wake_locked()

    def _wake_locked(self) -> None:
        """Hand the queue to the writer thread, starting one if none runs (under ``_lock``). An idle
        connection has no writer: the thread that queues a frame writes it (``_flush_locked``) unless
        the socket's buffer is full, a catch-up is to be produced, or the connection closes."""
        if self._writer_running:
            self._cv.notify()
            return
        self._writer_running = True
        name = f"pgboard-write-{self.number}"
        self.writer = threading.Thread(target=self._write_loop, name=name, daemon=True)
        self.writer.start()

    def flush(self) -> None:
        """Send what is queued now, from this thread, if that cannot block; else wake the writer."""
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        # Called holding _lock, on any thread (a member's reader writes other members' sockets). Safe
        # because one thread writes to a socket at a time: here only while the writer thread is idle
        # (_writing False), nothing is left of a short write (_tail empty) and the session is not
        # closing (the socket is closed only after _closing is set, under _lock); the writer sets
        # _writing under _lock before it takes a batch. So frames leave in queue order, and the
        # non-blocking write_now never waits (server/fastwrite.py).
        if self._writing or self._closing or self._tail:
            self._wake_locked()  # the writer sends a short write's tail first
            return
        if not self._queue:
            return  # an earlier flush sent it all already
        if not isinstance(self._queue[0], bytes):
            self._wake_locked()  # a catch-up is next: the writer produces it
            return
        batch: list[bytes] = []
        while self._queue and isinstance(self._queue[0], bytes):
            batch.append(self._queue.popleft())  # type: ignore[arg-type]
        plain = batch[0] if len(batch) == 1 else b"".join(batch)
        data = plain if self.tls is None else self.tls.encrypt(plain)
        sent = write_now(self.sock, data)  # 0 on an error: the writer meets it too
        self._queued -= len(plain)
        if sent < len(data):
            self._tail = data[sent:]  # already on the wire format (ciphertext under TLS)
            self._wake_locked()

    def send_lazy(self, frames: Lazy) -> None:
        """Queue frames produced later by the writer (a catch-up); not counted against the bound."""
        with self._lock:
            if self._closing:
                return
            self._queue.append(frames)
            self._wake_locked()

    # -- closing

    def close(
        self,
        reason: str,
        error: Error | None = None,
        *,
        drop_queue: bool = False,
        linger: float | None = None,
    ) -> None:
        """Leave the room (announced with ``reason``), send ``error`` last, flush and close; after the
        flush the peer gets ``linger`` seconds (CLOSE_LINGER by default) to close first. Idempotent."""
        with self._state:
            with self._lock:
                if self._closing:
                    return
                self._closing = True
                if linger is not None:
                    self._linger = linger
                if drop_queue:
                    self._queue.clear()
                    self._queued = 0
                if error is not None:
                    self._queue.append(encode(error))
                self._wake_locked()
            room = self.room
            self.close_reason = reason
        (self.stop_reading or _READY).set()  # ends an input pause (_READY: none made, always set)
        self.server.idle.resume(self)  # a parked reader reads the end of the stream and ends
        if not self._wire_ready.is_set():  # a TLS handshake under way: end its wait now
            self._shutdown(socket.SHUT_RDWR)
        log.debug("%r closing: %s", self, reason)
        if room is not None:
            room.leave(self, reason)
        self.server.friends.left(self)  # its account's friends hear (server/friends.py)

    def attach(self, room: Room) -> bool:
        """Become a member of ``room`` unless the connection is already closing (called under the
        room's lock, so a close either happens before the join or leaves the room after it)."""
        with self._state:
            if self._closing:
                return False
            self.room = room
            self.codec.max_frame = MAX_FRAME  # a member may send any frame (called on the reader thread)
            return True

    def detach(self) -> None:
        with self._state:
            self.room = None

    # -- the writer thread

    def _write_loop(self) -> None:
        batch_limit = self.limits.write_batch
        self._wire_ready.wait()
        try:
            while not self._tls_failed:
                with self._lock:
                    self._writing = False
                    while not self._queue and not self._tail and not self._closing:
                        if not self._cv.wait(WRITER_IDLE) and not self._queue and not self._tail:
                            if not self._closing:  # nothing to do for a while: the thread ends
                                self._writer_running = False
                                self.writer = None
                                return
                    if not self._queue and not self._tail:
                        break
                    tail, self._tail = self._tail, b""
                    batch: list[bytes] = []
                    size = 0
                    lazy: Lazy | None = None
                    self._writing = True
                    while self._queue and size < batch_limit:
                        item = self._queue[0]
                        if not isinstance(item, bytes):
                            if not batch:
                                self._queue.popleft()
                                lazy = item
                            break
                        self._queue.popleft()
                        batch.append(item)
                        size += len(item)
                    self._queued -= size
                if tail:
                    self.sock.sendall(tail)
                if batch:
                    self.sock.sendall(self._wire(b"".join(batch)))
                if lazy is not None:
                    self._send_lazy(lazy, batch_limit)
            if self.tls is not None and not self._tls_failed:
                self.sock.sendall(self.tls.goodbye())
            self._shutdown(socket.SHUT_WR)  # everything is out: FIN after the last frame
            # give the peer CLOSE_LINGER to read it and close; then wake the reader ourselves
            if not self._read_done.wait(self._linger):
                self._shutdown(socket.SHUT_RD)
        except (OSError, ValueError) as exc:  # ValueError: the socket was closed under us
            log.debug("%r: send failed: %s", self, exc)
            self.close("connection lost")
            self._shutdown(socket.SHUT_RDWR)
        except Exception:
            log.exception("%r: writer failed", self)
            self.close("server error")
            self._shutdown(socket.SHUT_RDWR)
        finally:
            if self._writer_running:  # not an idle writer's end: the connection's writing is over
                self._writer_done.set()

    def _shutdown(self, how: int) -> None:
        try:
            self.sock.shutdown(how)
        except OSError:
            pass

    def _send_lazy(self, frames: Lazy, batch_limit: int) -> None:
        chunk: list[bytes] = []
        size = 0
        for frame in frames:
            chunk.append(frame)
            size += len(frame)
            if size >= batch_limit:
                if self._closing:
                    return
                self.sock.sendall(self._wire(b"".join(chunk)))
                self.last_progress = self.server.clock()  # each full batch taken: the peer is alive
                chunk, size = [], 0
        if chunk:
            self.sock.sendall(self._wire(b"".join(chunk)))

    def _wire(self, plain: bytes) -> bytes:
        return plain if self.tls is None else self.tls.encrypt(plain)

    # -- the reader thread

    def _read_loop(self) -> None:
        """Blocks in recv() until input, end of file or an error; after a close, the writer ends
        the wait (shutdown SHUT_RD) once the peer had CLOSE_LINGER to close by itself."""
        codec = self.codec
        reason = "quit"
        try:
            if self.tls is not None:
                if self._tls_handshake():
                    self._receive(codec, self.tls.decrypt(b""))  # frames sent with the handshake's end
                else:
                    reason = "no TLS"
            readable = read_waiter(self.sock)
            while not self._tls_failed:
                try:
                    # wait without a buffer (recv() holds recv_size bytes while it waits); silent long: park
                    if not readable(READER_IDLE_MS) and self.server.idle.park(self):
                        return  # server/idlewatch.py starts a reader again on input or at the close
                    # a stranger's reads are small too: what it may send before joining is
                    data = self.sock.recv(self.limits.recv_size if self.room else self._stranger_read)
                except TimeoutError:
                    continue  # the socket's timeout is for sends; a silent peer is the heartbeat's job
                if not data:
                    break
                if self._closing:
                    continue  # after a fatal error, input is discarded until the peer closes
                now, frames = self.server.clock(), self._frames
                self._receive(codec, data if self.tls is None else self.tls.decrypt(data))
                if self._frames != frames or not codec.pending:
                    # a sign of life is a whole frame: white space or half a frame trickled in one
                    # byte at a time kept a connection (and up to MAX_FRAME of buffer) forever
                    self.last_heard = now
                pause = self.throttle.charge_input(len(data))
                if pause and not self._closing:
                    self._refuse("input", f"more than {self.limits.input_rate:g} bytes a second", pause)
                    session_input.pause_input(self, min(pause, MAX_INPUT_PAUSE))  # TCP slows the sender
        except (OSError, ValueError) as exc:
            reason = "connection lost"
            log.debug("%r: recv failed: %s", self, exc)
        except Exception:
            reason = "server error"
            log.exception("%r: reader failed", self)
        self._read_done.set()
        self.close(reason)
        self._writer_done.wait(self.limits.send_timeout + self.limits.close_linger + 1)
        self.server.metrics.connection_closed(self)  # its bytes on the wire, while the socket is open
        try:
            self.sock.close()
        except OSError:
            pass
        self.server.forget(self)
        log.info("%r disconnected (%s)", self, self.close_reason or reason)

    def _receive(self, codec: RawCodec, plain: bytes) -> None:
        if plain:  # b"" would mean end of file to the codec; TLS may decrypt nothing yet
            codec.receive_data(plain)
            self._handle_input(codec)

    def _tls_handshake(self) -> bool:
        """In this connection's reader thread, bounded by ``tls_handshake_timeout``; then the writer
        may start. A peer that speaks the plain protocol gets a plain error frame saying so."""
        assert self.tls is not None
        try:
            self.tls.handshake(self.sock, self.limits.tls_handshake_timeout)
        except (HandshakeFailed, OSError) as exc:
            log.info("%r: %s", self, exc)
            self._tls_failed = True
            if isinstance(exc, HandshakeFailed) and exc.plain:  # before close() shuts the socket
                with contextlib.suppress(OSError):
                    self.sock.sendall(encode(Error("tls_required", TLS_REQUIRED, fatal=True)))
            self._wire_ready.set()
            self.close("no TLS", drop_queue=True)
            return False
        finally:
            self.sock.settimeout(self.limits.send_timeout)
        self._wire_ready.set()
        return True

    def _handle_input(self, codec: RawCodec) -> None:
        to_flush: dict[Session, None] = {}  # members the room queued this chunk's echoes on, unwritten
        try:
            self._handle_frames(codec, to_flush)
        finally:
            for s in to_flush:
                s.flush()
        room = self.room  # the echoes are sent: a compaction the input made due costs its reader only
        if room is not None and room.compaction.due():
            room.compaction.compact()

    def _handle_frames(self, codec: RawCodec, to_flush: dict[Session, None]) -> None:
        ops: list[Operation] = []  # read in a row: applied together (one commit), before what follows
        raws: list[bytes] = []  # their payloads, for the echoes (server/echo.py)
        while not self._closing:
            try:
                msg = codec.next_message()
            except ProtocolError as exc:
                self._apply(ops, raws, to_flush)
                Rounds.settle(self)  # what follows goes out after those operations' answers
                log.info("%r: protocol error %s: %s", self, exc.code, exc.detail)
                if exc.fatal:
                    self.close("protocol error", Error(exc.code, exc.detail, fatal=True))
                    return
                self.send(Error(exc.code, exc.detail, oid=exc.oid))
                self._frames += 1
                continue
            if msg is None:
                break
            self._frames += 1
            if isinstance(msg, OPERATIONS) and self.room is not None:
                retry = self.throttle.admit("op", session_input.op_cost(msg))
                if not retry:
                    ops.append(msg)
                    raws.append(codec.raw)
                    continue
                self._apply(ops, raws, to_flush)
                Rounds.settle(self)  # what follows goes out after those operations' answers
                self._refuse(
                    "op", f"more than {self.limits.op_rate:g} drawing operations a second", retry, msg.oid
                )
                continue
            self._apply(ops, raws, to_flush)
            Rounds.settle(self)  # what follows goes out after those operations' answers
            try:
                self._dispatch(msg, to_flush)
            except Exception:
                log.exception("%r: failed to handle %r", self, msg)
                self.send(Error("server_error", "the server failed to handle that message"))
        self._apply(ops, raws, to_flush)

    def _apply(self, ops: list[Operation], raws: list[bytes], to_flush: dict[Session, None]) -> None:
        """Apply the operations gathered so far in the room (Room.apply_all), and start a new batch;
        the members their echoes wait on join ``to_flush``."""
        if not ops:
            return
        batch, payloads = ops[:], raws[:]
        ops.clear()
        raws.clear()
        room = self.room  # kicked or closed meanwhile: nothing more is applied, as after a close
        if room is None:
            return
        try:
            to_flush.update(dict.fromkeys(room.rounds.submit(self, batch, payloads)))
        except Exception:
            log.exception("%r: failed to apply %d operations", self, len(batch))
            self.send(Error("server_error", "the server failed to handle that message"))

    def _dispatch(self, msg: Message, to_flush: dict[Session, None]) -> None:
        session_input.dispatch(self, msg, to_flush)

    def _refuse(self, kind: str, detail: str, retry: float, oid: str = "") -> None:
        session_input.refuse(self, kind, detail, retry, oid)

    def heartbeat(self, now: float) -> None:
        """Called by the server's heartbeat thread (server/session_input.py ``heartbeat``)."""
        session_input.heartbeat(self, now)
