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
from dataclasses import dataclass, field
from typing import Any, ClassVar

from payprobe import classify as fc
from payprobe import net
from payprobe.api import CheckCancelled, CheckContext, Finding, Metric, Outcome, parallel

NTP_PORT = 123
# Requests per server when time allows; the lowest-delay answer is the most accurate
# because the asymmetry error of an NTP offset is bounded by half the delay.
NTP_SAMPLES_PER_SERVER = 4
NTP_REQUEST_TIMEOUT_S = 1.0
# Budget for the whole NTP phase, so the HTTP fallback still has time when UDP/123 is dropped.
NTP_PHASE_S = 3.0
HTTP_REQUEST_TIMEOUT_S = 4.0
HTTP_DATE_RESOLUTION_S = 1.0
# Servers further apart than this are reported as disagreeing.
DISAGREEMENT_S = 1.0
# An NTP server's own timestamps outside these years are nonsense whatever our clock says
# (the device clock may well be at 1970 after a reset; the server's must not be).
SANE_SERVER_YEARS = (2000, 2200)
_SANE_LOW_S = 946684800.0      # 2000-01-01T00:00:00Z
_SANE_HIGH_S = 7258118400.0    # 2200-01-01T00:00:00Z


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


@dataclass
class NtpAnswer:
    offset_s: float
    delay_s: float
    stratum: int
    leap: int


@dataclass
class SourceResult:
    source: str                        # as configured
    kind: str                          # ntp | http_date
    best: NtpAnswer | None = None      # ntp: lowest-delay valid answer
    offset_s: float | None = None      # http_date: corrected offset
    rtt_s: float | None = None
    answers: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    failure: str | None = None         # classified failure of the last error, if no answer
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.best is not None or self.offset_s is not None

    @property
    def offset(self) -> float | None:
        return self.best.offset_s if self.best is not None else self.offset_s

    def evidence(self) -> dict[str, Any]:
        item: dict[str, Any] = {"what": self.kind, "source": self.source, "ok": self.ok}
        if self.best is not None:
            item.update(offset_s=round(self.best.offset_s, 6), delay_s=round(self.best.delay_s, 6),
                        stratum=self.best.stratum, leap=self.best.leap, answers=self.answers)
        if self.offset_s is not None:
            item.update(offset_s=round(self.offset_s, 3), rtt_s=round(self.rtt_s or 0.0, 4),
                        resolution_s=HTTP_DATE_RESOLUTION_S)
        if self.rejected:
            item["rejected"] = dict(self.rejected)
        if self.failure:
            item["failure"] = self.failure
        if self.detail:
            item["detail"] = self.detail
        return item


def judge_ntp(stats: Any) -> str | None:
    """Why an NTP answer must not be used, or None when it is usable."""
    if stats.leap == 3:
        return "ntp_unsynchronised"            # the server says its own clock is not set
    if stats.stratum == 0 or stats.stratum >= 16:
        return "ntp_bad_stratum"               # kiss-o'-death or unsynchronised
    if stats.mode not in (4, 5):
        return "ntp_bogus_reply"               # not a server answer
    for stamp in (stats.tx_timestamp, stats.recv_timestamp):
        system = stamp - 2208988800.0          # NTP era 0 -> Unix time
        if not (_SANE_LOW_S <= system <= _SANE_HIGH_S):
            return "ntp_bogus_timestamp"
    if stats.recv_timestamp > stats.tx_timestamp + 1e-3:
        return "ntp_bogus_timestamp"           # sent before it received: impossible
    # The originate timestamp must echo our request (anti-spoofing, broken servers).
    if stats.orig_timestamp == 0 or not (0.0 <= stats.dest_timestamp - stats.orig_timestamp < 60.0):
        return "ntp_bogus_reply"
    if stats.delay < -1e-3:
        return "ntp_bogus_timestamp"
    return None


# OpenSSL's X509_V_FLAG_NO_CHECK_TIME (1.1.0+); the ssl module has no name for it.
X509_V_FLAG_NO_CHECK_TIME = 0x200000


def date_tls_context(ca_file: str) -> Any:
    """A verifying TLS context that does not judge certificates by the device clock.

    The HTTP Date fallback exists for a device whose clock is wrong, and that is
    exactly when every certificate looks "not yet valid" or "expired" to it.
    The chain and the host name are still verified, so an interceptor cannot
    forge the Date header; only the validity period is left unchecked.
    """
    context = net.tls_context(ca_file=ca_file)
    try:
        context.verify_flags |= X509_V_FLAG_NO_CHECK_TIME
    except (AttributeError, ValueError, OverflowError):
        pass   # an ssl module without it: the fallback then works only with a roughly right clock
    return context


def _failure(exc: BaseException) -> str:
    """parallel() hands back CheckCancelled for a source still busy at the deadline:
    that source timed out ("cancelled" would say the person stopped the run)."""
    return fc.GENERIC_TIMEOUT if isinstance(exc, CheckCancelled) else fc.classify(exc)


class ClockCheck:
    name: ClassVar[str] = "clock"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = "device clock offset from NTP servers (HTTP Date as fallback)"
    timeout_s: ClassVar[float] = 10.0

    def run(self, ctx: CheckContext) -> Outcome:
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

        for r in ntp_results + http_results:
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

        if not used:
            # Tell a waiting tls check now that no reference will come.
            ctx.shared.put("clock.offset_s", None)
            reasons = sorted({r.failure or next(iter(r.rejected), "no_answer")
                              for r in ntp_results + http_results})
            out.findings.append(Finding(
                "clock.unknown", "warn",
                "could not check the clock: no NTP server or web server answered usably "
                f"({', '.join(reasons)})",
                data={"offset_s": None, "source": "", "failures": reasons}))
            out.summary = "clock not checked: no time source answered"
            return out

        offsets = [r.offset for r in used if r.offset is not None]
        best = float(statistics.median(offsets))
        # Publish at once: the tls check may be waiting to explain "not yet valid".
        ctx.shared.put("clock.offset_s", best)
        method = "ntp" if ntp_ok else "http_date"
        out.metrics.append(Metric("clock_offset_seconds", round(best, 6), "s", {"source": "best"}))
        resolution = None if ntp_ok else HTTP_DATE_RESOLUTION_S
        out.evidence.append({"what": "clock_best", "offset_s": round(best, 6), "method": method,
                             "sources": len(offsets),
                             **({"resolution_s": resolution} if resolution else {})})
        spread = max(offsets) - min(offsets)
        notes: list[str] = []
        if len(offsets) > 1 and spread > DISAGREEMENT_S:
            out.evidence.append({"what": "clock_disagreement", "spread_s": round(spread, 3),
                                 "offsets": {r.source: round(r.offset or 0.0, 3) for r in used}})
            notes.append(f"sources disagree by {human_duration(spread)}")

        if not ntp_ok and servers:
            reasons = sorted({r.failure or next(iter(r.rejected), "no_answer") for r in ntp_results})
            out.findings.append(Finding(
                "clock.ntp_blocked", "warn",
                "NTP (UDP port 123) got no usable answer, but web servers did; the phone may "
                "not be able to set its clock automatically",
                data={"offset_s": best, "source": http_ok[0].source, "failures": reasons}))

        source_label = "best"
        ahead_behind = "behind" if best > 0 else "ahead"
        magnitude = abs(best)
        via = (f"{len(offsets)} NTP server(s)" if ntp_ok else
               f"the Date header of {len(offsets)} web server(s), 1 s resolution")
        text = f"your clock is {human_duration(magnitude)} {ahead_behind} (measured against {via})"
        if magnitude > cfg.fail_s or magnitude > cfg.warn_s:
            severity = "fail" if magnitude > cfg.fail_s else "warn"
            out.findings.append(Finding(
                "clock.skew", severity,
                text + "; secure connections and payment signatures can fail until it is corrected",
                target=source_label,
                data={"offset_s": best, "source": method, "threshold_s":
                      cfg.fail_s if severity == "fail" else cfg.warn_s}))
        if magnitude < 1.0 and ntp_ok:
            text = f"your clock is right (off by {magnitude * 1000:.0f} ms, {via})"
        elif magnitude < HTTP_DATE_RESOLUTION_S and not ntp_ok:
            text = f"your clock is right to within a second ({via})"
        out.summary = "; ".join([text, *notes])
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
                out.append(SourceResult(server, "ntp", failure=_failure(res)))
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
        except CheckCancelled:
            result.failure = fc.GENERIC_TIMEOUT
            return result
        except Exception as exc:  # noqa: BLE001 - classified
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
                SourceResult(u, "http_date", failure=_failure(r)) for u, r in zip(urls, results, strict=True)]

    def _http_date(self, ctx: CheckContext, url: str) -> SourceResult:
        result = SourceResult(url, "http_date")
        context = date_tls_context(getattr(ctx.settings, "ca_file", "") or "")
        try:
            fetched = net.fetch(url, timeout=ctx.timeout(HTTP_REQUEST_TIMEOUT_S), method="HEAD",
                                context=context)
            local_end = time.time()
        except CheckCancelled:
            result.failure = fc.GENERIC_TIMEOUT
            return result
        except Exception as exc:  # noqa: BLE001 - classified
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
        if not (_SANE_LOW_S <= stamp <= _SANE_HIGH_S):
            result.failure, result.detail = "http_date_garbage", "Date header out of range"
            return result
        # The server wrote Date while answering, about half the request RTT before we
        # read the headers; Date is truncated to the second, so its middle is +0.5 s.
        rtt = response.ttfb_s
        local_at_date = local_end - rtt / 2.0
        result.rtt_s = rtt
        result.offset_s = (stamp + HTTP_DATE_RESOLUTION_S / 2.0) - local_at_date
        return result
