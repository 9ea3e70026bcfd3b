"""Network primitives shared by the checks: resolve, connect (one address, or
Happy Eyeballs over all of them), TLS, one HTTP exchange, each timed on its own
and each bounded by a timeout the caller takes from its deadline (``ctx.timeout()``).

Connections are made directly, never through HTTP(S)_PROXY: payprobe measures
the path the device itself takes; the proxy check reports proxies separately.
"""

from __future__ import annotations

import http.client
import ipaddress
import selectors
import socket
import ssl
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

# Happy Eyeballs and the TLS contexts live in their own modules; they are part of this one's surface.
from payprobe.happy_eyeballs import (
    HAPPY_EYEBALLS_DELAY_S,
    IPV4,
    IPV6,
    STALL_S,
    Attempt,
    HappyConnect,
    StallError,
    connect_happy,
    interleave_families,
    ip_family,
)
from payprobe.tls_contexts import tls_context

__all__ = [
    "HAPPY_EYEBALLS_DELAY_S", "IPV4", "IPV6", "STALL_S", "Attempt", "FetchResult", "HappyConnect",
    "HttpResponse", "StallError", "connect", "connect_happy", "fetch", "handshake_step",
    "hard_deadline", "http_exchange", "interleave_families", "ip_family", "resolve",
    "split_hostport", "tls_context", "tls_handshake", "tls_wrap",
]

MAX_HEADER_BYTES = 64 * 1024
USER_AGENT = "payprobe"
# struct tcp_info (linux/tcp.h, unchanged since 2.6): eight one-byte fields, then
# u32 tcpi_rto, ato, snd_mss, rcv_mss, unacked: the segments sent and not yet ACKed.
_TCPI_UNACKED_OFFSET = 24


def is_ip(host: str) -> bool:
    """Whether ``host`` is an IPv4 or IPv6 address (brackets allowed), not a name."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


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


def connect(address: str, port: int, *, timeout: float, stall_s: float = STALL_S,
            mss: int | None = None) -> tuple[socket.socket, float]:
    """A fresh TCP connection; returns the socket and the connect time (no DNS in it).

    Given up after ``timeout``, or after ``stall_s`` with no answer to the SYN
    (:class:`StallError`), whichever comes first. ``mss`` caps the segment size
    this end advertises (TCP_MAXSEG, set before the SYN), so the peer sends no
    larger segment: how a path that drops large packets is told from a dead one.
    """
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # Like curl and Go: without it the request written right after the TLS Finished
    # waits (Nagle) for the server's ACK, adding one round trip to the measured TTFB.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    stalls = stall_s < timeout
    sock.settimeout(max(0.001, min(timeout, stall_s)))
    t0 = time.perf_counter()
    try:
        if mss is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)
        sock.connect((address, port))
    except TimeoutError as exc:
        sock.close()
        if stalls:
            raise StallError("connect", stall_s) from exc
        raise
    except BaseException:
        sock.close()
        raise
    return sock, time.perf_counter() - t0


def unacked_segments(sock: socket.socket) -> int | None:
    """How many of our segments the peer has not acknowledged (Linux and Android's
    TCP_INFO); None where the kernel does not say."""
    option = getattr(socket, "TCP_INFO", None)
    if option is None:
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, option, 104)
    except (OSError, ValueError):
        return None
    if len(info) < _TCPI_UNACKED_OFFSET + 4:
        return None
    return int(struct.unpack_from("I", info, _TCPI_UNACKED_OFFSET)[0])


def tls_wrap(sock: socket.socket, server_hostname: str, *,
             context: ssl.SSLContext) -> ssl.SSLSocket:
    """A TLS socket over ``sock``, non-blocking and not yet handshaken: drive it
    with :func:`handshake_step` (several can then share one wait)."""
    sock.setblocking(False)
    return context.wrap_socket(sock, server_hostname=server_hostname or None,
                               do_handshake_on_connect=False)


def handshake_step(tls: ssl.SSLSocket) -> int:
    """One step of a non-blocking handshake: 0 when it is done, else the selector
    events (EVENT_READ / EVENT_WRITE) it waits for. Handshake errors propagate."""
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        return selectors.EVENT_READ
    except ssl.SSLWantWriteError:
        return selectors.EVENT_WRITE
    return 0


def tls_handshake(sock: socket.socket, server_hostname: str, *, context: ssl.SSLContext,
                  timeout: float, stall_s: float = STALL_S) -> tuple[ssl.SSLSocket, float]:
    """Wrap and handshake; returns the TLS socket and the handshake time.

    ``timeout`` bounds the whole handshake. Every byte that arrives is progress;
    ``stall_s`` without any is a stall (:class:`StallError`): a peer (or a path)
    that has gone silent, which waiting out ``timeout`` would not change.
    """
    t0 = time.perf_counter()
    end = t0 + max(0.001, timeout)
    tls = tls_wrap(sock, server_hostname, context=context)
    try:
        with selectors.DefaultSelector() as selector:
            _drive_handshake(tls, selector, end, stall_s)
    except BaseException:
        tls.close()
        raise
    tls.settimeout(max(0.001, timeout))
    return tls, time.perf_counter() - t0


def _drive_handshake(tls: ssl.SSLSocket, selector: selectors.BaseSelector, end: float,
                     stall_s: float) -> None:
    progress = time.perf_counter()
    registered = False
    while want := handshake_step(tls):
        now = time.perf_counter()
        give_up = min(end, progress + stall_s)
        if now >= give_up:
            if give_up < end:
                raise StallError("tls", stall_s, unacked_segments(tls))
            raise TimeoutError("TLS handshake not done before its deadline")
        if registered:
            selector.modify(tls, want)
        else:
            selector.register(tls, want)
            registered = True
        if selector.select(give_up - now):
            progress = time.perf_counter()


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
                  timeout: float, read_body: int = 0, headers: dict[str, str] | None = None,
                  stall_s: float = STALL_S) -> HttpResponse:
    """One HTTP/1.1 request on an open (TCP or TLS) socket.

    ``read_body`` is how many body bytes to keep (the rest is not read: the
    connection is closed afterwards anyway). Everything is bounded by ``timeout``;
    ``stall_s`` with no byte of the answer (the first byte, or the next) is a
    stall (:class:`StallError`). A peer that dribbles is cut off at ``timeout``.
    """
    # The socket timeout bounds each read, so it is the stall; hard_deadline bounds the whole.
    sock.settimeout(max(0.001, min(timeout, stall_s)))
    lines = [f"{method} {target or '/'} HTTP/1.1", f"Host: {host}", f"User-Agent: {USER_AGENT}",
             "Accept: */*", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    with hard_deadline(sock, timeout) as fired:
        t0 = time.perf_counter()
        try:
            sock.sendall(request)
            response = http.client.HTTPResponse(sock, method=method)
            response.begin()
            ttfb = time.perf_counter() - t0
            body = _read_body(response, read_body if method != "HEAD" else 0)
        except TimeoutError as exc:
            if not fired.is_set() and stall_s < timeout:
                raise StallError("http", stall_s, unacked_segments(sock)) from exc
            raise
    if fired.is_set():
        # The deadline cut the answer short: http.client may have taken the EOF for
        # the end of a (truncated) status line or headers. That is no answer.
        raise TimeoutError(f"no complete answer within {timeout:.2f} s")
    header_list = list(response.getheaders())
    hdrs = {k.lower(): v for k, v in header_list}
    return HttpResponse(status=response.status, reason=response.reason or "", headers=hdrs,
                        ttfb_s=ttfb, body_bytes=len(body), body=body, header_list=header_list)


def _read_body(response: http.client.HTTPResponse, limit: int) -> bytes:
    if not limit:
        return b""
    try:
        return response.read(limit)
    except http.client.IncompleteRead as exc:
        return exc.partial


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
