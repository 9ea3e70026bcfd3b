"""connectivity: interfaces, default route, IPv6, captive portal, link quality, radio signal.

Order of reasoning (the offline story): no usable interface -> ``net.offline``
(no_interface); no default route -> ``net.offline`` (no_route); a route but every
check URL fails with network_unreachable -> ``net.offline`` (all_unreachable).
The check URLs are fetched in every case, and one that answers overrides a
"no interface"/"no route" reading: on Android the main routing table is often
empty (policy routing), and the answer of a real server beats our guess.

Facts for the other checks, on the blackboard as soon as they are known:

- ``net.has_ipv6``: True when the device has an IPv6 default route and a global
  IPv6 address, False when it lacks either, None when that could not be read
  (put right after the interfaces and the route are read, before any fetch);
- ``net.offline``: a sentence saying why, put only when the device is
  certainly offline (no_interface/no_route, and every check URL failed inside
  the device; see payprobe.checks._captive). The runner then stops the checks
  that declare ``needs_network`` and reports them skipped. It is put as soon as
  the check URLs are judged, without waiting for termux-api.

Every source that cannot be read here (psutil AccessDenied on Android, a missing
termux-api command, a timeout) is listed as skipped with its reason in the
evidence; the check is ``skipped`` only when nothing at all could be read.

Addresses (IP, MAC) and SSID/BSSID never go into metrics, findings or the summary.

==================================  ===========================================
``payprobe.checks._interfaces``     interfaces (psutil), link error counters
``payprobe.checks._route``          the default route
``payprobe.checks._captive``        check URLs: online, captive portal, offline
``payprobe.checks._radio``          Wi-Fi and cellular facts (termux-api)
==================================  ===========================================
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ClassVar

from payprobe.api import CheckCancelled, CheckContext, Outcome, parallel
from payprobe.checks._captive import captive_fetch, judge_internet
from payprobe.checks._interfaces import InterfaceFacts, LinkWindow, list_interfaces
from payprobe.checks._optional import PSUTIL_MISSING, load_psutil
from payprobe.checks._radio import ask_radio, radio_commands, record_radio
from payprobe.checks._route import default_route
from payprobe.settings import ConnectivityConfig
from payprobe.sources import SourceLog

# Blackboard keys (see the module docstring and payprobe.api).
OFFLINE_FACT = "net.offline"
HAS_IPV6_FACT = "net.has_ipv6"


class ConnectivityCheck:
    name: ClassVar[str] = "connectivity"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = ("interfaces, default route, IPv6, captive portal, link errors, "
                                  "Wi-Fi/cellular signal")
    timeout_s: ClassVar[float] = 10.0
    # It is the check that tells whether there is a network: it always runs.
    needs_network: ClassVar[bool] = False

    def run(self, ctx: CheckContext[ConnectivityConfig]) -> Outcome:
        out = Outcome()
        src = SourceLog()
        # 1. Link counters first: the second reading comes when the rest is done.
        psutil = load_psutil()
        link: LinkWindow | None = None
        facts = InterfaceFacts(None, None)
        if psutil is not None:
            link = LinkWindow.open(src, psutil)
            facts = list_interfaces(out, src, psutil)
        else:
            src.skip("interfaces", PSUTIL_MISSING)
        # 2. The default route, and whether this device has IPv6 at all.
        route = src.read("route", lambda: default_route(ctx))
        if route is not None:
            out.evidence.append({"what": "default_route", **route})
        ctx.shared.put(HAS_IPV6_FACT, judge_ipv6(out, facts, route))
        # 3. termux-api in the background (it may take seconds); the check URLs here.
        collect_radio = start_radio(ctx)
        fetches = fetch_check_urls(ctx)
        verdict = judge_internet(out, src, fetches, facts.usable, route)
        if verdict.certainly_offline is not None:
            ctx.shared.put(OFFLINE_FACT, verdict.certainly_offline)
        record_radio(ctx, out, src, collect_radio())
        # 4. Link counters again, over the window that all of this took.
        if link is not None:
            link.close(out, src)
        if any(f.code == "net.offline" and f.severity == "fail" for f in out.findings):
            # Taking a link down drops what was in flight on it and its peer: those
            # counters move because we are offline, not because the link is noisy.
            # They stay in the evidence (link_counters).
            out.findings = [f for f in out.findings if f.code != "net.link_errors"]
        out.evidence.append({"what": "sources", "sources": dict(src.state)})
        if not src.readable():
            return Outcome.skipped("no network source is readable here: " + "; ".join(
                f"{k} {v}" for k, v in src.state.items()), evidence=out.evidence)
        out.summary = self._summary(out, verdict.online, src)
        return out

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
        skipped = src.unreadable()
        text = "; ".join([bit, *extras])
        if skipped:
            text += f" ({len(skipped)} source(s) unreadable: {', '.join(skipped)})"
        return text


def judge_ipv6(out: Outcome, facts: InterfaceFacts, route: dict[str, Any] | None) -> bool | None:
    """Whether the device has IPv6 at all: an IPv6 default route and a global address."""
    route_v6 = bool(route["ipv6"]) if route is not None else None
    if route_v6 is False or facts.global_ipv6 is False:
        has_ipv6: bool | None = False
    elif route_v6 and facts.global_ipv6:
        has_ipv6 = True
    else:
        has_ipv6 = None
    out.evidence.append({"what": "ipv6", "has_ipv6": has_ipv6, "default_route": route_v6,
                         "global_address": facts.global_ipv6})
    return has_ipv6


def fetch_check_urls(ctx: CheckContext[ConnectivityConfig]) -> list[tuple[str, Any]]:
    """(check URL, captive_fetch result or the exception it raised), in config order."""
    urls = list(ctx.config.check_urls)
    results = parallel(lambda u: captive_fetch(u, ctx), urls, ctx) if urls else []
    return list(zip(urls, results, strict=True))


def start_radio(ctx: CheckContext[ConnectivityConfig]) -> Callable[[], dict[str, Any]]:
    """Asks termux-api in a background thread; returns the call that collects the answers.

    In the background so that a slow termux-api does not hold up the offline
    verdict, which needs only the check URLs.
    """
    commands = radio_commands(ctx)
    if not commands:
        return lambda: {}
    answers: list[list[Any]] = []
    worker = threading.Thread(
        target=lambda: answers.append(parallel(lambda c: ask_radio(c, ctx), commands, ctx)),
        daemon=True, name="connectivity-radio")
    worker.start()

    def collect() -> dict[str, Any]:
        worker.join(max(0.0, ctx.remaining()))
        got = answers[0] if answers else [CheckCancelled("deadline reached")] * len(commands)
        return dict(zip(commands, got, strict=True))

    return collect
