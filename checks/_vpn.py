"""The proxy check's VPN half: VPN interfaces, who holds the default route, VPN client processes.

A VPN interface that is up and holds the default route carries all traffic; one
that is up without it may still carry some destinations. macOS keeps ``utun``
interfaces for iCloud and Continuity without any VPN, so there only the default
route counts. Every source is recorded in ``sources`` as "ok" or "skipped: why".
"""

from __future__ import annotations

import os
import re
import subprocess
from typing import Any

from payprobe.api import CheckContext, Finding, Outcome
from payprobe.checks._optional import load_psutil
from payprobe.checks._route import ROUTE_GET_CAP_S, route_get_interfaces
from payprobe.sources import (
    PROC_NET_IPV6_ROUTE,
    PROC_NET_ROUTE,
    ipv4_default_routes,
    ipv6_default_routes,
    why_unreadable,
)

VPN_CLIENTS = ("clash", "mihomo", "v2ray", "xray", "sing-box", "ss-local", "openvpn",
               "wireguard", "tailscaled", "warp-svc")
# Clients whose forks carry a suffix without a separator (clashx, xray-core...).
_PREFIX_CLIENTS = ("clash", "mihomo", "v2ray", "xray")

_VPN_IFACE = re.compile(r"^(tun|tap|wg|ppp|utun|ipsec|tailscale)", re.I)
# Kernel tunnels present on most Linux/Android systems that are not VPNs.
_NOT_VPN = re.compile(r"^(tunl0|sit\d*|ip6tnl\d*|ip6gre\d*|ip_vti\d*|v4-rmnet.*)$", re.I)
IFF_UP = 0x1


def is_vpn_interface(name: str) -> bool:
    return bool(_VPN_IFACE.match(name)) and not _NOT_VPN.match(name)


def interface_states(sources: dict[str, str]) -> dict[str, bool] | None:
    """Interface name -> up, from psutil, else /sys/class/net."""
    psutil = load_psutil()
    if psutil is not None:
        try:
            stats = psutil.net_if_stats()
        except Exception as exc:  # noqa: BLE001 - AccessDenied/PermissionError on Android
            sources["interfaces"] = f"skipped: {why_unreadable(exc)}"
        else:
            sources["interfaces"] = "ok"
            return {name: bool(s.isup) for name, s in stats.items()}
    try:
        names = os.listdir("/sys/class/net")
    except OSError as exc:
        sources.setdefault("interfaces", f"skipped: {why_unreadable(exc)}")
        return None
    found: dict[str, bool] = {}
    for name in names:
        try:
            with open(f"/sys/class/net/{name}/flags") as fh:
                found[name] = bool(int(fh.read().strip(), 16) & IFF_UP)
        except (OSError, ValueError):
            found[name] = True   # present but unreadable: assume up, say so in evidence
    sources["interfaces"] = "ok"
    return found


def default_route_interfaces(ctx: CheckContext[Any], sources: dict[str, str],
                             platform: str) -> set[str] | None:
    """Interfaces holding an IPv4 or IPv6 default route (None: the tables are unreadable)."""
    found: set[str] = set()
    if platform == "darwin":
        for ipv6 in (False, True):
            try:
                found |= set(route_get_interfaces(ctx.timeout(ROUTE_GET_CAP_S), ipv6=ipv6))
            except (OSError, subprocess.TimeoutExpired) as exc:
                sources["routes"] = f"skipped: {why_unreadable(exc)}"
                return None
        sources["routes"] = "ok"
        return found
    readable = False
    reasons = []
    for path, read in ((PROC_NET_ROUTE, ipv4_default_routes),
                       (PROC_NET_IPV6_ROUTE, ipv6_default_routes)):
        try:
            found |= set(read(path))
            readable = True
        except OSError as exc:
            reasons.append(f"{path} {why_unreadable(exc)}")
    if not readable:
        sources["routes"] = "skipped: " + "; ".join(reasons)
        return None
    sources["routes"] = "ok"
    return found


def client_processes(out: Outcome, sources: dict[str, str]) -> list[str]:
    """Known proxy/VPN clients running here (empty where processes are unreadable)."""
    psutil = load_psutil()
    if psutil is None:
        sources["processes"] = "skipped: psutil is not installed"
        return []
    found: set[str] = set()
    try:
        for proc in psutil.process_iter(["name"]):
            name = (proc.info.get("name") or "").lower()
            if not name:
                continue
            for client in VPN_CLIENTS:
                if name == client or name.startswith((client + "-", client + "_", client + ".")) \
                        or (client in _PREFIX_CLIENTS and name.startswith(client)):
                    found.add(client)
    except Exception as exc:  # noqa: BLE001 - AccessDenied on Android
        sources["processes"] = f"skipped: {why_unreadable(exc)}"
        return []
    sources["processes"] = "ok"
    clients = sorted(found)
    out.evidence.append({"what": "vpn_processes", "clients": clients})
    return clients


def report_vpn(out: Outcome, interfaces: dict[str, bool], routes: set[str] | None,
               platform: str, clients: list[str]) -> None:
    """A ``vpn.interface`` finding per VPN interface that is up (see the module doc)."""
    vpn_up = sorted(n for n, up in interfaces.items() if up and is_vpn_interface(n))
    out.evidence.append({"what": "vpn_interfaces", "up": vpn_up,
                         "default_route": sorted(routes) if routes is not None else None})
    for name in vpn_up:
        via_default = routes is not None and name in routes
        if platform == "darwin" and not via_default:
            continue
        if via_default:
            message = f"a VPN is on: the default route goes through {name}"
        elif routes is None:
            message = f"VPN interface {name} is up (the routing table is not readable here)"
        else:
            message = (f"VPN interface {name} is up (not the default route: it may still carry "
                       "some destinations)")
        out.findings.append(Finding(
            "vpn.interface", "warn", message, target=name,
            data={"default_route": via_default, "routes_readable": routes is not None,
                  "clients": clients}))
