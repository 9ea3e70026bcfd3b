"""A path that drops large packets (a PMTU black hole), told from a stalled server.

Where a link on the path has a smaller MTU (PPPoE, a tunnel) and the ICMP
"fragmentation needed" / "packet too big" that would say so is filtered, small
packets pass and TCP connects, but the server's first full-size segment (its
certificate) never arrives: the TLS handshake stalls, exactly as it does with
a server that accepts and never answers.

So when a handshake has had no answer for :data:`HEDGE_AFTER_S`, a second
connection is opened beside it whose SYN advertises a small MSS (TCP_MAXSEG):
the server then sends only small segments. If that handshake completes while
the usual one goes on to stall, the path drops large packets
(:class:`MtuBlackhole`, ``net.mtu_blackhole``); if it stays silent too, the
server stalled. The retry runs beside the stalling handshake, not after it,
so the verdict still comes at the stall (:data:`payprobe.net.STALL_S`).

The small handshake is unverified (the capture context): it answers "does the
server answer small segments" and records what it presented; it never
replaces the verified handshake an app makes.
"""

from __future__ import annotations

import errno
import selectors
import socket
import ssl
import time
from dataclasses import dataclass

from payprobe import net

# The MSS every host must accept, so the smallest a working path can need:
# IPv4's 576-byte minimum datagram (RFC 1122, RFC 879) less 40 bytes of
# headers, and IPv6's 1280-byte minimum link MTU (RFC 8200) less 60. A path
# that drops even these is not an MTU problem, and a smaller MSS would only
# multiply the segments of the certificate flight.
SMALL_MSS = {net.IPV4: 536, net.IPV6: 1220}
# No byte of the server's answer for this long starts the small-MSS handshake
# beside the usual one. It is TCP's initial retransmission timeout (RFC 6298,
# 1 s): a healthy server has answered a ClientHello well within it unless the
# round trip itself nears a second, and then the extra connection is merely
# closed when the usual handshake completes.
HEDGE_AFTER_S = 1.0
_IN_PROGRESS = {errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN, errno.EALREADY}


def can_hedge() -> bool:
    """TCP_MAXSEG exists here (Linux, Android, macOS; not Windows)."""
    return hasattr(socket, "TCP_MAXSEG")


class MtuBlackhole(net.StallError):
    """The usual handshake stalled while one with a small MSS went through.

    ``session`` is that small-MSS TLS session (the caller reads and closes it).
    """

    def __init__(self, stall: net.StallError, session: ssl.SSLSocket, mss: int,
                 handshake_s: float) -> None:
        super().__init__(stall.phase, stall.stall_s)
        self.session = session
        self.mss = mss
        self.handshake_s = handshake_s


@dataclass
class _Hedge:
    """The small-MSS connection: connecting, then handshaking, then done."""

    sock: socket.socket
    mss: int
    started: float
    tls: ssl.SSLSocket | None = None
    done_s: float | None = None     # its handshake time, once done


def handshake(sock: socket.socket, address: str, port: int, server_hostname: str, *,
              context: ssl.SSLContext, small_context: ssl.SSLContext, timeout: float,
              stall_s: float = net.STALL_S) -> tuple[ssl.SSLSocket, float]:
    """:func:`payprobe.net.tls_handshake`, with the small-MSS handshake beside it.

    Returns the usual handshake's socket and time; raises what it raised, or
    :class:`MtuBlackhole` when it stalled and the small-MSS one completed.
    """
    race = _Race(address, port, server_hostname, small_context, stall_s)
    t0 = time.perf_counter()
    tls = net.tls_wrap(sock, server_hostname, context=context)
    try:
        race.run(tls, t0 + max(0.001, timeout))
    except BaseException:
        tls.close()
        raise
    finally:
        race.close()
    tls.settimeout(max(0.001, timeout))
    return tls, time.perf_counter() - t0


class _Race:
    """One selector over the usual handshake and, once it has been silent, the hedge."""

    def __init__(self, address: str, port: int, server_hostname: str,
                 small_context: ssl.SSLContext, stall_s: float) -> None:
        self.address, self.port = address, port
        self.server_hostname = server_hostname
        self.small_context = small_context
        self.stall_s = stall_s
        self.selector = selectors.DefaultSelector()
        self.hedge: _Hedge | None = None
        self._hedge_want = selectors.EVENT_WRITE    # what the hedge waits for next
        self.tried = not can_hedge()

    def run(self, tls: ssl.SSLSocket, end: float) -> None:
        progress = time.perf_counter()
        while want := net.handshake_step(tls):
            self._step_hedge()
            now = time.perf_counter()
            give_up = min(end, progress + self.stall_s)
            if now >= give_up:
                self._give_up(tls, give_up < end)
            if not self.tried and now - progress >= HEDGE_AFTER_S:
                self._start_hedge()
            wait = give_up - now
            if not self.tried:
                wait = min(wait, progress + HEDGE_AFTER_S - now)
            self._watch(tls, want)
            for key, _ in self.selector.select(max(0.0, wait)):
                if key.fileobj is tls:
                    progress = time.perf_counter()

    def _give_up(self, tls: ssl.SSLSocket, stalled: bool) -> None:
        stall = net.StallError("tls", self.stall_s, net.unacked_segments(tls))
        hedge = self.hedge
        if hedge is not None and hedge.tls is not None and hedge.done_s is not None:
            self.hedge = None   # handed over: close() must not close it
            raise MtuBlackhole(stall, hedge.tls, hedge.mss, hedge.done_s)
        if stalled:
            raise stall
        raise TimeoutError("TLS handshake not done before its deadline")

    def _watch(self, tls: ssl.SSLSocket, want: int) -> None:
        self._register(tls, want)
        hedge = self.hedge
        if hedge is not None and hedge.done_s is None:
            self._register(hedge.tls or hedge.sock, self._hedge_want)

    def _register(self, sock: socket.socket, events: int) -> None:
        try:
            self.selector.modify(sock, events)
        except KeyError:
            self.selector.register(sock, events)

    def _start_hedge(self) -> None:
        self.tried = True
        family = net.ip_family(self.address)
        sock = socket.socket(socket.AF_INET6 if family == net.IPV6 else socket.AF_INET,
                             socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, SMALL_MSS[family])
            sock.setblocking(False)
            err = sock.connect_ex((self.address, self.port))
        except OSError:
            sock.close()
            return
        if err not in _IN_PROGRESS and err != 0:
            sock.close()
            return
        self.hedge = _Hedge(sock, SMALL_MSS[family], time.perf_counter())
        self._hedge_want = selectors.EVENT_WRITE

    def _step_hedge(self) -> None:
        """Advance the hedge; a hedge that fails is dropped (the usual handshake decides)."""
        hedge = self.hedge
        if hedge is None or hedge.done_s is not None:
            return
        try:
            if hedge.tls is None:
                if hedge.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    raise OSError("small-MSS connect failed")
                try:
                    hedge.sock.getpeername()
                except OSError:
                    return   # still connecting
                self._forget(hedge.sock)
                hedge.tls = net.tls_wrap(hedge.sock, self.server_hostname,
                                         context=self.small_context)
            self._hedge_want = net.handshake_step(hedge.tls)
        except (OSError, ValueError):
            self._drop_hedge()
            return
        if not self._hedge_want:
            hedge.done_s = time.perf_counter() - hedge.started
            self._forget(hedge.tls)

    def _forget(self, sock: socket.socket) -> None:
        try:
            self.selector.unregister(sock)
        except (KeyError, ValueError):
            pass

    def _drop_hedge(self) -> None:
        hedge, self.hedge = self.hedge, None
        if hedge is not None:
            for sock in (hedge.tls, hedge.sock):
                if sock is not None:
                    self._forget(sock)
                    sock.close()

    def close(self) -> None:
        self._drop_hedge()
        self.selector.close()
