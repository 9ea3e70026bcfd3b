"""connectivity: interfaces, default route, captive portal, link quality, radio signal.

Order of reasoning (the offline story): no usable interface -> ``net.offline``
(no_interface); no default route -> ``net.offline`` (no_route); a route but every
check URL fails with network_unreachable -> ``net.offline`` (all_unreachable).
The check URLs are fetched in every case, and one that answers overrides a
"no interface"/"no route" reading: on Android the main routing table is often
empty (policy routing), and the answer of a real server beats our guess.

Every source that cannot be read here (psutil AccessDenied on Android, a missing
termux-api command, a timeout) is listed as skipped with its reason in the
evidence; the check is ``skipped`` only when nothing at all could be read.

Addresses (IP, MAC) and SSID/BSSID never go into metrics, findings or the summary.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from typing import Any, ClassVar
from urllib.parse import urlsplit

from payprobe import classify as fc
from payprobe import net
from payprobe.api import CheckCancelled, CheckContext, Finding, Metric, Outcome, parallel
from payprobe.sources import SourceLog, unreadable_reason

# A check URL fetch may take this long at most (also capped by the deadline).
FETCH_CAP_S = 5.0
# A fetch gives up this long before the check's deadline, so a silent or
# blackholed check URL ends as its own timeout (reported as one) instead of
# still running when parallel() hands back "cancelled" at the deadline.
REPORT_MARGIN_S = 0.2
# Link counters are sampled again at least this long after the first sample, so
# a burst of errors has a chance to show, without spending the whole budget.
LINK_SAMPLE_MIN_S = 1.0
# Route lookups for the UDP-connect probe: AliDNS, which a CN network routes.
# connect() on a UDP socket sends no packet; it only asks the kernel for a route.
ROUTE_PROBE_V4 = "223.5.5.5"
ROUTE_PROBE_V6 = "2400:3200::1"
# termux-wifi-connectioninfo placeholders when the app lacks location permission.
UNKNOWN_SSID = "<unknown ssid>"
UNKNOWN_BSSID = "02:00:00:00:00:00"

RTF_UP = 0x0001
RTF_REJECT = 0x0200


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


# ---------------------------------------------------------------- routes


def parse_proc_route(text: str) -> list[str]:
    """Interfaces holding an IPv4 default route in /proc/net/route text."""
    out: list[str] = []
    for line in text.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 8:
            continue
        iface, dest, flags, mask = cols[0], cols[1], int(cols[3], 16), cols[7]
        if dest == "00000000" and mask == "00000000" and flags & RTF_UP and not flags & RTF_REJECT:
            out.append(iface)
    return out


def parse_proc_ipv6_route(text: str) -> list[str]:
    """Interfaces holding an IPv6 default route in /proc/net/ipv6_route text.

    The kernel keeps an "unreachable" default on lo (RTF_REJECT); that is not a route.
    """
    out: list[str] = []
    for line in text.splitlines():
        cols = line.split()
        if len(cols) < 10:
            continue
        dest, plen, flags, iface = cols[0], cols[1], int(cols[8], 16), cols[9]
        if (dest == "0" * 32 and plen == "00" and flags & RTF_UP and not flags & RTF_REJECT
                and iface != "lo"):
            out.append(iface)
    return out


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


def default_route(ctx: CheckContext) -> dict[str, Any]:
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
            with open("/proc/net/route", encoding="ascii") as fh:
                v4 = parse_proc_route(fh.read())
            method = "proc"
            with open("/proc/net/ipv6_route", encoding="ascii") as fh:
                v6 = parse_proc_ipv6_route(fh.read())
        except OSError:
            pass  # Android may deny /proc/net: fall back to the probe below
    elif sys.platform == "darwin" and shutil.which("route"):
        try:
            proc = subprocess.run(["route", "-n", "get", "default"], capture_output=True, text=True,
                                  timeout=ctx.timeout(2.0), check=False)
            for line in proc.stdout.splitlines():
                key, _, value = line.strip().partition(":")
                if key == "interface" and value.strip():
                    v4.append(value.strip())
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


# ---------------------------------------------------------------- termux-api


def run_termux_json(command: str, ctx: CheckContext) -> dict[str, Any]:
    """Run a termux-api command and parse its JSON; termux-api can take seconds."""
    if not shutil.which(command):
        raise FileNotFoundError(f"{command} not found (pkg install termux-api)")
    timeout = min(float(ctx.config.termux_api_timeout_s), ctx.timeout())
    proc = subprocess.run([command], capture_output=True, text=True, timeout=timeout, check=False,
                          env={**os.environ, "LC_ALL": "C"})
    data = json.loads(proc.stdout or "null")
    if not isinstance(data, dict):
        raise ValueError(f"{command}: expected a JSON object")
    return data


# ---------------------------------------------------------------- the check


class ConnectivityCheck:
    name: ClassVar[str] = "connectivity"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = ("interfaces, default route, captive portal, link errors, "
                                  "Wi-Fi/cellular signal")
    timeout_s: ClassVar[float] = 10.0

    def run(self, ctx: CheckContext) -> Outcome:
        try:
            import psutil
        except ImportError:
            psutil = None
        out = Outcome()
        src = SourceLog()
        t_start = time.monotonic()

        counters0 = None
        if psutil is not None:
            counters0 = src.read("link_counters", lambda: psutil.net_io_counters(pernic=True))
        else:
            src.state["interfaces"] = ("skipped: psutil is not installed "
                                       "(Termux: pkg install python-psutil)")

        usable = self._interfaces(out, src, psutil) if psutil is not None else None
        route = src.read("route", lambda: default_route(ctx))
        if route is not None:
            out.evidence.append({"what": "default_route", **route})

        # Check URLs and termux-api calls run concurrently: both may take seconds.
        urls = list(ctx.config.check_urls)
        termux = self._termux_sources(ctx)
        jobs: list[tuple[str, Any]] = [("url", u) for u in urls] + [("termux", c) for c in termux]

        def work(job: tuple[str, Any]) -> Any:
            kind, arg = job
            if kind == "url":
                return _captive_fetch(arg, ctx)
            return run_termux_json(arg, ctx)

        results = parallel(work, jobs, ctx) if jobs else []
        fetches = [(job[1], r) for job, r in zip(jobs, results, strict=True) if job[0] == "url"]
        termux_results = {job[1]: r for job, r in zip(jobs, results, strict=True)
                          if job[0] == "termux"}

        online = self._captive(ctx, out, src, fetches, usable, route)
        self._termux(ctx, out, src, termux_results)

        if counters0 is not None and psutil is not None:
            # Wait for the second sample only as long as the budget allows.
            wait_s = LINK_SAMPLE_MIN_S - (time.monotonic() - t_start)
            if wait_s > 0:
                try:
                    ctx.cancelled.wait(ctx.timeout(wait_s))
                except CheckCancelled:
                    pass
            counters1 = src.read("link_counters", lambda: psutil.net_io_counters(pernic=True))
            if counters1 is not None:
                self._link(out, counters0, counters1, time.monotonic() - t_start)

        if any(f.code == "net.offline" and f.severity == "fail" for f in out.findings):
            # Taking a link down drops what was in flight on it and its peer: those
            # counters move because we are offline, not because the link is noisy.
            # They stay in the evidence (link_counters).
            out.findings = [f for f in out.findings if f.code != "net.link_errors"]
        out.evidence.append({"what": "sources", "sources": dict(src.state)})
        if not src.readable():
            return Outcome.skipped("no network source is readable here: " + "; ".join(
                f"{k} {v}" for k, v in src.state.items()), evidence=out.evidence)
        out.summary = self._summary(out, online, src)
        return out

    # -- interfaces

    def _interfaces(self, out: Outcome, src: SourceLog, psutil: Any) -> bool | None:
        """Lists interfaces; returns whether one is usable (None: unknown)."""
        addrs = src.read("interfaces", psutil.net_if_addrs)
        stats = src.read("interface_stats", psutil.net_if_stats)
        if addrs is None and stats is None:
            return None
        names = sorted(set(addrs or {}) | set(stats or {}))
        items = []
        usable = False
        for name in names:
            kind = guess_type(name)
            st = (stats or {}).get(name)
            up = bool(st.isup) if st is not None else None
            mtu = int(st.mtu) if st is not None and st.mtu else None
            ipv4 = ipv6 = False
            for a in (addrs or {}).get(name, []):
                if a.family == socket.AF_INET and not a.address.startswith("169.254."):
                    ipv4 = True
                elif a.family == socket.AF_INET6 and not a.address.lower().startswith("fe80"):
                    ipv6 = True
            item = {"interface": name, "type": kind, "up": up, "mtu_bytes": mtu,
                    "ipv4": ipv4, "ipv6": ipv6}
            items.append(item)
            if mtu is not None:
                out.metrics.append(Metric("interface_mtu_bytes", float(mtu), "bytes",
                                          {"interface": name}))
            # With only one of the two sources readable, judge by what we have.
            has_address = (ipv4 or ipv6) if addrs is not None else True
            if kind != "loopback" and up is not False and has_address:
                usable = True
        out.evidence.append({"what": "interfaces", "interfaces": items})
        return usable

    # -- captive portal and internet

    def _captive(self, ctx: CheckContext, out: Outcome, src: SourceLog,
                 fetches: list[tuple[str, Any]], usable: bool | None,
                 route: dict[str, Any] | None) -> bool | None:
        online_urls: list[str] = []
        portals: list[tuple[str, int, str]] = []
        failures: dict[str, str] = {}
        for url, r in fetches:
            host = urlsplit(url).hostname or url
            if isinstance(r, BaseException):
                # parallel() hands back CheckCancelled for a fetch still running at the
                # deadline: from the user's side that URL timed out (not "cancelled",
                # which means the person stopped the run).
                failures[url] = (fc.GENERIC_TIMEOUT if isinstance(r, CheckCancelled)
                                 else fc.classify(r))
                out.evidence.append({"what": "check_url", "url": url, "ok": False,
                                     "failure": failures[url], "error": fc.describe(r)})
                continue
            status, location_host, body_bytes, seconds = r
            out.metrics.append(Metric("captive_check_seconds", round(seconds, 6), "s", {"url": url}))
            if status == 204 or (status == 200 and body_bytes == 0):
                online_urls.append(url)
                verdict = "online"
            elif 200 <= status < 400:
                portals.append((host, status, location_host))
                verdict = "portal"
            else:
                failures[url] = fc.HTTP_STATUS_5XX if status >= 500 else fc.HTTP_STATUS_4XX
                verdict = "http_error"
            out.evidence.append({"what": "check_url", "url": url, "ok": verdict == "online",
                                 "status": status, "verdict": verdict, "body_bytes": body_bytes,
                                 "portal_host": location_host})
        if fetches:
            src.state["check_urls"] = "ok"

        answered = bool(online_urls)
        if online_urls:
            internet: bool | None = True
        elif portals:
            host, status, portal_host = portals[0]
            internet = False
            out.findings.append(Finding(
                "net.captive_portal", "fail",
                f"a captive portal answers instead of the internet (HTTP {status}"
                + (f", redirects to {portal_host}" if portal_host else "") + "); "
                "open a browser and log in to the Wi-Fi",
                target=host, data={"status": status, "portal_host": portal_host or host}))
        elif fetches:
            internet = False
        else:
            internet = None  # nothing configured: unknown

        # The offline story, most specific reason first.
        offline_reason = None
        if not answered and not portals:
            if usable is False:
                offline_reason = "no_interface"
            elif route is not None and not route["ipv4"] and not route["ipv6"]:
                offline_reason = "no_route"
            elif fetches and len(failures) == len(fetches) and all(
                    code == fc.NETWORK_UNREACHABLE for code in failures.values()):
                offline_reason = "all_unreachable"
        if offline_reason is not None:
            internet = False
            text = {"no_interface": "no network interface is up with an address",
                    "no_route": "there is no default route: the device is not connected",
                    "all_unreachable": "every check URL is unreachable from this network"}
            out.findings.append(Finding("net.offline", "fail", f"offline: {text[offline_reason]}",
                                        target="", data={"reason": offline_reason}))
        elif internet is False and not portals:
            counts: dict[str, int] = {}
            for code in failures.values():
                counts[code] = counts.get(code, 0) + 1
            out.findings.append(Finding(
                "net.offline", "warn",
                "none of the connectivity check URLs answered ("
                + ", ".join(f"{k} x{v}" for k, v in sorted(counts.items())) + ")",
                target="", data={"reason": "all_failed", "failures": counts}))
        if internet is not None:
            out.evidence.append({"what": "internet", "ok": bool(internet)})
        return internet

    # -- termux-api

    @staticmethod
    def _termux_sources(ctx: CheckContext) -> list[str]:
        termux = bool(getattr(ctx.host, "termux", False))
        cmds = []
        for cmd in ("termux-wifi-connectioninfo", "termux-telephony-deviceinfo"):
            # On Termux a missing command is worth a "skipped" line (install termux-api);
            # elsewhere it simply does not apply.
            if termux or shutil.which(cmd):
                cmds.append(cmd)
        return cmds

    def _termux(self, ctx: CheckContext, out: Outcome, src: SourceLog,
                results: dict[str, Any]) -> None:
        for cmd, r in results.items():
            key = "wifi" if "wifi" in cmd else "telephony"
            if isinstance(r, BaseException):
                if isinstance(r, CheckCancelled):
                    src.state[key] = "skipped: deadline reached"
                    continue
                reason = unreadable_reason(r) or fc.describe(r)
                src.state[key] = f"skipped: {reason}"
                continue
            src.state[key] = "ok"
            if key == "wifi":
                self._wifi(ctx, out, r)
            else:
                out.evidence.append({
                    "what": "cellular", "network_type": r.get("network_type"),
                    "operator": r.get("network_operator_name"),
                    "data_state": r.get("data_state"), "roaming": r.get("network_roaming")})

    @staticmethod
    def _wifi(ctx: CheckContext, out: Outcome, info: dict[str, Any]) -> None:
        ssid = info.get("ssid")
        bssid = info.get("bssid")
        rssi = info.get("rssi")
        state = str(info.get("supplicant_state", "COMPLETED")).upper()
        # -127 is Android's "no signal" value when Wi-Fi is off or not associated.
        connected = state == "COMPLETED" and isinstance(rssi, (int, float)) and rssi > -127
        out.evidence.append({
            "what": "wifi", "connected": connected, "rssi_dbm": rssi,
            "link_speed_mbps": info.get("link_speed_mbps"), "frequency_mhz": info.get("frequency_mhz"),
            # Identifiers stay in the evidence only (the redactor scrubs them there).
            "ssid": ssid, "bssid": bssid,
            "location_permission": not (ssid == UNKNOWN_SSID or bssid == UNKNOWN_BSSID),
        })
        if not connected:
            return
        out.metrics.append(Metric("wifi_rssi_dbm", float(rssi), "dBm"))
        speed = info.get("link_speed_mbps")
        if isinstance(speed, (int, float)) and speed > 0:
            out.metrics.append(Metric("wifi_link_speed_bits_per_second", float(speed) * 1e6, "bit/s"))
        freq = info.get("frequency_mhz")
        if isinstance(freq, (int, float)) and freq > 0:
            out.metrics.append(Metric("wifi_frequency_hertz", float(freq) * 1e6, "Hz"))
        threshold = float(ctx.config.weak_signal_dbm)
        if rssi < threshold:
            out.findings.append(Finding(
                "net.weak_signal", "warn",
                f"weak Wi-Fi signal: {rssi:.0f} dBm (below {threshold:.0f} dBm); move closer to "
                "the router or switch to mobile data",
                target="wifi", data={"rssi_dbm": float(rssi), "threshold_dbm": threshold}))

    # -- link errors

    @staticmethod
    def _link(out: Outcome, before: dict[str, Any], after: dict[str, Any], seconds: float) -> None:
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
                    f"interface {name}: {errors} error(s) and {drops} drop(s) in {seconds:.1f} s",
                    target=name, data={"errors": errors, "drops": drops}))
        out.evidence.append({"what": "link_counters", "window_s": round(seconds, 3),
                             "deltas": deltas})

    @staticmethod
    def _summary(out: Outcome, online: bool | None, src: SourceLog) -> str:
        codes = {f.code: f for f in out.findings}
        if "net.offline" in codes and codes["net.offline"].severity == "fail":
            bit = codes["net.offline"].message
        elif "net.captive_portal" in codes:
            bit = "behind a captive portal"
        elif online:
            bit = "online"
        elif online is False:
            bit = "no check URL answered"
        else:
            bit = "internet not tested (no check URLs)"
        extras = [f.message for f in out.findings if f.code in ("net.weak_signal", "net.link_errors")]
        skipped = [s for s, v in src.state.items() if v != "ok"]
        text = "; ".join([bit, *extras])
        if skipped:
            text += f" ({len(skipped)} source(s) unreadable: {', '.join(skipped)})"
        return text


def _captive_fetch(url: str, ctx: CheckContext) -> tuple[int, str, int, float]:
    """(status, redirect host, body bytes, seconds) for one check URL, no redirects followed."""
    t0 = time.perf_counter()
    cap_s = min(FETCH_CAP_S, max(0.05, ctx.remaining() - REPORT_MARGIN_S))
    result = net.fetch(url, timeout=ctx.timeout(cap_s), method="GET", read_body=1)
    seconds = time.perf_counter() - t0
    resp = result.response
    assert resp is not None
    location = resp.headers.get("location", "")
    location_host = urlsplit(location).hostname or "" if location else ""
    body = resp.body_bytes
    length = resp.headers.get("content-length")
    if body == 0 and length and length.strip().isdigit():
        body = int(length)
    return resp.status, location_host, body, seconds
