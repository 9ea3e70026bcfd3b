"""TCP, TLS and HTTP servers on loopback, the certificates they present, and ports
that refuse or never speak.

:class:`Server` is the machinery of every in-process server of the tests
(threads and sockets that ``close()`` stops); :class:`StreamServer` runs a
*behaviour* per connection (hostile ones are in tests/faults/servers.py).
"""

from __future__ import annotations

import contextlib
import http.server
import socket
import ssl
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import trustme

Behaviour = Callable[[socket.socket, threading.Event], None]

# How long a server waits for the client's first bytes (or its TLS handshake).
READ_REQUEST_S = 2.0
JOIN_S = 2.0


# ---------------------------------------------------------------- the machinery


class Server:
    """Common bookkeeping: threads and sockets to stop on close().

    Subclasses wait on ``stop`` instead of sleeping, so ``close()`` ends them at once.
    """

    ip = "127.0.0.1"

    def __init__(self) -> None:
        self.stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self.port = 0

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    def url(self, scheme: str = "http", path: str = "/") -> str:
        return f"{scheme}://{self.ip}:{self.port}{path}"

    def _spawn(self, target: Callable[..., None], *args: Any, name: str) -> None:
        t = threading.Thread(target=target, args=args, daemon=True, name=f"fault-{name}")
        with self._lock:
            self._threads.append(t)
        t.start()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._socks.append(sock)

    @property
    def threads(self) -> list[threading.Thread]:
        with self._lock:
            return list(self._threads)

    def close(self) -> None:
        self.stop.set()
        with self._lock:
            socks = list(self._socks)
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()
        for t in self.threads:
            t.join(JOIN_S)

    def alive_threads(self) -> list[str]:
        return [t.name for t in self.threads if t.is_alive()]

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class StreamServer(Server):
    """Accepts TCP (optionally TLS) connections on ``ip:port`` and runs ``behaviour`` on each."""

    handshake_timeout_s = READ_REQUEST_S

    def __init__(self, behaviour: Behaviour, *, tls: ssl.SSLContext | None = None,
                 name: str = "stream", ip: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__()
        self.behaviour = behaviour
        self.tls = tls
        self.name = name
        self.ip = ip
        self.connections = 0
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.listener.bind((ip, port))
        except OSError:
            self.listener.close()
            raise
        self.listener.listen(64)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self._track(self.listener)
        self._spawn(self._accept_loop, name=f"{name}-accept")

    def _accept_loop(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self._track(conn)
            self._spawn(self._serve, conn, self.connections, name=f"{self.name}-conn")

    def _serve(self, conn: socket.socket, n: int) -> None:
        """Serve connection number ``n`` (from 1): TLS handshake if any, then the behaviour."""
        try:
            if self.tls is not None:
                conn.settimeout(self.handshake_timeout_s)
                conn = self.tls.wrap_socket(conn, server_side=True)
                self._track(conn)
            self.behaviour(conn, self.stop)
        except (OSError, ValueError):
            pass  # the client gave up or we were closed: expected with hostile peers
        finally:
            with contextlib.suppress(OSError):
                conn.close()


# ---------------------------------------------------------------- HTTP(S)


class HttpServer(StreamServer):
    """An HTTP(S) server on ``ip``:random (or ``port``) with one behaviour for all requests.

    mode: "http" (TLS if ssl_ctx, then answer ``status`` with an empty body),
    "silent" (accept, never speak, no TLS handshake), "slowloris" (answer one
    byte every 0.1 s, forever), "close" (accept and close at once).
    ``fail_first``: the first N connections are closed at once (lost samples).
    ``requests`` collects the request lines.
    """

    handshake_timeout_s = 5.0

    def __init__(self, mode: str = "http", ssl_ctx: ssl.SSLContext | None = None, status: int = 204,
                 *, ip: str = "127.0.0.1", port: int = 0) -> None:
        self.mode, self.status = mode, status
        self.fail_first = 0
        self.requests: list[str] = []
        super().__init__(self._answer, tls=ssl_ctx, name=f"http-{mode}", ip=ip, port=port)

    def _serve(self, conn: socket.socket, n: int) -> None:
        if n <= self.fail_first or self.mode == "close":
            with contextlib.suppress(OSError):
                conn.close()
            return
        if self.mode == "silent":
            self.stop.wait()
            with contextlib.suppress(OSError):
                conn.close()
            return
        super()._serve(conn, n)

    def _answer(self, sock: socket.socket, stop: threading.Event) -> None:
        sock.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                return
            data += chunk
        self.requests.append(data.split(b"\r\n", 1)[0].decode())
        if self.mode == "slowloris":
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
                if stop.wait(0.1):
                    return
                sock.sendall(bytes([byte]))
            return
        sock.sendall(f"HTTP/1.1 {self.status} Whatever\r\nContent-Length: 0\r\n"
                     "Connection: close\r\n\r\n".encode())


class QuietHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a: Any) -> None:
        pass

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if status != 204:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _CheckUrlHandler(QuietHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/generate_204":
            self.reply(204)
        elif self.path == "/empty200":
            self.reply(200)
        elif self.path == "/portal":
            self.reply(302, headers={"Location": "http://login.portal.example/auth?mac=aa"})
        elif self.path == "/body":
            self.reply(200, b"<html>please log in</html>")
        else:
            self.reply(500)


class ThreadedHttp:
    """A ThreadingHTTPServer in a daemon thread; ``close()`` stops it."""

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler],
                 tls: ssl.SSLContext | None = None) -> None:
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class CheckUrlServer(ThreadedHttp):
    """The connectivity check's URLs: /generate_204, /empty200 (200, no body),
    /portal (302 to a login page), /body (200 with a page); 500 elsewhere."""

    def __init__(self) -> None:
        super().__init__(_CheckUrlHandler)
        self.base_url = f"http://127.0.0.1:{self.port}"


def datagrams(sock: socket.socket, stop: threading.Event, size: int = 65535
              ) -> Iterator[tuple[bytes, Any]]:
    """(datagram, sender) as they arrive on ``sock`` (which has a timeout) until ``stop`` is set:
    the receive loop of every UDP test server."""
    while not stop.is_set():
        try:
            yield sock.recvfrom(size)
        except (TimeoutError, OSError):
            continue


def closed_port() -> int:
    """A loopback port nothing listens on: connection refused."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


@contextlib.contextmanager
def idle_listener() -> Iterator[int]:
    """A loopback port that accepts connections (the kernel does) and never speaks."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    try:
        yield s.getsockname()[1]
    finally:
        s.close()


# ---------------------------------------------------------------- certificates


def new_ca() -> trustme.CA:
    return trustme.CA(organization_name="Payprobe Test Root")


def write_ca_file(ca: trustme.CA, directory: Path) -> str:
    path = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def server_ctx(cert: trustme.LeafCert, *, tls10_only: bool = False) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    if tls10_only:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.set_ciphers("ALL:@SECLEVEL=0")
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1
    return ctx
