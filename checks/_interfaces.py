"""The connectivity check's view of the network interfaces (psutil).

What each interface is (a guess from its name), whether one is usable, whether
one has a global IPv6 address, and how its error and drop counters moved while
the check ran. Addresses decide "usable" and never leave this module: the
evidence says only ipv4/ipv6 yes/no.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from payprobe.api import Finding, Metric, Outcome
from payprobe.sources import SourceLog


def guess_type(name: str) -> str:
    """A guess at what an interface is, from its name (Linux, Android, macOS)."""
    n = name.lower()
    if n in ("lo", "lo0") or n.startswith("loopback"):
        return "loopback"
    if n.startswith(("tun", "tap", "wg", "ppp", "utun", "ipsec", "gpd", "nordlynx")):
        return "vpn"
    if n.startswith(("rmnet", "ccmni", "pdp_ip", "wwan", "ccinet", "seth_lte")):
        return "cellular"
    if n == "en0" and sys.platform == "darwin":
        return "wifi"
    if n.startswith(("wlan", "wlp", "wlx", "wifi", "ath", "swlan")):
        return "wifi"
    if n.startswith(("eth", "en")):
        return "ethernet"
    return "other"


@dataclass(frozen=True)
class InterfaceFacts:
    """What the interface list says; None where the sources could not tell."""

    usable: bool | None          # a non-loopback interface, not down, with an address
    global_ipv6: bool | None     # such an interface has a global unicast IPv6 address


def is_global_ipv6(address: str) -> bool:
    """A global unicast IPv6 address (not link-local, ULA, loopback or documentation)."""
    try:
        ip = ipaddress.IPv6Address(address.split("%", 1)[0])
    except ValueError:
        return False
    return ip.is_global and not ip.is_multicast


def list_interfaces(out: Outcome, src: SourceLog, psutil: ModuleType) -> InterfaceFacts:
    """Lists interfaces in the evidence; says whether one is usable and one has global IPv6."""
    addrs = src.read("interfaces", psutil.net_if_addrs)
    stats = src.read("interface_stats", psutil.net_if_stats)
    if addrs is None and stats is None:
        return InterfaceFacts(None, None)
    items = []
    usable = global_ipv6 = False
    for name in sorted(set(addrs or {}) | set(stats or {})):
        kind = guess_type(name)
        st = (stats or {}).get(name)
        up = bool(st.isup) if st is not None else None
        mtu = int(st.mtu) if st is not None and st.mtu else None
        ipv4 = ipv6 = global6 = False
        for a in (addrs or {}).get(name, []):
            if a.family == socket.AF_INET and not a.address.startswith("169.254."):
                ipv4 = True
            elif a.family == socket.AF_INET6 and not a.address.lower().startswith("fe80"):
                ipv6 = True
                global6 = global6 or is_global_ipv6(a.address)
        items.append({"interface": name, "type": kind, "up": up, "mtu_bytes": mtu,
                      "ipv4": ipv4, "ipv6": ipv6})
        if mtu is not None:
            out.metrics.append(Metric("interface_mtu_bytes", float(mtu), "bytes",
                                      {"interface": name}))
        # With only one of the two sources readable, judge by what we have.
        has_address = (ipv4 or ipv6) if addrs is not None else True
        if kind != "loopback" and up is not False:
            usable = usable or has_address
            global_ipv6 = global_ipv6 or global6
    out.evidence.append({"what": "interfaces", "interfaces": items})
    return InterfaceFacts(usable, global_ipv6 if addrs is not None else None)


class LinkWindow:
    """Error and drop counters read when the check starts and again when its work is done.

    The window is however long the check's own work took (check URLs,
    termux-api): a burst of errors during the run shows, and no fixed wait
    stretches the run.
    """

    def __init__(self, psutil: ModuleType, before: dict[str, Any], opened_s: float) -> None:
        self._psutil = psutil
        self.before = before
        self.opened_s = opened_s

    @classmethod
    def open(cls, src: SourceLog, psutil: ModuleType) -> LinkWindow | None:
        before = src.read("link_counters", lambda: psutil.net_io_counters(pernic=True))
        return cls(psutil, before, time.monotonic()) if before is not None else None

    def close(self, out: Outcome, src: SourceLog) -> None:
        after = src.read("link_counters", lambda: self._psutil.net_io_counters(pernic=True))
        if after is not None:
            record_link_deltas(out, self.before, after, time.monotonic() - self.opened_s)


def record_link_deltas(out: Outcome, before: dict[str, Any], after: dict[str, Any],
                       window_s: float) -> None:
    """A ``net.link_errors`` finding per interface whose counters grew (never lo)."""
    deltas = []
    for name, b in before.items():
        a = after.get(name)
        if a is None or guess_type(name) == "loopback":
            continue
        errors = max(0, (a.errin - b.errin) + (a.errout - b.errout))
        drops = max(0, (a.dropin - b.dropin) + (a.dropout - b.dropout))
        deltas.append({"interface": name, "errors": errors, "drops": drops})
        if errors or drops:
            out.findings.append(Finding(
                "net.link_errors", "warn",
                f"interface {name}: {errors} error(s) and {drops} drop(s) in {window_s:.2g} s",
                target=name, data={"errors": errors, "drops": drops}))
    out.evidence.append({"what": "link_counters", "window_s": round(window_s, 3),
                         "deltas": deltas})
