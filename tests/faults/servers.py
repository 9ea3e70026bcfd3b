"""TCP, TLS and HTTP servers that misbehave on purpose.

A :class:`~tests.servers.StreamServer` (the one server machinery of the tests,
in tests/servers/) accepts connections on 127.0.0.1 and hands each one to a
*behaviour*: a function ``(conn, stop) -> None`` that does something hostile
(never answer, answer one byte per half second, send half a ServerHello...).
Behaviours wait on ``stop`` instead of sleeping, so ``close()`` ends them at
once. :class:`BacklogServer` never accepts at all and keeps its accept queue
full, so a connect() to it hangs in SYN retransmissions.
"""

from __future__ import annotations

import contextlib
import email.utils
import os
import socket
import threading
import time
from collections.abc import Iterator

from tests.servers import READ_REQUEST_S, Behaviour, Server, StreamServer

__all__ = [
    "DRIP_INTERVAL_S", "HALF_SERVER_HELLO", "READ_REQUEST_S", "BacklogServer", "Behaviour", "Server",
    "StreamServer", "drip", "http_date_now", "http_endless_body", "http_ok", "http_slowloris",
    "http_with_dates", "read_once", "read_request", "stall", "started", "tls_drip_server_hello",
    "tls_half_server_hello", "tls_stall",
]

# How often the drip behaviours send their next byte: well under every
# per-call socket timeout payprobe uses, so only a whole-exchange deadline stops them.
DRIP_INTERVAL_S = 0.3


class BacklogServer(Server):
    """A listening socket that never accepts, its accept queue filled by us.

    With listen(0) Linux queues one connection; the two we make fill it, so the
    kernel drops the client's SYN and connect() hangs until its timeout.
    """

    def __init__(self) -> None:
        super().__init__()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self._track(self.listener)
        for _ in range(3):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError, OSError):
                filler.connect(("127.0.0.1", self.port))
            self._track(filler)
        time.sleep(0.05)


# ---------------------------------------------------------------- behaviours


def read_request(conn: socket.socket, stop: threading.Event, limit: int = 65536) -> bytes:
    """Read until the end of HTTP headers (or whatever the first read brings for TLS)."""
    conn.settimeout(0.2)
    data = b""
    end = time.monotonic() + READ_REQUEST_S
    while b"\r\n\r\n" not in data and len(data) < limit and time.monotonic() < end:
        if stop.is_set():
            break
        try:
            chunk = conn.recv(4096)
        except TimeoutError:
            continue
        if not chunk:
            break
        data += chunk
    return data


def read_once(conn: socket.socket, stop: threading.Event) -> bytes:
    """The client's first flight (a ClientHello): one read, whatever it holds."""
    conn.settimeout(0.2)
    end = time.monotonic() + READ_REQUEST_S
    while time.monotonic() < end and not stop.is_set():
        try:
            return conn.recv(65536)
        except TimeoutError:
            continue
    return b""


def drip(conn: socket.socket, stop: threading.Event, data: bytes) -> None:
    """Send ``data`` one byte per DRIP_INTERVAL_S, then keep sending filler forever."""
    i = 0
    while not stop.wait(DRIP_INTERVAL_S):
        byte = data[i:i + 1] if i < len(data) else b"a"
        conn.sendall(byte)
        i += 1


def stall(conn: socket.socket, stop: threading.Event) -> None:
    """Accept, never send a byte."""
    stop.wait()


def tls_stall(conn: socket.socket, stop: threading.Event) -> None:
    """Read the ClientHello, never answer."""
    read_once(conn, stop)
    stop.wait()


# The first 16 bytes of a TLS 1.2 ServerHello record (header, handshake type,
# length, version, a few random bytes): a record that announces 86 bytes and
# stops half-way.
HALF_SERVER_HELLO = bytes.fromhex("160303005a020000560303") + os.urandom(20)


def tls_half_server_hello(conn: socket.socket, stop: threading.Event) -> None:
    read_once(conn, stop)
    conn.sendall(HALF_SERVER_HELLO)
    stop.wait()


def tls_drip_server_hello(conn: socket.socket, stop: threading.Event) -> None:
    """A ServerHello one byte at a time: each read gets a byte before its timeout."""
    read_once(conn, stop)
    drip(conn, stop, bytes.fromhex("16030340000200fffc0303") + os.urandom(64))


def http_slowloris(conn: socket.socket, stop: threading.Event) -> None:
    """A status line, then one header byte per interval, forever."""
    read_request(conn, stop)
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    drip(conn, stop, b"X-Slow: " + b"z" * 1_000_000)


def http_endless_body(conn: socket.socket, stop: threading.Event) -> None:
    """Complete, valid headers; then a body that never ends (one byte per interval)."""
    read_request(conn, stop)
    conn.sendall(b"HTTP/1.1 200 OK\r\nDate: " + http_date_now().encode() +
                 b"\r\nContent-Type: text/plain\r\nContent-Length: 1000000000\r\n\r\n")
    drip(conn, stop, b"test=test" + b"0" * 1_000_000)


def http_date_now() -> str:
    return email.utils.formatdate(time.time(), usegmt=True)


def http_with_dates(dates: list[bytes], status: int = 204) -> Behaviour:
    """Answer each request with these raw Date header values (none: no Date at all)."""

    def behave(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn, stop)
        head = [f"HTTP/1.1 {status} {'No Content' if status == 204 else 'OK'}".encode()]
        head += [b"Date: " + d for d in dates]
        head += [b"Content-Length: 0", b"Connection: close"]
        conn.sendall(b"\r\n".join(head) + b"\r\n\r\n")

    return behave


def http_ok(conn: socket.socket, stop: threading.Event) -> None:
    """A sane 204 with a correct Date (used behind hostile certificates)."""
    http_with_dates([http_date_now().encode()])(conn, stop)


@contextlib.contextmanager
def started(server: Server) -> Iterator[Server]:
    try:
        yield server
    finally:
        server.close()
