"""Network primitives shared by the checks: resolve, connect (one address, or
Happy Eyeballs over all of them), TLS, one HTTP exchange, each timed on its own
and each bounded by a timeout the caller takes from its deadline (``ctx.timeout()``).

Connections are made directly, never through HTTP(S)_PROXY: payprobe measures
the path the device itself takes; the proxy check reports proxies separately.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

# Happy Eyeballs lives in its own module; it is part of this one's surface.
from payprobe.happy_eyeballs import (
    HAPPY_EYEBALLS_DELAY_S,
    IPV4,
    IPV6,
    Attempt,
    HappyConnect,
    connect_happy,
    interleave_families,
    ip_family,
)

__all__ = [
    "HAPPY_EYEBALLS_DELAY_S", "IPV4", "IPV6", "Attempt", "FetchResult", "HappyConnect",
    "HttpResponse", "connect", "connect_happy", "fetch", "hard_deadline", "http_exchange",
    "interleave_families", "ip_family", "resolve", "split_hostport", "tls_context",
    "tls_handshake",
]

MAX_HEADER_BYTES = 64 * 1024
USER_AGENT = "payprobe"


def split_hostport(value: str, default_port: int) -> tuple[str, int]:
    """"host", "host:port", "[v6]:port" or a bare v6 address -> (host, port)."""
    value = value.strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default_port
    if value.count(":") == 1:
        host, _, port = value.partition(":")
        return host, int(port)
    return value, default_port


def resolve(host: str, port: int, *, timeout: float, family: int = 0) -> list[str]:
    """getaddrinfo (the system resolver apps use) with a timeout.

    getaddrinfo() cannot be interrupted, so it runs in a daemon thread; on
    timeout that thread is abandoned and ``socket.gaierror(EAI_AGAIN)`` raised.
    """
    answers: list[tuple[Any, ...]] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def work() -> None:
        try:
            answers.extend(socket.getaddrinfo(host, port, family, socket.SOCK_STREAM))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            errors.append(exc)
        done.set()

    threading.Thread(target=work, daemon=True, name=f"resolve-{host}").start()
    if not done.wait(max(0.0, timeout)):
        raise socket.gaierror(getattr(socket, "EAI_AGAIN", -3), "name resolution timed out")
    if errors:
        raise errors[0]
    seen: list[str] = []
    for *_, sockaddr in answers:
        if sockaddr[0] not in seen:
            seen.append(sockaddr[0])
    return seen


def connect(address: str, port: int, *, timeout: float) -> tuple[socket.socket, float]:
    """A fresh TCP connection; returns the socket and the connect time (no DNS in it)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # Like curl and Go: without it the request written right after the TLS Finished
    # waits (Nagle) for the server's ACK, adding one round trip to the measured TTFB.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(max(0.001, timeout))
    t0 = time.perf_counter()
    try:
        sock.connect((address, port))
    except BaseException:
        sock.close()
        raise
    return sock, time.perf_counter() - t0


def tls_context(*, ca_file: str = "", verify: bool = True, alpn: list[str] | None = None,
                minimum_version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    if verify:
        ctx = ssl.create_default_context(cafile=ca_file or None)
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        # Capture whatever the peer presents, old protocols included.
        try:
            ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            ctx.set_ciphers("ALL:@SECLEVEL=0")
        except (ValueError, ssl.SSLError):
            pass
    if minimum_version is not None:
        ctx.minimum_version = minimum_version
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def tls_handshake(sock: socket.socket, server_hostname: str, *, context: ssl.SSLContext,
                  timeout: float) -> tuple[ssl.SSLSocket, float]:
    """Wrap and handshake; returns the TLS socket and the handshake time."""
    sock.settimeout(max(0.001, timeout))
    t0 = time.perf_counter()
    tls = context.wrap_socket(sock, server_hostname=server_hostname or None,
                              do_handshake_on_connect=False)
    try:
        tls.do_handshake()
    except BaseException:
        tls.close()
        raise
    return tls, time.perf_counter() - t0


@contextmanager
def hard_deadline(sock: socket.socket, seconds: float) -> Iterator[threading.Event]:
    """Shut the socket down when ``seconds`` pass, whatever it is doing.

    A per-call timeout does not stop a slowloris peer that sends one byte per
    interval; this does. Errors raised after it fired become TimeoutError.
    """
    fired = threading.Event()

    def fire() -> None:
        fired.set()
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    timer = threading.Timer(max(0.0, seconds), fire)
    timer.daemon = True
    timer.start()
    try:
        yield fired
    except Exception as exc:
        if fired.is_set():
            raise TimeoutError(f"no complete answer within {seconds:.2f} s") from exc
        raise
    finally:
        timer.cancel()


@dataclass
class HttpResponse:
    status: int
    reason: str
    headers: dict[str, str]
    ttfb_s: float                       # request sent -> status line and headers read
    body_bytes: int = 0
    body: bytes = b""
    # Every header line in order; ``headers`` keeps only the last of repeated names.
    header_list: list[tuple[str, str]] = field(default_factory=list)

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.header_list if k.lower() == name.lower()]


def http_exchange(sock: socket.socket, host: str, target: str = "/", *, method: str = "GET",
                  timeout: float, read_body: int = 0,
                  headers: dict[str, str] | None = None) -> HttpResponse:
    """One HTTP/1.1 request on an open (TCP or TLS) socket.

    ``read_body`` is how many body bytes to keep (the rest is not read: the
    connection is closed afterwards anyway). Everything is bounded by ``timeout``.
    """
    sock.settimeout(max(0.001, timeout))
    lines = [f"{method} {target or '/'} HTTP/1.1", f"Host: {host}", f"User-Agent: {USER_AGENT}",
             "Accept: */*", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    with hard_deadline(sock, timeout) as fired:
        t0 = time.perf_counter()
        sock.sendall(request)
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        ttfb = time.perf_counter() - t0
        body = b""
        if read_body and method != "HEAD":
            try:
                body = response.read(read_body)
            except (http.client.IncompleteRead) as exc:
                body = exc.partial
    if fired.is_set():
        # The deadline cut the answer short: http.client may have taken the EOF for
        # the end of a (truncated) status line or headers. That is no answer.
        raise TimeoutError(f"no complete answer within {timeout:.2f} s")
    header_list = list(response.getheaders())
    hdrs = {k.lower(): v for k, v in header_list}
    return HttpResponse(status=response.status, reason=response.reason or "", headers=hdrs,
                        ttfb_s=ttfb, body_bytes=len(body), body=body, header_list=header_list)


@dataclass
class FetchResult:
    url: str
    address: str = ""
    resolve_s: float | None = None
    connect_s: float | None = None
    tls_s: float | None = None
    response: HttpResponse | None = None
    tls_version: str | None = None
    extra: dict[str, object] = field(default_factory=dict)


def fetch(url: str, *, timeout: float, method: str = "GET", read_body: int = 0,
          context: ssl.SSLContext | None = None, address: str | None = None) -> FetchResult:
    """Resolve, connect, (TLS,) one request: each phase timed separately.

    ``timeout`` bounds the whole fetch, not each phase. ``address`` skips the
    resolution (to fetch from an address obtained elsewhere, e.g. a resolver);
    without it every resolved address takes part in a Happy Eyeballs connect
    (``connect_s`` is the winner's own connect time, ``extra`` says which family
    won and how long the race took).
    Redirects are never followed: a captive portal's 302 is the answer.
    """
    end = time.monotonic() + timeout
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url}")
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    result = FetchResult(url=url)

    def left() -> float:
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("deadline reached")
        return remaining

    if address is None:
        t0 = time.perf_counter()
        addresses = resolve(host, port, timeout=left())
        result.resolve_s = time.perf_counter() - t0
        # As apps do: a name with a broken IPv6 path still answers over IPv4.
        happy = connect_happy(addresses, port, timeout=left())
        sock, result.address, result.connect_s = happy.sock, happy.address, happy.connect_s
        result.extra.update(ip_family=happy.ip_family, happy_eyeballs_s=round(happy.seconds, 6))
    else:
        result.address = address
        sock, result.connect_s = connect(address, port, timeout=left())
    try:
        if parts.scheme == "https":
            ctx = context or tls_context()
            sock, result.tls_s = tls_handshake(sock, host, context=ctx, timeout=left())
            result.tls_version = sock.version()
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        host_header = host if parts.port is None else f"{host}:{parts.port}"
        if ":" in host and not host.startswith("["):
            host_header = f"[{host}]" + (f":{parts.port}" if parts.port else "")
        result.response = http_exchange(sock, host_header, target, method=method, timeout=left(),
                                        read_body=read_body)
    finally:
        sock.close()
    return result
