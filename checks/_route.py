"""Where the default route goes: the kernel's tables, macOS's ``route``, or a UDP probe.

Shared by the connectivity check (is there a route at all?) and the proxy
check (does a VPN interface hold it?). The /proc parsers are the plugin
surface's (:mod:`payprobe.sources`), used by the watch too.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from typing import Any

from payprobe import classify as fc
from payprobe.api import CheckContext
from payprobe.sources import ipv4_default_routes, ipv6_default_routes

# Route lookups for the UDP-connect probe: AliDNS, which a CN network routes.
# connect() on a UDP socket sends no packet; it only asks the kernel for a route.
ROUTE_PROBE_V4 = "223.5.5.5"
ROUTE_PROBE_V6 = "2400:3200::1"
ROUTE_GET_CAP_S = 2.0


def route_get_interfaces(timeout_s: float, *, ipv6: bool = False) -> list[str]:
    """macOS: the interface of the default route, from ``route -n get [-inet6] default``.

    Raises OSError or subprocess.TimeoutExpired when ``route`` cannot tell.
    """
    family = ["-inet6"] if ipv6 else []
    proc = subprocess.run(["route", "-n", "get", *family, "default"], capture_output=True,
                          text=True, timeout=timeout_s, check=False)
    found = []
    for line in proc.stdout.splitlines():
        key, _, value = line.strip().partition(":")
        if key.strip() == "interface" and value.strip():
            found.append(value.strip())
    return found


def udp_route_probe(address: str) -> bool:
    """True when the kernel has a route to ``address`` (connect() on UDP sends nothing)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect((address, 53))
        except OSError as exc:
            if fc.classify(exc) in (fc.NETWORK_UNREACHABLE, fc.HOST_UNREACHABLE,
                                    fc.ADDRESS_UNAVAILABLE):
                return False
            raise
    return True


def default_route(ctx: CheckContext[Any]) -> dict[str, Any]:
    """{"ipv4": bool, "ipv6": bool, "interfaces": [...], "method": ...}.

    Linux: /proc/net/route and ipv6_route (main table). macOS: ``route -n get default``.
    When those are unreadable or show no default (Android keeps its defaults in
    per-network tables that /proc/net/route does not show), a UDP connect() asks
    the kernel whether any route reaches a public resolver.
    """
    v4: list[str] = []
    v6: list[str] = []
    method = ""
    if sys.platform.startswith("linux"):
        try:
            v4 = ipv4_default_routes()
            method = "proc"
            v6 = ipv6_default_routes()
        except OSError:
            pass  # Android may deny /proc/net: fall back to the probe below
    elif sys.platform == "darwin" and shutil.which("route"):
        try:
            v4 = route_get_interfaces(ctx.timeout(ROUTE_GET_CAP_S))
            method = "route_get"
        except (OSError, subprocess.TimeoutExpired):
            pass
    if not v4 and not v6:
        has4 = udp_route_probe(ROUTE_PROBE_V4)
        has6 = _safe_probe(ROUTE_PROBE_V6)
        return {"ipv4": has4, "ipv6": has6, "interfaces": [], "method": "udp_connect"}
    return {"ipv4": bool(v4), "ipv6": bool(v6), "interfaces": sorted(set(v4 + v6)),
            "method": method}


def _safe_probe(address: str) -> bool:
    try:
        return udp_route_probe(address)
    except OSError:
        return False  # e.g. IPv6 disabled in this kernel: no IPv6 route
