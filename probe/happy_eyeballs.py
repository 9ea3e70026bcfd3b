"""Happy Eyeballs (RFC 8305): connect to a name's addresses the way Android and
browsers do, so that a broken IPv6 path costs a delay, not the connection.

Re-exported by :mod:`payprobe.net`, which is where checks take it from. So are
:data:`STALL_S` and :class:`StallError`, which live here because this is the
lowest of the two modules: every wait in both ends at a stall.
"""

from __future__ import annotations

import errno
import os
import selectors
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from payprobe import classify as fc

# RFC 8305's "Connection Attempt Delay": the next address is tried when the one
# before has neither connected nor failed within this time (Android and Chrome: 250 ms).
HAPPY_EYEBALLS_DELAY_S = 0.25
IPV4, IPV6 = "ipv4", "ipv6"
# A connect, TLS handshake or wait for an answer that makes no progress (no
# SYN-ACK, no byte received) for this long is a stall, not a slow answer: it is
# given up and said so (issue 15). AOSP's NetworkMonitor gives its validation
# probes 3 s too, so a peer that is silent this long is one Android itself gives up on.
STALL_S = 3.0
_IN_PROGRESS = {errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN, errno.EALREADY}


def ip_family(address: str) -> str:
    """"ipv6" or "ipv4": the family of an address as :func:`resolve` returns it."""
    return IPV6 if ":" in address else IPV4


def interleave_families(addresses: Sequence[str]) -> list[str]:
    """RFC 8305 section 4: IPv6 first, then the families alternate, each in its own order."""
    v6 = [a for a in addresses if ip_family(a) == IPV6]
    v4 = [a for a in addresses if ip_family(a) == IPV4]
    ordered: list[str] = []
    for i in range(max(len(v6), len(v4))):
        ordered += v6[i:i + 1] + v4[i:i + 1]
    return ordered


class StallError(TimeoutError):
    """No progress for ``stall_s`` seconds in ``phase`` (connect, tls, http).

    A TimeoutError, so it classifies as ``generic_timeout`` (a stall is what a
    path that drops packets, or a peer that says nothing, looks like); callers
    that care tell it from a plain timeout (the phase's own budget) by its type.
    """

    def __init__(self, phase: str, stall_s: float, unacked: int | None = None) -> None:
        super().__init__(f"no progress in {phase} for {stall_s:g} s (a stall)")
        self.phase = phase
        self.stall_s = stall_s
        # Our segments the peer had not acknowledged when it stalled (None: unknown, as
        # off Linux). 0: the peer's TCP has all we sent and its side says nothing; more:
        # our packets are being lost on the way, which is what a lossy link does.
        self.unacked = unacked


@dataclass
class Attempt:
    """One connection attempt of a Happy Eyeballs connect (evidence; no address in it)."""

    ip_family: str
    started_s: float               # since the connect began
    why_started: str               # first | delay (the one before was still pending) | failure
    outcome: str = "pending"       # won | failed | abandoned (closed unfinished)
    connect_s: float | None = None  # its own connect time, when it connected
    failure: str | None = None     # classify() code, when it failed

    def to_dict(self) -> dict[str, Any]:
        return {"ip_family": self.ip_family, "started_s": round(self.started_s, 6),
                "why_started": self.why_started, "outcome": self.outcome,
                "connect_s": None if self.connect_s is None else round(self.connect_s, 6),
                "failure": self.failure}


@dataclass
class HappyConnect:
    """The winner of :func:`connect_happy` and how the race went."""

    sock: socket.socket
    address: str
    seconds: float                 # first attempt started -> winner connected: what an app waits
    attempts: list[Attempt]

    @property
    def ip_family(self) -> str:
        return ip_family(self.address)

    @property
    def connect_s(self) -> float:
        """The winning connection's own connect time (its SYN to its handshake's end)."""
        won = next(a for a in self.attempts if a.outcome == "won")
        return won.connect_s if won.connect_s is not None else self.seconds


def connect_happy(addresses: Sequence[str], port: int, *, timeout: float,
                  delay_s: float = HAPPY_EYEBALLS_DELAY_S,
                  attempts: list[Attempt] | None = None,
                  stall_s: float = STALL_S) -> HappyConnect:
    """Connect the way Android and browsers do (RFC 8305, Happy Eyeballs v2).

    IPv6 first; the next address (the families alternate) starts ``delay_s``
    later, or at once when the attempts before it have failed; the first to
    connect wins and every other attempt is closed. ``timeout`` bounds the whole
    race; an attempt left unanswered for ``stall_s`` has stalled and fails (the
    next one starts at once). When every attempt failed, the last failure is
    raised (what an app saw last: :class:`StallError` when it stalled); when
    time ran out first, TimeoutError. ``attempts``, when given, is filled with
    every attempt, so a caller has them when no attempt won too.
    """
    order = interleave_families(addresses)
    if not order:
        raise ValueError("no address to connect to")
    race = _Race(port, timeout, [] if attempts is None else attempts, stall_s)
    try:
        return race.run(order, delay_s)
    finally:
        race.close()


class _Race:
    """The state of one Happy Eyeballs connect: non-blocking sockets in a selector."""

    def __init__(self, port: int, timeout: float, attempts: list[Attempt],
                 stall_s: float = STALL_S) -> None:
        self.port = port
        self.stall_s = max(0.001, stall_s)
        self.t0 = time.perf_counter()
        self.end = self.t0 + max(0.001, timeout)
        self.timeout = timeout
        self.selector = selectors.DefaultSelector()
        self.pending: dict[socket.socket, tuple[str, Attempt, float]] = {}
        self.attempts = attempts
        self.errors: list[OSError] = []

    def run(self, order: list[str], delay_s: float) -> HappyConnect:
        queue = list(order)
        next_start, why = self.t0, "first"
        while True:
            now = time.perf_counter()
            if now >= self.end:
                raise TimeoutError(f"no connection within {self.timeout:.2f} s")
            if self._expire_stalled():
                # A stalled attempt has failed: the next one starts at once (section 5).
                next_start, why = now, "failure"
            if queue and (now >= next_start or not self.pending):
                won = self._start(queue.pop(0), why)
                if won is not None:
                    return won
                # An attempt that failed at once (no route) hands over at once.
                next_start, why = ((now, "failure") if self.attempts[-1].outcome == "failed"
                                   else (time.perf_counter() + delay_s, "delay"))
                continue
            if not self.pending:
                raise self.errors[-1]
            wait = min(self.end, self._next_stall()) - now
            if queue:
                wait = min(wait, next_start - now)
            for key, _ in self.selector.select(max(0.0, wait)):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err == 0:
                    return self._won(sock)
                self._failed(sock, OSError(err, os.strerror(err)))
                # RFC 8305 section 5: a failure starts the next attempt without waiting.
                next_start, why = time.perf_counter(), "failure"

    def _next_stall(self) -> float:
        """When the oldest pending attempt will have been unanswered for ``stall_s``."""
        return min((started + self.stall_s for _, _, started in self.pending.values()),
                   default=self.end)

    def _expire_stalled(self) -> bool:
        """Fail every attempt unanswered for ``stall_s``; whether any was."""
        now = time.perf_counter()
        stalled = [s for s, (_, _, started) in self.pending.items() if now - started >= self.stall_s]
        for sock in stalled:
            self._failed(sock, StallError("connect", self.stall_s))
        return bool(stalled)

    def _start(self, address: str, why: str) -> HappyConnect | None:
        started = time.perf_counter()
        attempt = Attempt(ip_family(address), started - self.t0, why)
        self.attempts.append(attempt)
        family = socket.AF_INET6 if attempt.ip_family == IPV6 else socket.AF_INET
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as exc:
            attempt.outcome, attempt.failure = "failed", fc.classify(exc)
            self.errors.append(exc)
            return None
        # TCP_NODELAY for the reason given in connect().
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        self.pending[sock] = (address, attempt, started)
        try:
            err = sock.connect_ex((address, self.port))
        except OSError as exc:
            self._failed(sock, exc)
            return None
        if err == 0:
            return self._won(sock)
        if err not in _IN_PROGRESS:
            self._failed(sock, OSError(err, os.strerror(err)))
            return None
        self.selector.register(sock, selectors.EVENT_WRITE)
        return None

    def _won(self, sock: socket.socket) -> HappyConnect:
        address, attempt, started = self.pending.pop(sock)
        now = time.perf_counter()
        attempt.outcome, attempt.connect_s = "won", now - started
        self._forget(sock)
        sock.setblocking(True)
        sock.settimeout(max(0.001, self.end - now))
        return HappyConnect(sock, address, now - self.t0, self.attempts)

    def _failed(self, sock: socket.socket, exc: OSError) -> None:
        _, attempt, _ = self.pending.pop(sock)
        attempt.outcome, attempt.failure = "failed", fc.classify(exc)
        self.errors.append(exc)
        self._forget(sock)
        sock.close()

    def _forget(self, sock: socket.socket) -> None:
        try:
            self.selector.unregister(sock)
        except (KeyError, ValueError):
            pass

    def close(self) -> None:
        """Close every attempt still open: the losers of a won race, or all at a timeout."""
        for sock, (_, attempt, _) in list(self.pending.items()):
            attempt.outcome = "abandoned"
            self._forget(sock)
            sock.close()
        self.pending.clear()
        self.selector.close()
