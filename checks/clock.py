"""clock: how far the device clock is from a reference (NTP, else HTTP Date).

A wrong clock breaks payments in confusing ways: TLS certificates look "not
yet valid" or "expired", signed requests are rejected as replays. The offset
follows NTP: reference time minus local time, positive when the device clock
is behind. The tls check waits for it on the blackboard (``clock.offset_s``).
"""

from __future__ import annotations

import email.utils
import statistics
import time
from typing import Any, ClassVar

from payprobe import classify as fc
from payprobe import net
from payprobe.api import CheckCancelled, CheckContext, Finding, Metric, Outcome, parallel
from payprobe.checks._clock_sources import (
    HTTP_DATE_RESOLUTION_S,
    NtpAnswer,
    SourceResult,
    judge_ntp,
    sane_server_time,
)
from payprobe.settings import ClockConfig

NTP_PORT = 123
# Requests per server when time allows; the lowest-delay answer is the most accurate
# because the asymmetry error of an NTP offset is bounded by half the delay.
NTP_SAMPLES_PER_SERVER = 4
NTP_REQUEST_TIMEOUT_S = 1.0
# Budget for the whole NTP phase, so the HTTP fallback still has time when UDP/123 is dropped.
NTP_PHASE_S = 3.0
HTTP_REQUEST_TIMEOUT_S = 4.0
# Servers further apart than this are reported as disagreeing.
DISAGREEMENT_S = 1.0


def human_duration(seconds: float) -> str:
    """3 h 2 min -> "3 hours 2 minutes"; two largest units, whole numbers."""
    seconds = abs(seconds)
    if seconds < 1.0:
        return f"{seconds:.1f} seconds"
    units = [("year", 365 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60),
             ("second", 1)]
    parts: list[str] = []
    rest = int(round(seconds))
    for name, size in units:
        n, rest = divmod(rest, size)
        if n or parts:
            if n:
                parts.append(f"{n} {name}{'' if n == 1 else 's'}")
            if len(parts) == 2 or (parts and not n):
                break
    return " ".join(parts[:2]) or "0 seconds"


def date_tls_context(ca_file: str) -> Any:
    """A verifying TLS context that does not judge certificates by the device clock.

    The HTTP Date fallback exists for a device whose clock is wrong, and that is
    exactly when every certificate looks "not yet valid" or "expired" to it.
    The chain and the host name are still verified, so an interceptor cannot
    forge the Date header; only the validity period is left unchecked.
    """
    return net.tls_context(ca_file=ca_file, check_time=False)


def _failure_reasons(results: list[SourceResult]) -> list[str]:
    """Why each source gave no usable answer, once per reason."""
    return sorted({r.failure or next(iter(r.rejected), "no_answer") for r in results})


def _report_sources(results: list[SourceResult], out: Outcome) -> None:
    """One evidence item per source; offset, NTP delay and HTTP RTT metrics where it answered."""
    for r in results:
        out.evidence.append(r.evidence())
        if r.ok:
            out.metrics.append(Metric("clock_offset_seconds", round(r.offset or 0.0, 6), "s",
                                      {"source": r.source}))
        if r.best is not None:
            out.metrics.append(Metric("ntp_delay_seconds", round(r.best.delay_s, 6), "s",
                                      {"source": r.source}))
        if r.rtt_s is not None and r.ok:
            out.metrics.append(Metric("http_date_rtt_seconds", round(r.rtt_s, 6), "s",
                                      {"source": r.source}))


def _report_no_reference(results: list[SourceResult], out: Outcome) -> None:
    """No source answered usably: the clock could not be checked."""
    reasons = _failure_reasons(results)
    out.findings.append(Finding(
        "clock.unknown", "warn",
        "could not check the clock: no NTP server or web server answered usably "
        f"({', '.join(reasons)})",
        data={"offset_s": None, "source": "", "failures": reasons}))
    out.summary = "clock not checked: no time source answered"


def _report_best(best: float, by_ntp: bool, used: list[SourceResult], offsets: list[float],
                 out: Outcome) -> list[str]:
    """The best offset's metric and evidence, and whether the sources disagree.

    Returns the notes for the summary (a disagreement between sources).
    """
    method = "ntp" if by_ntp else "http_date"
    out.metrics.append(Metric("clock_offset_seconds", round(best, 6), "s", {"source": "best"}))
    resolution = None if by_ntp else HTTP_DATE_RESOLUTION_S
    out.evidence.append({"what": "clock_best", "offset_s": round(best, 6), "method": method,
                         "sources": len(offsets),
                         **({"resolution_s": resolution} if resolution else {})})
    spread = max(offsets) - min(offsets)
    notes: list[str] = []
    if len(offsets) > 1 and spread > DISAGREEMENT_S:
        out.evidence.append({"what": "clock_disagreement", "spread_s": round(spread, 3),
                             "offsets": {r.source: round(r.offset or 0.0, 3) for r in used}})
        notes.append(f"sources disagree by {human_duration(spread)}")
    return notes


def _report_ntp_blocked(best: float, ntp_results: list[SourceResult],
                        http_ok: list[SourceResult], out: Outcome) -> None:
    """NTP failed where web servers answered: the phone may not set its own clock."""
    reasons = _failure_reasons(ntp_results)
    out.findings.append(Finding(
        "clock.ntp_blocked", "warn",
        "NTP (UDP port 123) got no usable answer, but web servers did; the phone may "
        "not be able to set its clock automatically",
        data={"offset_s": best, "source": http_ok[0].source, "failures": reasons}))


def _offset_text(best: float, via: str) -> str:
    ahead_behind = "behind" if best > 0 else "ahead"
    return f"your clock is {human_duration(abs(best))} {ahead_behind} (measured against {via})"


def _report_skew(cfg: ClockConfig, best: float, by_ntp: bool, via: str, out: Outcome) -> None:
    """clock.skew when the offset is over the warn or fail threshold."""
    magnitude = abs(best)
    if magnitude > cfg.fail_s or magnitude > cfg.warn_s:
        severity = "fail" if magnitude > cfg.fail_s else "warn"
        out.findings.append(Finding(
            "clock.skew", severity,
            _offset_text(best, via)
            + "; secure connections and payment signatures can fail until it is corrected",
            target="best",
            data={"offset_s": best, "source": "ntp" if by_ntp else "http_date", "threshold_s":
                  cfg.fail_s if severity == "fail" else cfg.warn_s}))


def _clock_summary(best: float, by_ntp: bool, via: str) -> str:
    """The offset in words; "right" within what the method can resolve."""
    magnitude = abs(best)
    if magnitude < 1.0 and by_ntp:
        return f"your clock is right (off by {magnitude * 1000:.0f} ms, {via})"
    if magnitude < HTTP_DATE_RESOLUTION_S and not by_ntp:
        return f"your clock is right to within a second ({via})"
    return _offset_text(best, via)


class ClockCheck:
    name: ClassVar[str] = "clock"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = "device clock offset from NTP servers (HTTP Date as fallback)"
    timeout_s: ClassVar[float] = 10.0
    # Stopped and reported skipped once the device is certainly offline.
    needs_network: ClassVar[bool] = True

    def run(self, ctx: CheckContext[ClockConfig]) -> Outcome:
        cfg = ctx.config
        servers = list(cfg.ntp_servers)
        urls = list(cfg.http_date_urls)
        if not servers and not urls:
            return Outcome.skipped("no NTP server or HTTP Date URL is configured ([clock])")
        out = Outcome()
        ntp_results = self._ntp(ctx, servers) if servers else []
        ntp_ok = [r for r in ntp_results if r.ok]
        http_results: list[SourceResult] = []
        if not ntp_ok and urls:
            http_results = self._http(ctx, urls)
        http_ok = [r for r in http_results if r.ok]
        used = ntp_ok or http_ok
        _report_sources(ntp_results + http_results, out)
        if not used:
            # Tell a waiting tls check now that no reference will come.
            ctx.shared.put("clock.offset_s", None)
            _report_no_reference(ntp_results + http_results, out)
            return out

        offsets = [r.offset for r in used if r.offset is not None]
        best = float(statistics.median(offsets))
        # Publish at once: the tls check may be waiting to explain "not yet valid".
        ctx.shared.put("clock.offset_s", best)
        by_ntp = bool(ntp_ok)
        notes = _report_best(best, by_ntp, used, offsets, out)
        if not by_ntp and servers:
            _report_ntp_blocked(best, ntp_results, http_ok, out)
        via = (f"{len(offsets)} NTP server(s)" if by_ntp else
               f"the Date header of {len(offsets)} web server(s), 1 s resolution")
        _report_skew(cfg, best, by_ntp, via, out)
        out.summary = "; ".join([_clock_summary(best, by_ntp, via), *notes])
        return out

    # ------------------------------------------------------------------ NTP

    def _ntp(self, ctx: CheckContext, servers: list[str]) -> list[SourceResult]:
        phase_end = time.monotonic() + min(NTP_PHASE_S, max(0.5, ctx.remaining() * 0.45))
        results = parallel(lambda s: self._ntp_server(ctx, s, phase_end), servers, ctx)
        out: list[SourceResult] = []
        for server, res in zip(servers, results, strict=True):
            if isinstance(res, SourceResult):
                out.append(res)
            else:
                out.append(SourceResult(server, "ntp", failure=fc.classify(res)))
        return out

    def _ntp_server(self, ctx: CheckContext, server: str, phase_end: float) -> SourceResult:
        import ntplib

        result = SourceResult(server, "ntp")
        try:
            host, port = net.split_hostport(server, NTP_PORT)
        except ValueError:
            result.failure, result.detail = "bad_config", "not host or host:port"
            return result

        def left() -> float:
            remaining = phase_end - time.monotonic()
            if remaining <= 0.01:
                raise CheckCancelled("ntp phase over")
            return ctx.timeout(min(NTP_REQUEST_TIMEOUT_S, remaining))

        try:
            # ntplib calls getaddrinfo without a timeout; resolve here with one.
            address = net.resolve(host, port, timeout=left())[0]
        except Exception as exc:  # noqa: BLE001 - classified (CheckCancelled too: it timed out)
            result.failure = fc.classify(exc)
            return result

        client = ntplib.NTPClient()
        failures_in_a_row = 0
        for _ in range(NTP_SAMPLES_PER_SERVER):
            try:
                stats = client.request(address, version=3, port=port, timeout=left())
            except CheckCancelled:
                break
            except Exception as exc:  # noqa: BLE001 - classified, next sample
                result.failure = fc.classify(exc)
                failures_in_a_row += 1
                if failures_in_a_row >= 2:
                    break  # UDP/123 dropped: do not burn the whole budget
                continue
            failures_in_a_row = 0
            reason = judge_ntp(stats)
            if reason:
                result.rejected[reason] = result.rejected.get(reason, 0) + 1
                continue
            result.answers += 1
            answer = NtpAnswer(float(stats.offset), float(stats.delay), int(stats.stratum),
                               int(stats.leap))
            if result.best is None or answer.delay_s < result.best.delay_s:
                result.best = answer
        if result.best is not None:
            result.failure = None
        elif result.rejected and result.failure is None:
            result.failure = next(iter(result.rejected))
        return result

    # ------------------------------------------------------------ HTTP Date

    def _http(self, ctx: CheckContext, urls: list[str]) -> list[SourceResult]:
        results = parallel(lambda u: self._http_date(ctx, u), urls, ctx)
        return [r if isinstance(r, SourceResult) else
                SourceResult(u, "http_date", failure=fc.classify(r)) for u, r in zip(urls, results, strict=True)]

    def _http_date(self, ctx: CheckContext, url: str) -> SourceResult:
        result = SourceResult(url, "http_date")
        context = date_tls_context(getattr(ctx.settings, "ca_file", "") or "")
        try:
            fetched = net.fetch(url, timeout=ctx.timeout(HTTP_REQUEST_TIMEOUT_S), method="HEAD",
                                context=context)
            local_end = time.time()
        except Exception as exc:  # noqa: BLE001 - classified (CheckCancelled too: it timed out)
            result.failure = fc.classify(exc)
            return result
        response = fetched.response
        assert response is not None
        raw = response.headers.get("date", "")
        if len(set(response.all("date"))) > 1:
            # Which one would we believe? A server (or a middlebox) that sends two is no clock.
            result.failure, result.detail = "http_date_garbage", "conflicting Date headers"
            return result
        if not raw:
            result.failure, result.detail = "http_date_missing", f"HTTP {response.status} without Date"
            return result
        try:
            parsed = email.utils.parsedate_to_datetime(raw)
            if parsed.tzinfo is None:
                raise ValueError("no time zone")
            stamp = parsed.timestamp()
        except (TypeError, ValueError, OverflowError, IndexError):
            result.failure, result.detail = "http_date_garbage", "unparseable Date header"
            return result
        if not sane_server_time(stamp):
            result.failure, result.detail = "http_date_garbage", "Date header out of range"
            return result
        # The server wrote Date while answering, about half the request RTT before we
        # read the headers; Date is truncated to the second, so its middle is +0.5 s.
        rtt = response.ttfb_s
        local_at_date = local_end - rtt / 2.0
        result.rtt_s = rtt
        result.offset_s = (stamp + HTTP_DATE_RESOLUTION_S / 2.0) - local_at_date
        return result
