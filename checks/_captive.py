"""Check URLs: online, behind a captive portal, or offline (and why).

A check URL answers 204 (or 200 with an empty body) on the open internet; a
portal answers something else or redirects to its login page. The offline
story, most specific reason first: no usable interface -> ``no_interface``; no
default route -> ``no_route``; every check URL network-unreachable ->
``all_unreachable`` (all ``fail``); else, when nothing answered, ``all_failed``
(``warn``: the link is up, the internet did not answer). One URL that answers
beats every "no interface"/"no route" reading.

*Certainly* offline (what lets the runner stop the checks that need the network
early) is stricter: ``no_interface`` or ``no_route``, and every check URL failed
inside the device (see :data:`LOCAL_FAILURES`). A captive portal, failing DNS
with a route, a refused connection or a timeout is never "certainly offline".
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from payprobe import classify as fc
from payprobe import net
from payprobe.api import CheckCancelled, CheckContext, Finding, Metric, Outcome
from payprobe.sources import SourceLog

# A check URL fetch may take this long at most (also capped by the deadline).
FETCH_CAP_S = 5.0
# A fetch gives up this long before the check's deadline, so a silent or
# blackholed check URL ends as its own timeout (reported as one) instead of
# still running when parallel() hands back "cancelled" at the deadline.
REPORT_MARGIN_S = 0.2

# Failures a fetch gets from the device's own stack when it cannot send at all
# (no route, no address, no resolver it can reach). Every other failure says a
# packet left the device or something answered (a refused connect, an HTTP
# status, a socket timeout, the deadline), which contradicts "certainly offline".
LOCAL_FAILURES = frozenset({fc.NETWORK_UNREACHABLE, fc.HOST_UNREACHABLE, fc.ADDRESS_UNAVAILABLE,
                            fc.DNS_TIMEOUT, fc.DNS_NO_ANSWER, fc.DNS_NXDOMAIN, fc.DNS_SERVFAIL,
                            fc.DNS_FAILURE})
# The offline reasons the kernel itself gives (no usable interface, no default route).
CERTAIN_REASONS = ("no_interface", "no_route")

OFFLINE_TEXT = {"no_interface": "no network interface is up with an address",
                "no_route": "there is no default route: the device is not connected",
                "all_unreachable": "every check URL is unreachable from this network"}


@dataclass(frozen=True)
class InternetVerdict:
    """Whether the internet answered, and why the device is certainly offline (if it is)."""

    online: bool | None            # None: no check URL configured
    certainly_offline: str | None  # a sentence (OFFLINE_TEXT), or None


@dataclass
class CheckUrlAnswers:
    """What the check URLs said, one entry per URL."""

    asked: int = 0
    online: list[str] = field(default_factory=list)
    portals: list[tuple[str, int, str]] = field(default_factory=list)  # (host, status, portal host)
    failures: dict[str, str] = field(default_factory=dict)              # url -> failure code


def captive_fetch(url: str, ctx: CheckContext[Any]) -> tuple[int, str, int, float]:
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


def read_answers(out: Outcome, fetches: list[tuple[str, Any]]) -> CheckUrlAnswers:
    """Sorts each fetch (a captive_fetch tuple or the exception it raised); one evidence item each."""
    answers = CheckUrlAnswers(asked=len(fetches))
    for url, r in fetches:
        if isinstance(r, BaseException):
            # parallel() hands back CheckCancelled for a fetch still running at the
            # deadline: from the user's side that URL timed out (not "cancelled",
            # which means the person stopped the run).
            answers.failures[url] = (fc.GENERIC_TIMEOUT if isinstance(r, CheckCancelled)
                                     else fc.classify(r))
            out.evidence.append({"what": "check_url", "url": url, "ok": False,
                                 "failure": answers.failures[url], "error": fc.describe(r)})
            continue
        status, location_host, body_bytes, seconds = r
        out.metrics.append(Metric("captive_check_seconds", round(seconds, 6), "s", {"url": url}))
        if status == 204 or (status == 200 and body_bytes == 0):
            answers.online.append(url)
            verdict = "online"
        elif 200 <= status < 400:
            answers.portals.append((urlsplit(url).hostname or url, status, location_host))
            verdict = "portal"
        else:
            answers.failures[url] = fc.HTTP_STATUS_5XX if status >= 500 else fc.HTTP_STATUS_4XX
            verdict = "http_error"
        out.evidence.append({"what": "check_url", "url": url, "ok": verdict == "online",
                             "status": status, "verdict": verdict, "body_bytes": body_bytes,
                             "portal_host": location_host})
    return answers


def judge_internet(out: Outcome, src: SourceLog, fetches: list[tuple[str, Any]],
                   usable: bool | None, route: dict[str, Any] | None) -> InternetVerdict:
    """Whether the internet answered (None: no check URL configured), with its findings."""
    answers = read_answers(out, fetches)
    if fetches:
        src.ok("check_urls")
    internet: bool | None = None  # nothing configured: unknown
    if answers.online:
        internet = True
    elif answers.portals:
        internet = False
        host, status, portal_host = answers.portals[0]
        out.findings.append(Finding(
            "net.captive_portal", "fail",
            f"a captive portal answers instead of the internet (HTTP {status}"
            + (f", redirects to {portal_host}" if portal_host else "") + "); "
            "open a browser and log in to the Wi-Fi",
            target=host, data={"status": status, "portal_host": portal_host or host}))
    elif fetches:
        internet = False

    reason = offline_reason(answers, usable, route)
    if reason is not None:
        internet = False
        out.findings.append(Finding("net.offline", "fail", f"offline: {OFFLINE_TEXT[reason]}",
                                    target="", data={"reason": reason}))
    elif internet is False and not answers.portals:
        counts: dict[str, int] = {}
        for code in answers.failures.values():
            counts[code] = counts.get(code, 0) + 1
        out.findings.append(Finding(
            "net.offline", "warn",
            "none of the connectivity check URLs answered ("
            + ", ".join(f"{k} x{v}" for k, v in sorted(counts.items())) + ")",
            target="", data={"reason": "all_failed", "failures": counts}))
    if internet is not None:
        out.evidence.append({"what": "internet", "ok": bool(internet)})
    certain = reason if reason is not None and is_certain(answers, reason) else None
    return InternetVerdict(internet, OFFLINE_TEXT[certain] if certain else None)


def is_certain(answers: CheckUrlAnswers, reason: str) -> bool:
    """Offline for ``reason`` beyond doubt: the kernel says so and no check URL contradicts it."""
    return (reason in CERTAIN_REASONS and answers.asked > 0
            and len(answers.failures) == answers.asked
            and all(code in LOCAL_FAILURES for code in answers.failures.values()))


def offline_reason(answers: CheckUrlAnswers, usable: bool | None,
                   route: dict[str, Any] | None) -> str | None:
    """The most specific reason to call the device offline, or None when it may be online."""
    if answers.online or answers.portals:
        return None
    if usable is False:
        return "no_interface"
    if route is not None and not route["ipv4"] and not route["ipv6"]:
        return "no_route"
    if answers.asked and len(answers.failures) == answers.asked and all(
            code == fc.NETWORK_UNREACHABLE for code in answers.failures.values()):
        return "all_unreachable"
    return None
