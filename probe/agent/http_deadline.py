"""One deadline for a whole HTTP send, enforced on the sockets themselves.

requests' timeouts bound each connect and each single read, not the exchange:
a server that sends one byte a second keeps every read under its timeout for
ever, in the status line, the headers or the body. So every connection a send
opens is registered with its :class:`Deadline`, and when the deadline passes a
timer thread shuts the connection's socket down: whatever call is blocked on it
(sending the body, reading the headers or the body) returns at once.

Before a connection is registered it is still connecting, and the connect
timeout (never more than the time left) bounds that: CPython applies a socket
timeout to the whole TLS handshake, not to each of its reads. Name resolution
(getaddrinfo) takes no timeout and cannot be interrupted at all, so each
attempt runs in a worker thread (:meth:`Deadline.call`) that the sender stops
waiting for at the deadline; a connection the worker opens later is shut down
as soon as it is registered.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar, cast

T = TypeVar("T")
# After the deadline, how long the worker gets to notice its socket was shut down.
_GRACE_S = 0.5


class DeadlinePassed(Exception):
    """The deadline passed while the worker was still busy (in getaddrinfo, say)."""


class Deadline:
    """The end of one send (all its attempts); a context manager that arms the timer."""

    def __init__(self, deadline_s: float) -> None:
        self.end = time.monotonic() + max(0.0, deadline_s)
        self._lock = threading.Lock()
        self._connections: list[Any] = []
        self._fired = False
        self._timer = threading.Timer(max(0.0, deadline_s), self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._timer.cancel()

    @property
    def expired(self) -> bool:
        return self._fired or time.monotonic() >= self.end

    def left_s(self) -> float:
        return self.end - time.monotonic()

    def call(self, work: Callable[[], T]) -> T:
        """``work()``, or DeadlinePassed when it is still running at the deadline.

        An exception of ``work`` is raised here. A worker given up on finishes
        in the background (a daemon thread: it never holds up the exit).
        """
        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["value"] = work()
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                box["error"] = exc

        worker = threading.Thread(target=run, name="payprobe-http", daemon=True)
        worker.start()
        worker.join(max(0.0, self.left_s()) + _GRACE_S)
        if worker.is_alive():
            raise DeadlinePassed
        if "error" in box:
            raise box["error"]
        return cast(T, box["value"])

    def watch(self, connection: Any) -> None:
        """Shut ``connection`` down at the deadline (at once if it has passed)."""
        with self._lock:
            self._connections.append(connection)
            fired = self._fired
        if fired:
            _shut_down(connection)

    def _expire(self) -> None:
        with self._lock:
            self._fired = True
            connections = list(self._connections)
        for connection in connections:
            _shut_down(connection)


def _shut_down(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    try:
        # The plain socket's shutdown, also for an SSLSocket: its own would drop the TLS
        # object under a thread that is reading through it.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except (OSError, TypeError, ValueError):
        pass  # already closed: nothing left to interrupt


def transport(deadline: Deadline) -> Any:
    """A requests transport adapter whose every connection is watched by ``deadline``.

    The adapter alone, without a Session: a Session would read the environment
    (proxies, ~/.netrc, REQUESTS_CA_BUNDLE), merge its default headers and
    cookies, and walk redirects even when told not to follow them (it reads a
    redirect's whole body to do so). The sender decides all of that itself.
    """
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class WatchedHTTP(HTTPConnection):
        def connect(self) -> None:
            try:
                super().connect()
            finally:
                deadline.watch(self)

    class WatchedHTTPS(HTTPSConnection):
        def connect(self) -> None:
            try:
                super().connect()
            finally:
                deadline.watch(self)

    class PoolHTTP(HTTPConnectionPool):
        ConnectionCls = WatchedHTTP

    class PoolHTTPS(HTTPSConnectionPool):
        ConnectionCls = WatchedHTTPS

    class WatchedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": PoolHTTP, "https": PoolHTTPS}

    return WatchedAdapter(max_retries=0)
