"""bandwidth: the bounds on one test, in bytes and in time.

==================  ====================================================
``Stop``            speedtest-cli's shutdown event: the byte cap, the
                    deadline or a cancel
``Meter``           bytes read through the opener; the phase's own rate
``MeteredOpener``   the opener speedtest-cli is given, counting every read
``Reaper``          shuts every socket shortly before the deadline
==================  ====================================================
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from payprobe.api import CheckContext
from payprobe.settings import BandwidthConfig

# The stop event reports set this long before the check's deadline.
STOP_MARGIN_S = 0.3
# The sockets are shut this long before the check's deadline, so the check
# still has time to say what happened.
REAP_MARGIN_S = 0.3
# Fewer seconds of reads than this are too few for a rate of our own.
MIN_WINDOW_S = 0.3


class Stop:
    """speedtest-cli's shutdown event: set by the byte cap, the deadline or a cancel."""

    def __init__(self, ctx: CheckContext[BandwidthConfig]) -> None:
        self.ctx = ctx
        self.phase = threading.Event()

    def isSet(self) -> bool:  # noqa: N802 - the name speedtest-cli calls
        return (self.phase.is_set() or self.ctx.cancelled.is_set()
                or time.monotonic() >= self.ctx.deadline - STOP_MARGIN_S)

    is_set = isSet

    def set(self) -> None:
        self.phase.set()


class Meter:
    """Counts bytes read through the opener; stops the phase at its cap."""

    def __init__(self, stop: Stop) -> None:
        self.stop = stop
        self.lock = threading.Lock()
        self.total = 0
        self.phase_bytes = 0
        self.phase_cap = float("inf")
        self.phase_end = float("inf")
        # Reads inside the phase's length: first read (time, bytes), last read time, bytes.
        self.first: tuple[float, int] | None = None
        self.last_t = 0.0
        self.window_bytes = 0

    def start_phase(self, cap: float, length_s: float = float("inf")) -> None:
        with self.lock:
            self.phase_bytes = 0
            self.phase_cap = cap
            self.phase_end = time.monotonic() + length_s
            self.first, self.last_t, self.window_bytes = None, 0.0, 0
        self.stop.phase.clear()

    def add(self, n: int) -> None:
        now = time.monotonic()
        with self.lock:
            self.total += n
            self.phase_bytes += n
            if n and now <= self.phase_end:
                if self.first is None:
                    self.first = (now, n)
                self.last_t = now
                self.window_bytes += n
            over = self.phase_bytes >= self.phase_cap
        if over:
            self.stop.set()

    def rate_bps(self) -> float | None:
        """Bits/s between the phase's first and last read within its length.

        speedtest-cli divides by the time until its last thread ended, which
        counts connection setup at the start and, at the end, threads blocked
        in a request that started just before the phase ended: on a slow link
        seconds in which nothing is counted. The bytes of the first read
        arrived before it, so they are left out.
        """
        with self.lock:
            if self.first is None or self.last_t - self.first[0] < MIN_WINDOW_S:
                return None
            return 8.0 * (self.window_bytes - self.first[1]) / (self.last_t - self.first[0])


class MeteredResponse:
    def __init__(self, inner: Any, meter: Meter) -> None:
        self._inner = inner
        self._meter = meter

    def read(self, *args: Any) -> bytes:
        data: bytes = self._inner.read(*args)
        self._meter.add(len(data))
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class MeteredOpener:
    def __init__(self, inner: Any, meter: Meter) -> None:
        self._inner = inner
        self._meter = meter

    def open(self, *args: Any, **kwargs: Any) -> Any:
        return MeteredResponse(self._inner.open(*args, **kwargs), self._meter)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class Reaper:
    """Shuts down every socket of the test shortly before the check's deadline.

    speedtest-cli gives each socket a per-read timeout, which a server that sends
    one byte at a time (slowloris headers, a body that never ends) never lets
    fire; shutting the sockets down is the only way to get the thread back.
    """

    def __init__(self, ctx: CheckContext[BandwidthConfig]) -> None:
        self.fired = threading.Event()
        self._socks: list[Any] = []
        self._lock = threading.Lock()
        delay = max(0.0, ctx.deadline - time.monotonic() - REAP_MARGIN_S)
        self._timer = threading.Timer(delay, self.fire)
        self._timer.daemon = True
        self._timer.start()

    def add(self, sock: Any) -> None:
        with self._lock:
            self._socks.append(sock)
        if self.fired.is_set():
            self._shut(sock)

    def fire(self) -> None:
        self.fired.set()
        with self._lock:
            socks = list(self._socks)
        for sock in socks:
            self._shut(sock)

    def cancel(self) -> None:
        self._timer.cancel()

    @staticmethod
    def _shut(sock: Any) -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
