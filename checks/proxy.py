"""proxy: proxies and VPNs between the device and the payment service.

A proxy or VPN app (Clash, v2rayNG, a corporate VPN...) is a common reason a
payment app fails while browsing works: payment SDKs pin certificates, refuse
to run through a proxy, or are geo-fenced. This check looks at proxy settings
(environment, system, PAC) and local proxy listeners here, and VPN interfaces,
routes and known client processes in its VPN half, :mod:`payprobe.checks._vpn`.

Privacy: a proxy URL can hold a user name and password. Only the scheme, the
port and "has credentials: yes/no" are kept; the host only when it is loopback.
The raw value never leaves :func:`describe_proxy_url`.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

from payprobe import net
from payprobe.api import CheckContext, Finding, Outcome, parallel
from payprobe.checks import _vpn
from payprobe.settings import ProxyConfig
from payprobe.sources import why_unreadable

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


class ProxyCheck:
    name: ClassVar[str] = "proxy"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = "proxy settings, local proxy listeners, VPN interfaces and clients"
    timeout_s: ClassVar[float] = 6.0

    def run(self, ctx: CheckContext[ProxyConfig]) -> Outcome:
        out = Outcome()
        sources: dict[str, str] = {}
        platform = getattr(ctx.host, "platform", "")

        self._env(out, sources)
        self._system(ctx, out, sources, platform)
        clients = _vpn.client_processes(out, sources)
        self._listeners(ctx, out, sources, clients)
        self._vpn_interfaces(ctx, out, sources, platform, clients)

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

    def _system(self, ctx: CheckContext[ProxyConfig], out: Outcome, sources: dict[str, str],
                platform: str) -> None:
        import urllib.request
        try:
            every = urllib.request.getproxies()
            from_env = urllib.request.getproxies_environment()
        except Exception as exc:  # noqa: BLE001 - a broken registry/SystemConfiguration
            sources["system"] = f"skipped: {why_unreadable(exc)}"
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

    def _scutil(self, ctx: CheckContext[ProxyConfig], out: Outcome, sources: dict[str, str]) -> None:
        try:
            proc = subprocess.run(["scutil", "--proxy"], capture_output=True, text=True,
                                  timeout=ctx.timeout(3.0), check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            sources["scutil"] = f"skipped: {why_unreadable(exc)}"
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

    def _listeners(self, ctx: CheckContext[ProxyConfig], out: Outcome, sources: dict[str, str],
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

    def _vpn_interfaces(self, ctx: CheckContext[ProxyConfig], out: Outcome,
                        sources: dict[str, str], platform: str, clients: list[str]) -> None:
        interfaces = _vpn.interface_states(sources)
        routes = _vpn.default_route_interfaces(ctx, sources, platform)
        if interfaces is not None:
            _vpn.report_vpn(out, interfaces, routes, platform, clients)
