"""In-process TLS/HTTP servers on 127.0.0.1 with trustme certificates, and the
fixtures the tls and endpoints tests share (loaded by tests/conftest.py).

Payment hostnames are mapped to 127.0.0.1 by monkeypatching payprobe.net.resolve,
so no test touches real DNS or any non-loopback address.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from payprobe import net
from payprobe.api import Blackboard, CheckContext, Outcome
from payprobe.checks.handshake import TlsCheck
from payprobe.engine.config import Settings, TlsConfig

HOST = "openapi.alipay.com"
NOW = dt.datetime.now(dt.timezone.utc)


# ---------------------------------------------------------------- servers


class Server:
    """A TCP listener on 127.0.0.1:random with one behaviour per connection.

    mode: "http" (TLS if ssl_ctx, then answer ``status``), "silent" (accept,
    never speak), "slowloris" (answer one byte every 0.1 s, forever),
    "close" (accept and close at once).
    ``fail_first``: the first N connections are closed at once (lost samples).
    """

    def __init__(self, mode: str = "http", ssl_ctx: ssl.SSLContext | None = None,
                 status: int = 204) -> None:
        self.mode, self.ssl_ctx, self.status = mode, ssl_ctx, status
        self.fail_first = 0
        self.requests: list[str] = []
        self.connections = 0
        self._stop = threading.Event()
        self._held: list[socket.socket] = []
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            n = self.connections
            threading.Thread(target=self._serve, args=(conn, n), daemon=True).start()

    def _serve(self, conn: socket.socket, n: int) -> None:
        self._held.append(conn)
        try:
            if n <= self.fail_first or self.mode == "close":
                conn.close()
                return
            if self.mode == "silent":
                self._stop.wait(30)
                return
            conn.settimeout(5)
            sock: Any = conn
            if self.ssl_ctx is not None:
                sock = self.ssl_ctx.wrap_socket(conn, server_side=True)
                self._held.append(sock)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    return
                data += chunk
            self.requests.append(data.split(b"\r\n", 1)[0].decode())
            if self.mode == "slowloris":
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
                    if self._stop.wait(0.1):
                        return
                    sock.sendall(bytes([byte]))
                return
            sock.sendall(f"HTTP/1.1 {self.status} Whatever\r\nContent-Length: 0\r\n"
                         "Connection: close\r\n\r\n".encode())
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def stop(self) -> None:
        self._stop.set()
        self.listener.close()
        for s in self._held:
            try:
                s.close()
            except OSError:
                pass


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


def new_ca() -> trustme.CA:
    return trustme.CA(organization_name="Payprobe Test Root")


def write_ca_file(ca: trustme.CA, directory: Path) -> str:
    path = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def install_loopback_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Payment names -> 127.0.0.1; *.invalid is NXDOMAIN. Counts lookups per name."""
    calls: dict[str, int] = {}

    def fake_resolve(host: str, port: int, *, timeout: float, family: int = 0) -> list[str]:
        calls[host] = calls.get(host, 0) + 1
        if host.endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return ["127.0.0.1"]

    monkeypatch.setattr(net, "resolve", fake_resolve)
    return calls


def stop_all(made: list[Server]) -> None:
    for s in made:
        s.stop()


@pytest.fixture
def ca() -> trustme.CA:
    return new_ca()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    return write_ca_file(ca, tmp_path)


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    made: list[Server] = []
    yield made
    stop_all(made)


@pytest.fixture
def loopback_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    return install_loopback_dns(monkeypatch)


def start(servers: list[Server], *args: Any, **kw: Any) -> Server:
    s = Server(*args, **kw)
    servers.append(s)
    return s


def make_ctx(settings: Settings, name: str, deadline_s: float = 5.0,
             shared: Blackboard | None = None) -> CheckContext:
    return CheckContext(name=name, config=settings.section(name), settings=settings,
                        deadline=time.monotonic() + deadline_s, cancelled=threading.Event(),
                        shared=shared or Blackboard(), host=None, options={})


def tls_settings(ca_file: str, targets: list[str], **tls: Any) -> Settings:
    tls.setdefault("slow_ms", 60_000.0)
    return Settings(ca_file=ca_file, tls=TlsConfig(targets=targets, **tls))


def run_tls(settings: Settings, deadline_s: float = 5.0,
            shared: Blackboard | None = None) -> Outcome:
    return TlsCheck().run(make_ctx(settings, "tls", deadline_s, shared))


def codes(outcome: Outcome) -> dict[str, str]:
    return {f.code: f.severity for f in outcome.findings}


def finding(outcome: Outcome, code: str) -> Any:
    return next(f for f in outcome.findings if f.code == code)


