"""In-process servers on loopback for the unit tests, and the fixtures that start them.

Loaded as a pytest plugin by tests/conftest.py; import everything from
``tests.servers``. Nothing here touches a non-loopback address: payment names
reach these servers through a fake ``payprobe.net.resolve``
(:func:`fake_system_resolver`, :func:`install_loopback_dns`).

- streams.py: :class:`Server` (the machinery of all), :class:`StreamServer`
  (TCP/TLS, a *behaviour* per connection; hostile behaviours are in
  tests/faults/servers.py), :class:`HttpServer` (one status for every request,
  or silent, dripping, closing), :class:`CheckUrlServer` (the connectivity
  check's URLs), :func:`closed_port`, :func:`idle_listener`, and certificates
  (:func:`new_ca`, :func:`write_ca_file`, :func:`server_ctx`);
- resolvers.py: :class:`FakeDns`, :class:`DotServer`, :class:`DohServer`, and
  the fake system resolver.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.servers.resolvers import (
    DohServer,
    DotServer,
    FakeDns,
    fake_system_resolver,
    install_loopback_dns,
)
from tests.servers.streams import (
    READ_REQUEST_S,
    Behaviour,
    CheckUrlServer,
    HttpServer,
    Server,
    StreamServer,
    closed_port,
    datagrams,
    idle_listener,
    new_ca,
    server_ctx,
    write_ca_file,
)

__all__ = [
    "READ_REQUEST_S", "Behaviour", "CheckUrlServer", "DohServer", "DotServer", "FakeDns",
    "HttpServer", "Server", "StreamServer", "closed_port", "datagrams", "fake_system_resolver", "idle_listener",
    "install_loopback_dns", "new_ca", "server_ctx", "start", "stop_all", "write_ca_file",
]


# ---------------------------------------------------------------- fixtures


def start(servers: list[HttpServer], *args: Any, **kw: Any) -> HttpServer:
    """An :class:`HttpServer` that the ``servers`` fixture closes after the test."""
    s = HttpServer(*args, **kw)
    servers.append(s)
    return s


def stop_all(made: list[Any]) -> None:
    for s in made:
        s.close()


@pytest.fixture
def ca() -> trustme.CA:
    return new_ca()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    return write_ca_file(ca, tmp_path)


@pytest.fixture
def servers() -> Iterator[list[HttpServer]]:
    made: list[HttpServer] = []
    yield made
    stop_all(made)


@pytest.fixture
def loopback_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    return install_loopback_dns(monkeypatch)


@pytest.fixture
def dns_server() -> Iterator[Callable[..., FakeDns]]:
    """Start :class:`FakeDns` servers: ``dns_server({name: [addresses]}, mode=...)``."""
    made: list[FakeDns] = []

    def make(*args: Any, **kw: Any) -> FakeDns:
        s = FakeDns(*args, **kw)
        made.append(s)
        return s

    yield make
    stop_all(made)
