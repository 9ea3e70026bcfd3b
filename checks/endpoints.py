"""endpoints: can this device reach each payment service, and how well.

For each ``[[endpoints]]`` entry, in parallel with the others: resolve once
(timed on its own, so no connect time contains DNS), then ``latency.samples``
samples back to back, each on a fresh connection: TCP connect, TLS handshake
(https) and one HTTP request, every phase timed separately. A sample that
fails anywhere counts as lost; a silent or slowloris server is cut off at the
sample's budget by payprobe.net's hard deadline and counted as a timeout.

Results are grouped by provider and every endpoint leaves one evidence item,
healthy or not, so the diagnosis can tell "Alipay is down" from "your network
is down".
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any, ClassVar
from urllib.parse import urlsplit

from payprobe import classify as fc
from payprobe import net
from payprobe.api import CheckCancelled, CheckContext, Metric, Outcome, parallel
from payprobe.checks._endpoint_samples import (
    PHASES,
    EndpointResult,
    Sample,
    SampleSummary,
    common_phase,
    jitter,
    percentile,
    phase_values,
    rounded,
    stats,
    summarize,
)
from payprobe.checks._target_findings import TargetFindings
from payprobe.settings import Endpoint, LatencyConfig

# Names other modules and tests use from here.
__all__ = ["EndpointsCheck", "jitter", "percentile"]

# A sample never gets less than this (or what is left of the deadline, if less).
MIN_SAMPLE_S = 1.0
# No single sample gets more than this, however much time is left.
MAX_SAMPLE_S = 8.0
RESOLVE_CAP_S = 5.0
ICMP_COUNT = 3
# A connect that takes longer than the initial TCP retransmission timeout
# (TCP_TIMEOUT_INIT, 1 s on Linux and Android) means the first SYN or its answer
# was lost. Counting that sample as lost, rather than waiting for the kernel's
# retransmission to succeed, is what makes loss_ratio reflect packet loss at
# all: TCP would otherwise hide it as a slow connect. The cap is never below
# latency.fail_ms, so a connect slower than "fail" is still measured as slow.
SYN_RTO_S = 1.0
# Samples stop this long before the check's deadline, so that a silent server
# times out while there is still time to report what it did.
REPORT_MARGIN_S = 0.2


def connect_timeout_s(cfg: LatencyConfig) -> float:
    """Just under the first SYN retransmission: a sample whose first SYN was lost
    is lost, not merely slow (a retransmitted SYN would otherwise win the race)."""
    return max(SYN_RTO_S - 0.05, float(cfg.fail_ms) / 1000.0)


class EndpointsCheck:
    name: ClassVar[str] = "endpoints"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = ("payment endpoints: connect, TLS and HTTP time, loss, jitter and "
                                  "status, grouped by provider")
    timeout_s: ClassVar[float] = 15.0

    def run(self, ctx: CheckContext) -> Outcome:
        endpoints = list(getattr(ctx.settings, "endpoints", []) or [])
        if not endpoints:
            return Outcome.skipped("no [[endpoints]] configured")
        ca_file = str(getattr(ctx.settings, "ca_file", "") or "")
        try:
            # One context for every sample: loading the trust store is not what we measure.
            # No session is reused, so every sample is a full handshake.
            tls_ctx = net.tls_context(ca_file=ca_file, verify=True, alpn=["http/1.1"])
        except OSError as exc:
            return Outcome(status="error", error=fc.classify(exc),
                           summary=f"cannot load the trust store: {fc.describe(exc)}")
        cfg = ctx.config
        results = parallel(lambda ep: self._measure(ctx, ep, tls_ctx), endpoints, ctx)
        out = Outcome()
        by_provider: dict[str, dict[str, Any]] = {}
        rows: list[tuple[str, dict[str, Any]]] = []
        for ep, res in zip(endpoints, results, strict=True):
            if not isinstance(res, EndpointResult):
                # Cancelled at the deadline before it could report, or a bug: say so.
                failure = fc.GENERIC_TIMEOUT if isinstance(res, CheckCancelled) else fc.classify(res)
                res = EndpointResult(ep, planned=int(cfg.samples),
                                     samples=[Sample(failure=failure, phase="deadline")])
            item = self._report(ctx, res, out)
            provider = ep.provider or ep.name
            group = by_provider.setdefault(provider, {"provider": provider, "endpoints": 0,
                                                      "ok": 0, "failures": []})
            group["endpoints"] += 1
            group["ok"] += int(item["ok"])
            if item["failure"]:
                group["failures"].append(item["failure"])
            rows.append((provider, item))
        # Grouped by provider (stable within a provider): the diagnosis reads them in order.
        order = list(by_provider)
        for _, item in sorted(rows, key=lambda r: order.index(r[0])):
            out.evidence.append(item)
        for group in by_provider.values():
            group["all_down"] = group["ok"] == 0
        out.evidence.append({"what": "providers", "providers": list(by_provider.values())})
        down = [g["provider"] for g in by_provider.values() if g["all_down"]]
        ok_count = sum(int(item["ok"]) for _, item in rows)
        out.summary = (f"{ok_count}/{len(rows)} endpoints reachable"
                       + (f"; down: {', '.join(down)}" if down else ""))
        return out

    # ------------------------------------------------------------ measuring

    def _measure(self, ctx: CheckContext, ep: Any, tls_ctx: Any) -> EndpointResult:
        cfg = ctx.config
        parts = urlsplit(ep.url)
        host = parts.hostname or ""
        https = parts.scheme == "https"
        port = parts.port or (443 if https else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host_header = host if parts.port is None else f"{host}:{parts.port}"
        if ":" in host:
            host_header = f"[{host}]" + (f":{parts.port}" if parts.port else "")
        res = EndpointResult(ep, planned=int(cfg.samples))

        t0 = time.perf_counter()
        try:
            addresses = net.resolve(host, port, timeout=ctx.timeout(RESOLVE_CAP_S))
        except CheckCancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - classified
            res.resolve_failure = fc.classify(exc)
            return res
        res.resolve_s = time.perf_counter() - t0
        res.addresses = len(addresses)
        address = addresses[0]

        icmp_thread = None
        if getattr(cfg, "icmp", True):
            icmp_thread = threading.Thread(target=self._icmp, args=(ctx, address, res),
                                           daemon=True, name=f"icmp-{ep.name}")
            icmp_thread.start()
        else:
            res.icmp = {"status": "skipped", "reason": "disabled by latency.icmp = false"}

        for i in range(res.planned):
            left_samples = res.planned - i
            remaining = ctx.remaining() - min(REPORT_MARGIN_S, 0.1 * max(0.0, ctx.remaining()))
            if remaining <= 0.005 or ctx.cancelled.is_set():
                # Never taken: counted as lost (the planned count is the denominator).
                break
            # Share what is left fairly, so one stalled sample cannot starve the rest.
            budget = min(MAX_SAMPLE_S, max(remaining / left_samples, min(MIN_SAMPLE_S, remaining)))
            res.samples.append(self._sample(ctx, address, port, host, https, host_header, target,
                                            ep.method, tls_ctx, budget))
        if icmp_thread is not None:
            try:
                icmp_thread.join(ctx.timeout(2.0))
            except CheckCancelled:
                pass
            if icmp_thread.is_alive():
                res.icmp = {"status": "skipped", "reason": "no answer before the deadline"}
        return res

    def _sample(self, ctx: CheckContext, address: str, port: int, host: str, https: bool,
                host_header: str, target: str, method: str, tls_ctx: Any,
                budget: float) -> Sample:
        s = Sample()
        connect_cap_s = connect_timeout_s(ctx.config)
        end = time.monotonic() + budget

        def left() -> float:
            # ctx.timeout() raises CheckCancelled at the check's deadline.
            return ctx.timeout(max(0.001, end - time.monotonic()))

        sock = None
        try:
            s.phase = "connect"
            sock, s.connect_s = net.connect(address, port,
                                            timeout=min(left(), connect_cap_s))
            if https:
                s.phase = "tls"
                sock, s.tls_s = net.tls_handshake(sock, host, context=tls_ctx, timeout=left())
            s.phase = "http"
            http_timeout = left()
            t_http = time.monotonic()
            resp = net.http_exchange(sock, host_header, target, method=method or "HEAD",
                                     timeout=http_timeout)
            if time.monotonic() - t_http >= http_timeout:
                # payprobe.net's hard deadline shut the socket mid-answer; http.client
                # reads that EOF as the end of a (truncated) status line or headers,
                # so a slowloris "HTTP/1.1 200 O" would otherwise pass as a 200.
                raise TimeoutError(f"no complete answer within {http_timeout:.2f} s")
            s.ttfb_s, s.http_status = resp.ttfb_s, resp.status
            s.phase = None
        except CheckCancelled:
            s.failure, s.phase = fc.GENERIC_TIMEOUT, "deadline"
        except Exception as exc:  # noqa: BLE001 - every failure is a lost sample, classified
            s.failure = fc.classify(exc)
        finally:
            if sock is not None:
                try:
                    sock.close()
                except OSError:
                    pass
        return s

    @staticmethod
    def _icmp(ctx: CheckContext, address: str, res: EndpointResult) -> None:
        """Unprivileged ping (a datagram ICMP socket), extra evidence only.

        Linux allows it only for groups in net.ipv4.ping_group_range; Android
        allows it for apps. When it is not permitted we say so and move on.
        """
        try:
            from icmplib import ping
        except ImportError:
            res.icmp = {"status": "skipped", "reason": "icmplib is not installed"}
            return
        try:
            host = ping(address, count=ICMP_COUNT, interval=0.2, timeout=ctx.timeout(1.0),
                        privileged=False)
        except CheckCancelled:
            res.icmp = {"status": "skipped", "reason": "deadline reached"}
            return
        except Exception as exc:  # noqa: BLE001 - permission and socket errors alike
            name = type(exc).__name__
            reason = ("unprivileged ICMP is not permitted here (net.ipv4.ping_group_range)"
                      if "Permission" in name or isinstance(exc, PermissionError)
                      else fc.describe(exc))
            res.icmp = {"status": "skipped", "reason": reason}
            return
        res.icmp = {"status": "ok", "sent": host.packets_sent, "received": host.packets_received,
                    "loss_ratio": host.packet_loss,
                    "avg_rtt_s": round(host.avg_rtt / 1000.0, 6) if host.packets_received else None}

    # ------------------------------------------------------------ reporting

    def _report(self, ctx: CheckContext[LatencyConfig], res: EndpointResult,
                out: Outcome) -> dict[str, Any]:
        """Metrics, findings and the samples' evidence of one endpoint; returns its item."""
        summary = summarize(res)
        _report_metrics(res, summary, out)
        _report_findings(ctx.config, res, summary, out)
        out.evidence.append(_samples_evidence(ctx.config, res))
        ep = res.endpoint
        # The per-endpoint item of HACKING.md's table, exactly these keys.
        return {"what": "endpoint", "endpoint": ep.name, "provider": ep.provider,
                "group": ep.group, "ok": summary.reachable and not summary.http_error,
                "failure": summary.failure or _http_error_failure(summary),
                "http_status": summary.http_status}


def _report_metrics(res: EndpointResult, summary: SampleSummary, out: Outcome) -> None:
    """Resolve time, each phase's statistics, loss, jitter, status and ICMP RTT."""
    labels = {"endpoint": res.endpoint.name}
    if res.resolve_s is not None:
        out.metrics.append(Metric("dns_resolve_seconds", round(res.resolve_s, 6), "s", labels))
    for metric, attr in PHASES:
        values = phase_values(res.samples, attr)
        if not values:
            continue
        for stat, value in stats(values).items():
            out.metrics.append(Metric(metric, round(value, 6), "s", {**labels, "stat": stat}))
    out.metrics.append(Metric("loss_ratio", round(summary.loss_ratio, 4), "", labels))
    jit = jitter([s.connect_s for s in res.samples if s.connect_s is not None])
    if jit is not None:
        out.metrics.append(Metric("jitter_seconds", round(jit, 6), "s", labels))
    if summary.http_status is not None:
        out.metrics.append(Metric("http_status", float(summary.http_status), "", labels))
    if res.icmp.get("avg_rtt_s") is not None:
        out.metrics.append(Metric("icmp_rtt_seconds", res.icmp["avg_rtt_s"], "s", labels))


def _report_findings(cfg: LatencyConfig, res: EndpointResult, summary: SampleSummary,
                     out: Outcome) -> None:
    ep = res.endpoint
    p50_ms = round(summary.worst_p50_s * 1000.0, 1) if summary.p50_s else None
    findings = TargetFindings(out, ep.name, {
        "provider": ep.provider, "group": ep.group, "failure": summary.failure,
        "http_status": summary.http_status, "p50_ms": p50_ms,
        "loss_ratio": round(summary.loss_ratio, 4)})
    if not summary.reachable:
        _unreachable_finding(ep, res, summary, findings)
    else:
        _loss_finding(cfg, summary, findings)
        _slow_finding(cfg, summary, findings)
    if summary.http_error:
        _http_error_finding(summary, findings)


def _unreachable_finding(ep: Endpoint, res: EndpointResult, summary: SampleSummary,
                         findings: TargetFindings) -> None:
    where = "resolving its name" if res.resolve_failure else "every sample"
    findings.add("endpoint.unreachable", "fail",
                 f"{ep.name} ({ep.provider or 'no provider'}) is unreachable: {summary.failure} "
                 f"({where})",
                 phase="resolve" if res.resolve_failure else common_phase(res.samples))


def _loss_finding(cfg: LatencyConfig, summary: SampleSummary, findings: TargetFindings) -> None:
    if summary.loss_ratio > cfg.loss_fail_ratio:
        severity = "fail"
    elif summary.loss_ratio > cfg.loss_warn_ratio:
        severity = "warn"
    else:
        return
    findings.add("endpoint.loss", severity,
                 f"{findings.target}: {summary.lost} of {summary.planned} samples failed",
                 failures=dict(Counter(summary.failures)))


def _slow_finding(cfg: LatencyConfig, summary: SampleSummary, findings: TargetFindings) -> None:
    slow_ms = summary.worst_p50_s * 1000.0
    p50_s = summary.p50_s
    phase = "connect" if p50_s.get("connect_s", 0.0) >= p50_s.get("ttfb_s", 0.0) else "ttfb"
    if slow_ms > cfg.fail_ms:
        severity, threshold_ms = "fail", cfg.fail_ms
    elif slow_ms > cfg.warn_ms:
        severity, threshold_ms = "warn", cfg.warn_ms
    else:
        return
    findings.add("endpoint.slow", severity, f"{findings.target} is slow: median {phase} "
                 f"{slow_ms:.0f} ms (over {threshold_ms:g} ms)", phase=phase,
                 threshold_ms=threshold_ms)


def _http_error_failure(summary: SampleSummary) -> str | None:
    """The failure code of a service that answers with 429 or 5xx, else None."""
    if not summary.http_error:
        return None
    status = summary.http_status or 0
    return fc.HTTP_STATUS_5XX if status >= 500 else fc.HTTP_STATUS_4XX


def _http_error_finding(summary: SampleSummary, findings: TargetFindings) -> None:
    status = summary.http_status
    why = "rate limiting (429)" if status == 429 else f"a server error ({status})"
    findings.add("endpoint.http_error", "fail", f"{findings.target} answers with {why}: the "
                 "service is overloaded or failing", failure=_http_error_failure(summary))


def _samples_evidence(cfg: LatencyConfig, res: EndpointResult) -> dict[str, Any]:
    """Every sample of one endpoint, healthy or not, with how it was resolved."""
    ep = res.endpoint
    return {
        "what": "endpoint_samples", "endpoint": ep.name, "provider": ep.provider,
        "resolve_s": rounded(res.resolve_s), "resolve_failure": res.resolve_failure,
        "addresses": res.addresses, "planned": res.planned,
        "connect_timeout_s": connect_timeout_s(cfg),
        "samples": [s.to_dict() for s in res.samples], "icmp": res.icmp or None,
    }
