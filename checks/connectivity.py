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

==================================  ===========================================
``payprobe.checks._interfaces``     interfaces (psutil), link error counters
``payprobe.checks._route``          the default route
``payprobe.checks._captive``        check URLs: online, captive portal, offline
``payprobe.checks._radio``          Wi-Fi and cellular facts (termux-api)
==================================  ===========================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from payprobe.api import CheckContext, Outcome, parallel
from payprobe.checks._captive import captive_fetch, judge_internet
from payprobe.checks._interfaces import LinkWindow, list_interfaces
from payprobe.checks._optional import PSUTIL_MISSING, load_psutil
from payprobe.checks._radio import ask_radio, radio_commands, record_radio
from payprobe.checks._route import default_route
from payprobe.settings import ConnectivityConfig
from payprobe.sources import SourceLog

Job = tuple[Callable[[str, CheckContext[ConnectivityConfig]], Any], str]


class ConnectivityCheck:
    name: ClassVar[str] = "connectivity"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = ("interfaces, default route, captive portal, link errors, "
                                  "Wi-Fi/cellular signal")
    timeout_s: ClassVar[float] = 10.0

    def run(self, ctx: CheckContext[ConnectivityConfig]) -> Outcome:
        out = Outcome()
        src = SourceLog()
        # 1. Link counters first: the second reading comes when the rest is done.
        psutil = load_psutil()
        link: LinkWindow | None = None
        usable: bool | None = None
        if psutil is not None:
            link = LinkWindow.open(src, psutil)
            usable = list_interfaces(out, src, psutil)
        else:
            src.skip("interfaces", PSUTIL_MISSING)
        # 2. The default route.
        route = src.read("route", lambda: default_route(ctx))
        if route is not None:
            out.evidence.append({"what": "default_route", **route})
        # 3. Check URLs and termux-api, at once: each may take seconds.
        fetches, radio = self._fetch_and_ask(ctx)
        online = judge_internet(out, src, fetches, usable, route)
        record_radio(ctx, out, src, radio)
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
        out.summary = self._summary(out, online, src)
        return out

    @staticmethod
    def _fetch_and_ask(ctx: CheckContext[ConnectivityConfig]
                       ) -> tuple[list[tuple[str, Any]], dict[str, Any]]:
        """(check URL, fetch result) pairs and {termux-api command: answer}; errors as values."""
        urls = list(ctx.config.check_urls)
        commands = radio_commands(ctx)
        jobs: list[Job] = [(captive_fetch, u) for u in urls] + [(ask_radio, c) for c in commands]
        results = parallel(lambda job: job[0](job[1], ctx), jobs, ctx) if jobs else []
        fetches = list(zip(urls, results[:len(urls)], strict=True))
        radio = dict(zip(commands, results[len(urls):], strict=True))
        return fetches, radio

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
