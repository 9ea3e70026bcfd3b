"""proxy: proxies and VPNs between the device and the payment service.

A proxy or VPN app (Clash, v2rayNG, a corporate VPN...) is a common reason a
payment app fails while browsing works: payment SDKs pin certificates, refuse
to run through a proxy, or are geo-fenced. This check looks at proxy settings
(environment, system, PAC), local proxy listeners, VPN interfaces and routes,
and known client processes.

Privacy: a proxy URL can hold a user name and password. Only the scheme, the
port and "has credentials: yes/no" are kept; the host only when it is loopback.
The raw value never leaves :func:`describe_proxy_url`.
"""

from __future__ import annotations

import ipaddress
import os
import re
import struct
import subprocess
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

from payprobe import net
from payprobe.api import CheckContext, Finding, Outcome, parallel
from payprobe.sources import unreadable_reason

PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")

# The usual port of well-known local proxy clients (their default config).
KNOWN_PORTS: dict[int, str] = {
    7890: "Clash (mixed/HTTP port)",
    7891: "Clash (SOCKS port)",
    7897: "Clash Verge (mixed port)",
    9090: "Clash (controller API)",
    10808: "v2rayN/v2rayNG (SOCKS port)",
    10809: "v2rayN (HTTP port)",
    1080: "Shadowsocks or another SOCKS proxy",
    2080: "sing-box/NekoBox (mixed port)",
    8118: "Privoxy",
    8888: "tinyproxy, Charles or Fiddler",
    3128: "Squid",
    8080: "an HTTP proxy (mitmproxy, Burp...)",
    9050: "Tor (SOCKS port)",
}

VPN_CLIENTS = ("clash", "mihomo", "v2ray", "xray", "sing-box", "ss-local", "openvpn",
               "wireguard", "tailscaled", "warp-svc")

_VPN_IFACE = re.compile(r"^(tun|tap|wg|ppp|utun|ipsec|tailscale)", re.I)
# Kernel tunnels present on most Linux/Android systems that are not VPNs.
_NOT_VPN = re.compile(r"^(tunl0|sit\d*|ip6tnl\d*|ip6gre\d*|ip_vti\d*|v4-rmnet.*)$", re.I)

RTF_UP = 0x1
RTF_REJECT = 0x200


def is_vpn_interface(name: str) -> bool:
    return bool(_VPN_IFACE.match(name)) and not _NOT_VPN.match(name)


def _is_loopback_host(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ProxySetting:
    """A proxy setting with everything secret already dropped."""

    scheme: str
    has_credentials: bool
    port: int | None
    loopback_host: str | None     # only when the proxy is on this device
    valid: bool = True

    def data(self) -> dict[str, Any]:
        d: dict[str, Any] = {"scheme": self.scheme, "has_credentials": self.has_credentials,
                             "port": self.port, "loopback": self.loopback_host is not None}
        if self.loopback_host is not None:
            d["host"] = self.loopback_host
        if not self.valid:
            d["valid"] = False
        return d

    def words(self) -> str:
        where = (f"on this device ({self.loopback_host}:{self.port})" if self.loopback_host
                 else "on another host")
        creds = ", with a user name/password" if self.has_credentials else ""
        return f"{self.scheme} proxy {where}{creds}"


def describe_proxy_url(value: str) -> ProxySetting:
    """Parse a proxy URL ("http://u:p@h:3128", "h:3128", "socks5h://h") without keeping secrets."""
    text = value.strip()
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        scheme = (parts.scheme or "http").lower()
        has_credentials = parts.username is not None or parts.password is not None or "@" in parts.netloc
        host = parts.hostname or ""
        try:
            port = parts.port
        except ValueError:
            port = None
    except ValueError:
        # Unparseable: the only safe facts are whether it looks like it holds credentials.
        return ProxySetting(scheme="unknown", has_credentials="@" in text, port=None,
                            loopback_host=None, valid=False)
    loopback = host if host and _is_loopback_host(host) else None
    return ProxySetting(scheme=scheme, has_credentials=has_credentials, port=port,
                        loopback_host=loopback, valid=bool(host))


def parse_scutil_proxy(text: str) -> dict[str, str]:
    """`scutil --proxy` prints "<dictionary> { Key : Value ... }"; flat keys are enough."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition(" : ")
        if sep and key and not key.isdigit():
            out[key.strip()] = value.strip()
    return out


def parse_proc_route(text: str) -> set[str]:
    """Interfaces holding an IPv4 default route in /proc/net/route.

    Two /1 routes on one interface (0.0.0.0/1 and 128.0.0.0/1) count as a
    default route: they win over it by being more specific, which is how
    OpenVPN's redirect-gateway def1 and many VPN apps take all traffic while
    leaving the original default route in place.
    """
    ifaces: set[str] = set()
    halves: dict[str, set[int]] = {}
    for line in text.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 8:
            continue
        try:
            dest, flags, mask = int(cols[1], 16), int(cols[3], 16), int(cols[7], 16)
        except ValueError:
            continue
        if not flags & RTF_UP or flags & RTF_REJECT:
            continue
        # The kernel prints addresses in host byte order: back to network order.
        dest_n, mask_n = _host_to_net(dest), _host_to_net(mask)
        if mask_n == 0 and dest_n == 0:
            ifaces.add(cols[0])
        elif mask_n == 0x80000000 and dest_n in (0, 0x80000000):
            halves.setdefault(cols[0], set()).add(dest_n)
    ifaces |= {name for name, got in halves.items() if len(got) == 2}
    return ifaces


def _host_to_net(value: int) -> int:
    return int.from_bytes(struct.pack("=I", value & 0xFFFFFFFF), "big")


def parse_proc_ipv6_route(text: str) -> set[str]:
    """Interfaces holding an IPv6 default route in /proc/net/ipv6_route."""
    ifaces: set[str] = set()
    halves: dict[str, set[str]] = {}
    for line in text.splitlines():
        cols = line.split()
        if len(cols) < 10:
            continue
        try:
            prefix_len, flags = int(cols[1], 16), int(cols[8], 16)
        except ValueError:
            continue
        if not flags & RTF_UP or flags & RTF_REJECT or cols[9] == "lo":
            continue
        if set(cols[0]) == {"0"} and prefix_len == 0:
            ifaces.add(cols[9])
        elif prefix_len == 1 and cols[0][:1] in ("0", "8") and set(cols[0][1:]) == {"0"}:
            halves.setdefault(cols[9], set()).add(cols[0][:1])    # ::/1 and 8000::/1
    ifaces |= {name for name, got in halves.items() if len(got) == 2}
    return ifaces


def _unreadable(exc: BaseException) -> str:
    return unreadable_reason(exc) or type(exc).__name__


class ProxyCheck:
    name: ClassVar[str] = "proxy"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = "proxy settings, local proxy listeners, VPN interfaces and clients"
    timeout_s: ClassVar[float] = 6.0

    def run(self, ctx: CheckContext) -> Outcome:
        out = Outcome()
        sources: dict[str, str] = {}
        platform = getattr(ctx.host, "platform", "")

        self._env(out, sources)
        self._system(ctx, out, sources, platform)
        clients = self._processes(out, sources)
        self._listeners(ctx, out, sources, clients)
        self._vpn(ctx, out, sources, platform, clients)

        out.evidence.append({"what": "sources", "sources": sources})
        unread = sorted(k for k, v in sources.items() if v != "ok")
        if out.findings:
            out.summary = "; ".join(f.message for f in out.findings[:4])
            if len(out.findings) > 4:
                out.summary += f"; and {len(out.findings) - 4} more"
        else:
            out.summary = "no proxy or VPN found on this device"
            if clients:
                out.summary += f" (but proxy/VPN client processes run: {', '.join(clients)})"
        if platform == "android" or getattr(ctx.host, "termux", False):
            out.summary += ("; note: on Android a per-app VPN or a Wi-Fi proxy can apply to the "
                            "payment app and not to Termux, so they may be invisible from here")
        if unread:
            out.summary += f" (not readable here: {', '.join(unread)})"
        return out

    # ---------------------------------------------------------- settings

    def _env(self, out: Outcome, sources: dict[str, str]) -> None:
        for var, raw in sorted(os.environ.items()):
            low = var.lower()
            if not raw.strip():
                continue
            if low == "no_proxy":
                # Host names people exempt can be internal names: keep only how many.
                out.evidence.append({"what": "no_proxy", "variable": var,
                                     "entries": len([e for e in raw.split(",") if e.strip()])})
                continue
            if low in PROXY_VARS:
                setting = describe_proxy_url(raw)
                out.findings.append(Finding(
                    "proxy.env", "warn",
                    f"{var} is set: apps started from this shell use a {setting.words()}",
                    target=var, data=setting.data()))
            elif "pac" in low.split("_") or "wpad" in low or raw.strip().lower().endswith(".pac"):
                if raw.strip().lower().startswith(("http://", "https://", "file://")):
                        self._pac(out, f"env:{var}", raw)
        sources["env"] = "ok"

    def _pac(self, out: Outcome, source: str, url: str) -> None:
        setting = describe_proxy_url(url)
        out.findings.append(Finding(
            "proxy.system", "warn",
            f"a proxy auto-config (PAC) file is set ({source}): traffic may go through a proxy it picks",
            target="pac", data={**setting.data(), "kind": "pac", "source": source}))

    def _system(self, ctx: CheckContext, out: Outcome, sources: dict[str, str], platform: str) -> None:
        import urllib.request
        try:
            every = urllib.request.getproxies()
            from_env = urllib.request.getproxies_environment()
        except Exception as exc:  # noqa: BLE001 - a broken registry/SystemConfiguration
            sources["system"] = f"skipped: {_unreadable(exc)}"
            every, from_env = {}, {}
        else:
            sources["system"] = "ok"
        for scheme, value in sorted(every.items()):
            # On Linux getproxies() is the environment again: report only what is not.
            if scheme == "no" or from_env.get(scheme) == value:
                continue
            setting = describe_proxy_url(value)
            out.findings.append(Finding(
                "proxy.system", "warn",
                f"the system proxy setting sends {scheme} traffic to a {setting.words()}",
                target="system", data={**setting.data(), "for": scheme, "source": "system"}))
        if platform == "darwin":
            self._scutil(ctx, out, sources)

    def _scutil(self, ctx: CheckContext, out: Outcome, sources: dict[str, str]) -> None:
        try:
            proc = subprocess.run(["scutil", "--proxy"], capture_output=True, text=True,
                                  timeout=ctx.timeout(3.0), check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            sources["scutil"] = f"skipped: {_unreadable(exc)}"
            return
        sources["scutil"] = "ok"
        keys = parse_scutil_proxy(proc.stdout)
        for kind in ("HTTP", "HTTPS", "SOCKS"):
            if keys.get(f"{kind}Enable") == "1":
                host = keys.get(f"{kind}Proxy", "")
                port = keys.get(f"{kind}Port", "")
                setting = describe_proxy_url(f"{kind.lower()}://{host}:{port}" if port.isdigit()
                                             else f"{kind.lower()}://{host}")
                out.findings.append(Finding(
                    "proxy.system", "warn",
                    f"macOS network settings use a {setting.words()} for {kind}",
                    target="scutil", data={**setting.data(), "for": kind.lower(), "source": "scutil"}))
        if keys.get("ProxyAutoConfigEnable") == "1" and keys.get("ProxyAutoConfigURLString"):
            self._pac(out, "scutil", keys["ProxyAutoConfigURLString"])
        if keys.get("ProxyAutoDiscoveryEnable") == "1":
            out.evidence.append({"what": "wpad", "enabled": True, "source": "scutil"})

    # ---------------------------------------------------------- listeners

    def _listeners(self, ctx: CheckContext, out: Outcome, sources: dict[str, str],
                   clients: list[str]) -> None:
        ports = [int(p) for p in ctx.config.local_ports]
        if not ports:
            sources["listeners"] = "skipped: proxy.local_ports is empty"
            return
        cap = float(ctx.config.connect_timeout_s)

        def probe_port(port: int) -> bool:
            sock, _ = net.connect("127.0.0.1", port, timeout=ctx.timeout(cap))
            sock.close()
            return True

        results = parallel(probe_port, ports, ctx, max_workers=16)
        sources["listeners"] = "ok"
        for port, res in zip(ports, results, strict=True):
            if res is not True:
                continue
            client = KNOWN_PORTS.get(port)
            what = f", the usual port of {client}" if client else ""
            out.findings.append(Finding(
                "proxy.local_listener", "warn",
                f"something listens on 127.0.0.1:{port}{what}: a proxy app may be running",
                target=f"127.0.0.1:{port}",
                data={"port": port, "client": client, "processes": clients}))

    # ---------------------------------------------------------- VPN

    def _interfaces(self, sources: dict[str, str]) -> dict[str, bool] | None:
        """Interface name -> up, from psutil, else /sys/class/net."""
        try:
            import psutil
            stats = psutil.net_if_stats()
            sources["interfaces"] = "ok"
            return {name: bool(s.isup) for name, s in stats.items()}
        except ImportError:
            pass
        except Exception as exc:  # noqa: BLE001 - AccessDenied/PermissionError on Android
            sources["interfaces"] = f"skipped: {_unreadable(exc)}"
        try:
            names = os.listdir("/sys/class/net")
        except OSError as exc:
            sources.setdefault("interfaces", f"skipped: {_unreadable(exc)}")
            return None
        found: dict[str, bool] = {}
        for name in names:
            try:
                with open(f"/sys/class/net/{name}/flags") as fh:
                    found[name] = bool(int(fh.read().strip(), 16) & 0x1)
            except (OSError, ValueError):
                found[name] = True   # present but unreadable: assume up, say so in evidence
        sources["interfaces"] = "ok"
        return found

    def _default_route_ifaces(self, ctx: CheckContext, sources: dict[str, str],
                              platform: str) -> set[str] | None:
        if platform == "darwin":
            found: set[str] = set()
            for family in ([], ["-inet6"]):
                try:
                    proc = subprocess.run(["route", "-n", "get", *family, "default"],
                                          capture_output=True, text=True,
                                          timeout=ctx.timeout(2.0), check=False)
                except (OSError, subprocess.TimeoutExpired) as exc:
                    sources["routes"] = f"skipped: {_unreadable(exc)}"
                    return None
                for line in proc.stdout.splitlines():
                    key, _, value = line.strip().partition(":")
                    if key.strip() == "interface" and value.strip():
                        found.add(value.strip())
            sources["routes"] = "ok"
            return found
        found = set()
        readable = False
        reasons = []
        for path, parse in (("/proc/net/route", parse_proc_route),
                            ("/proc/net/ipv6_route", parse_proc_ipv6_route)):
            try:
                with open(path) as fh:
                    found |= parse(fh.read())
                readable = True
            except OSError as exc:
                reasons.append(f"{path} {_unreadable(exc)}")
        if not readable:
            sources["routes"] = "skipped: " + "; ".join(reasons)
            return None
        sources["routes"] = "ok"
        return found

    def _vpn(self, ctx: CheckContext, out: Outcome, sources: dict[str, str], platform: str,
             clients: list[str]) -> None:
        interfaces = self._interfaces(sources)
        routes = self._default_route_ifaces(ctx, sources, platform)
        if interfaces is None:
            return
        vpn_up = sorted(n for n, up in interfaces.items() if up and is_vpn_interface(n))
        out.evidence.append({"what": "vpn_interfaces", "up": vpn_up,
                             "default_route": sorted(routes) if routes is not None else None})
        for name in vpn_up:
            via_default = routes is not None and name in routes
            if platform == "darwin" and not via_default:
                continue   # macOS keeps utun interfaces for iCloud/Continuity without any VPN
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

    def _processes(self, out: Outcome, sources: dict[str, str]) -> list[str]:
        try:
            import psutil
        except ImportError:
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
                            or (client in ("clash", "mihomo", "v2ray", "xray") and name.startswith(client)):
                        found.add(client)
        except Exception as exc:  # noqa: BLE001 - AccessDenied on Android
            sources["processes"] = f"skipped: {_unreadable(exc)}"
            return []
        sources["processes"] = "ok"
        clients = sorted(found)
        out.evidence.append({"what": "vpn_processes", "clients": clients})
        return clients
