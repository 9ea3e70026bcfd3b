"""Probes in flight: one poll() over many probe sockets, each with its own expiry.

Both phases of a trace (discovery and the paced rounds) send through a
:class:`ProbePool` and collect what came back. A probe whose socket could not
even send (no route for the family, ping sockets not allowed) comes back at
once as a ``local_error`` answer; a probe nobody answered comes back as None
when it expires. Every socket is closed when its probe ends.
"""

from __future__ import annotations

import errno
import select
import socket
import time
from collections.abc import Hashable
from dataclasses import dataclass

from payprobe.checks._trace import LOCAL_ERROR, Answer, open_probe, poll_mask, read_answer

# A phone's soft limit on open files is often 1024; a trace never needs this many at once.
MAX_OPEN = 256


@dataclass
class _Flight:
    key: Hashable
    sock: socket.socket
    destination: str
    sent_at: float
    expires_at: float


class ProbePool:
    """Sends probes and reports each one's end exactly once: an Answer, or None (lost)."""

    def __init__(self, method: str, *, max_open: int = MAX_OPEN) -> None:
        self.method = method
        self.max_open = max_open
        self._poll = select.poll()
        self._flights: dict[int, _Flight] = {}
        self._ready: list[tuple[Hashable, Answer | None]] = []

    def __len__(self) -> int:
        return len(self._flights)

    @property
    def full(self) -> bool:
        return len(self._flights) >= self.max_open

    def send(self, key: Hashable, destination: str, port: int, ttl: int, wait_s: float) -> float:
        """Send one probe; its end is reported by :meth:`collect`. Returns the send time."""
        sent_at = time.perf_counter()
        try:
            sock = open_probe(self.method, destination, port, ttl)
        except OSError as exc:
            code = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
            self._ready.append((key, Answer(LOCAL_ERROR, None, 0.0, code)))
            return sent_at
        flight = _Flight(key, sock, destination, sent_at, sent_at + max(0.001, wait_s))
        self._flights[sock.fileno()] = flight
        self._poll.register(sock, poll_mask(self.method))
        return sent_at

    def next_expiry(self) -> float | None:
        return min((f.expires_at for f in self._flights.values()), default=None)

    def collect(self, wait_s: float) -> list[tuple[Hashable, Answer | None]]:
        """Wait up to ``wait_s`` for answers; return every probe that ended since the last call."""
        if not self._ready and self._flights:
            for fd, _events in self._poll.poll(max(0.0, wait_s) * 1000.0):
                self._answered(fd)
        elif not self._ready and wait_s > 0:
            time.sleep(wait_s)
        self._expire(time.perf_counter())
        ended, self._ready = self._ready, []
        return ended

    def _answered(self, fd: int) -> None:
        flight = self._flights.get(fd)
        if flight is None:
            return
        answer = read_answer(flight.sock, self.method, flight.destination, flight.sent_at)
        if answer is not None:
            self._end(fd, answer)

    def _expire(self, now: float) -> None:
        for fd in [fd for fd, f in self._flights.items() if f.expires_at <= now]:
            self._end(fd, None)

    def _end(self, fd: int, answer: Answer | None) -> None:
        flight = self._flights.pop(fd)
        self._poll.unregister(fd)
        flight.sock.close()
        self._ready.append((flight.key, answer))

    def close(self) -> None:
        for fd in list(self._flights):
            flight = self._flights.pop(fd)
            self._poll.unregister(fd)
            flight.sock.close()
