"""The network lab: one isolated network namespace with real services and faults.

See tests/lab/README.md for the API with examples. Everything here needs root
on Linux; :func:`lab_unavailable_reason` says why the lab cannot run.

Layout of a lab (namespace ``pplab<pid>x<n>``):

- ``lo`` up; a veth pair with both ends inside the namespace, one end named
  ``wlan0`` with 192.0.2.10/24 and the default route via 192.0.2.1 (nobody
  answers there: nothing is routed out of the namespace).
- Services on loopback addresses (all of 127/8 is local on ``lo``), one range
  per kind so that a fault can target one service: see ``_RANGES``.
- ``/etc/netns/NAME/resolv.conf`` names the honest lab resolver, so
  ``socket.getaddrinfo`` inside the namespace goes through the lab DNS.

:class:`Lab` is only the composition; each service lives in its own module:

- namespace.py: the namespace, its processes, addresses, teardown (``LabCore``);
- resolvers.py: DNS servers and the system resolver;
- timeservice.py: NTP servers and "moving the world";
- web.py: TLS/HTTP servers and the speed test;
- proxies.py: the local proxy and the VPN;
- netfaults.py: delay, loss, drop, reject, rate limit, offline;
- phone.py: the Termux/Android emulation;
- runs.py: running payprobe in the lab, and its config.

The names other tests import from here (constants, :class:`Fault`,
:class:`Result`, the namespace sweep ...) stay importable from this module.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.lab.namespace import (
    _RANGES,
    CHECK_HOSTS,
    DATE_HOSTS,
    GATEWAY_ADDRESS,
    IPTABLES,
    NETNS_PREFIX,
    NTP_HOSTS,
    PAYMENT_HOSTS,
    REPO_ROOT,
    SPEEDTEST_HOSTS,
    START_TIMEOUT_S,
    UNREACHABLE_RESOLVER,
    WLAN_ADDRESS,
    Fault,
    LabCore,
    LabError,
    _pid_alive,
    cleanup_all_labs,
    lab_unavailable_reason,
    netns_names,
    netns_pids,
    stop_process,
    sweep_stale_namespaces,
)
from tests.lab.netfaults import FaultMixin
from tests.lab.phone import TERMUX_BATTERY, TERMUX_CELLINFO, TERMUX_TELEPHONY, TERMUX_WIFI, Phone, PhoneMixin
from tests.lab.proxies import Proxy, ProxyMixin
from tests.lab.resolvers import DnsMixin
from tests.lab.results import Result
from tests.lab.runs import RunMixin
from tests.lab.timeservice import ClockMixin
from tests.lab.web import WebMixin

__all__ = [
    "CHECK_HOSTS", "DATE_HOSTS", "GATEWAY_ADDRESS", "IPTABLES", "NETNS_PREFIX", "NTP_HOSTS",
    "PAYMENT_HOSTS", "REPO_ROOT", "SPEEDTEST_HOSTS", "START_TIMEOUT_S", "TERMUX_BATTERY",
    "TERMUX_CELLINFO", "TERMUX_TELEPHONY", "TERMUX_WIFI", "UNREACHABLE_RESOLVER", "WLAN_ADDRESS",
    "_RANGES", "Fault", "Lab", "LabError", "Phone", "Proxy", "Result", "_pid_alive",
    "cleanup_all_labs", "lab_unavailable_reason", "netns_names", "netns_pids", "running_lab",
    "stop_process", "sweep_stale_namespaces",
]


class Lab(DnsMixin, ClockMixin, WebMixin, ProxyMixin, FaultMixin, PhoneMixin, RunMixin, LabCore):
    """One network namespace with services; use as a context manager or call close()."""

    def __init__(self, base_dir: str | Path | None = None, *, services: bool = True) -> None:
        reason = lab_unavailable_reason()
        if reason:
            raise LabError(reason)
        self._init_core(base_dir)
        self._init_dns()
        self._init_clock()
        self._init_web()
        self._init_faults()
        self._init_phone()
        self.start_seconds = 0.0
        try:
            started = time.monotonic()
            self._create_namespace()
            if services:
                self._start_base_services()
            self.start_seconds = time.monotonic() - started
        except BaseException:
            self.close()
            raise

    def _start_base_services(self) -> None:
        """The healthy lab: web servers, NTP, then DNS (which answers their names).

        Everything is started at once and waited for afterwards.
        """
        waits = [self._start_base_web(), self._start_base_ntp(), self._start_base_dns()]
        for wait in waits:
            wait()

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Lab {self.name}>"


@contextlib.contextmanager
def running_lab(base_dir: str | Path | None = None, **kwargs: Any) -> Iterator[Lab]:
    lab = Lab(base_dir, **kwargs)
    try:
        yield lab
    finally:
        lab.close()
