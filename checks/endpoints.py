"""endpoints: can this device reach each payment service, and how well.

For each ``[[endpoints]]`` entry, in parallel with the others, samples of TCP
connect, TLS handshake and one HTTP request, every phase timed separately
(payprobe.checks._endpoint_measure). A name with both A and AAAA answers is
sampled over each family, and a Happy Eyeballs connect shows which family an
app would use: that family's samples stand for the endpoint, the other's are
evidence, and the two together may say IPv6 is broken or slow here
(payprobe.checks._dualstack).

Results are grouped by provider and every endpoint leaves one evidence item,
healthy or not, so the diagnosis can tell "Alipay is down" from "your network
is down". A name that does not resolve is the DNS check's finding: here it is
evidence that the endpoint could not be measured, not a second finding.

Sampling adapts once the samples agree (payprobe.checks._sampling): a stalled
or slow endpoint stops early (its loss ratio is then over the samples taken),
a down one has the rest of its samples taken at once. Above a cap, healthy
endpoints' sample evidence is summarized (payprobe.checks._endpoint_evidence).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar

from payprobe import classify as fc
from payprobe import net
from payprobe.api import CheckCancelled, CheckContext, Metric, Outcome
from payprobe.checks._dualstack import family_metrics, ipv6_findings
from payprobe.checks._endpoint_evidence import (
    FULL_EVIDENCE_CAP,
    needs_full_evidence,
    samples_evidence,
    sampling_item,
)
from payprobe.checks._endpoint_measure import Request, measure_all
from payprobe.checks._endpoint_samples import (
    PHASES,
    EndpointResult,
    Sample,
    SampleSummary,
    common_phase,
    jitter,
    percentile,
    phase_values,
    stats,
    summarize,
)
from payprobe.checks._target_findings import NOT_RESOLVED, TargetFindings, note_not_measured
from payprobe.settings import Endpoint, LatencyConfig

# Names other modules and tests use from here.
__all__ = ["EndpointsCheck", "jitter", "percentile"]

UNSTARTED = "the check's deadline came before these endpoints could be measured"


class EndpointsCheck:
    name: ClassVar[str] = "endpoints"
    version: ClassVar[str] = "3"   # 3: stalls, adaptive sampling (issue 15)
    description: ClassVar[str] = ("payment endpoints: connect, TLS and HTTP time, loss, jitter and "
                                  "status per address family, grouped by provider")
    timeout_s: ClassVar[float] = 15.0
    needs_network: ClassVar[bool] = True   # skipped once the device is certainly offline

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
        raw = measure_all(ctx, endpoints, tls_ctx)
        # Never started before the deadline: not measured, which is not "unreachable".
        unstarted = [ep.name for ep, res in zip(endpoints, raw, strict=True) if res is None]
        results = [self._result(ctx, ep, res) for ep, res in zip(endpoints, raw, strict=True)
                   if res is not None]
        out = Outcome()
        if unstarted:
            out.evidence.append({"what": "unmeasured_endpoints", "reason": UNSTARTED,
                                 "endpoints": unstarted})
        by_provider: dict[str, dict[str, Any]] = {}
        rows: list[tuple[str, dict[str, Any]]] = []
        summarized: list[str] = []
        for i, res in enumerate(results):
            item, full = self._report(ctx, res, out, full=i < FULL_EVIDENCE_CAP)
            if not full:
                summarized.append(res.endpoint.name)
            ep = res.endpoint
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
        out.evidence.append(sampling_item(ctx.config, summarized))
        ipv6_findings(results, out)
        _status_and_summary(results, rows, by_provider, out)
        _own_up_to_unstarted(unstarted, len(endpoints), out)
        return out

    @staticmethod
    def _result(ctx: CheckContext, ep: Any, res: Any) -> EndpointResult:
        if isinstance(res, EndpointResult):
            return res
        # Cancelled at the deadline before it could report, or a bug: say so.
        failure = fc.GENERIC_TIMEOUT if isinstance(res, CheckCancelled) else fc.classify(res)
        return EndpointResult(ep, planned=int(ctx.config.samples),
                              samples=[Sample(failure=failure, phase="deadline")])

    # ------------------------------------------------------------ reporting

    def _report(self, ctx: CheckContext[LatencyConfig], res: EndpointResult, out: Outcome,
                *, full: bool) -> tuple[dict[str, Any], bool]:
        """Metrics, findings and the samples' evidence of one endpoint; returns its item,
        and whether its samples' evidence was given in full (``full``, or it has news)."""
        summary = summarize(res)
        _report_metrics(res, summary, out)
        ep = res.endpoint
        findings_before = len(out.findings)
        if res.resolve_failure:
            # The DNS check's finding; here only that this endpoint went unmeasured.
            out.evidence.append({"what": "not_measured", "target": ep.name,
                                 "host": Request.of(ep).host, "reason": NOT_RESOLVED,
                                 "failure": res.resolve_failure})
        else:
            _report_findings(ctx.config, res, summary, out)
        full = full or needs_full_evidence(res, len(out.findings) > findings_before)
        out.evidence.append(samples_evidence(res, full=full))
        # The per-endpoint item of HACKING.md's table, exactly these keys.
        return {"what": "endpoint", "endpoint": ep.name, "provider": ep.provider,
                "group": ep.group, "ok": summary.reachable and not summary.http_error,
                "failure": summary.failure or _http_error_failure(summary),
                "http_status": summary.http_status}, full


def _status_and_summary(results: list[EndpointResult], rows: list[tuple[str, dict[str, Any]]],
                        by_provider: dict[str, dict[str, Any]], out: Outcome) -> None:
    """The summary line, and a status that owns up to endpoints it could not measure.

    A name that does not resolve gives no finding here (the DNS check has it),
    but the check did not look at that endpoint, so it cannot say ``ok``: the
    report's verdict reads an ``ok`` endpoints check as "the payment services
    answer". With some endpoints measured the status is at least ``warn`` (the
    findings of the measured ones may make it worse); with none it is
    ``error`` -- the check could not run, which also keeps a run of this check
    alone from passing as healthy (a run is ``unknown`` when nothing was measured).
    """
    unresolved = [r for r in results if r.resolve_failure]
    # "down" only for providers measured at all: a name that did not resolve says nothing of its servers.
    measured = {r.endpoint.provider or r.endpoint.name for r in results if not r.resolve_failure}
    down = [g["provider"] for g in by_provider.values() if g["all_down"] and g["provider"] in measured]
    ok_count = sum(int(item["ok"]) for _, item in rows)
    out.summary = (f"{ok_count}/{len(rows)} endpoints reachable"
                   + (f"; down: {', '.join(down)}" if down else ""))
    note_not_measured(out, [r.endpoint.name for r in unresolved],
                      [str(r.resolve_failure) for r in unresolved],
                      measured=len(results) - len(unresolved), sep="; ")


def _own_up_to_unstarted(unstarted: list[str], total: int, out: Outcome) -> None:
    """Endpoints the deadline came before: not a finding (nothing was seen), but
    not ``ok`` either. None measured: ``timeout``, the runner's word for it."""
    if not unstarted:
        return
    out.summary += f"; {len(unstarted)} of {total} not measured before the deadline"
    if len(unstarted) == total:
        out.status, out.error = "timeout", fc.GENERIC_TIMEOUT
    elif out.resolved_status() == "ok":
        out.status = "warn"


def _report_metrics(res: EndpointResult, summary: SampleSummary, out: Outcome) -> None:
    """Resolve time, each phase's statistics, loss, jitter, status and ICMP RTT.

    The per-family series of a dual-stack endpoint come first: consumers that
    key a series by (endpoint, stat) alone then keep the unlabelled one, which
    is written last.
    """
    labels = {"endpoint": res.endpoint.name}
    if res.resolve_s is not None:
        out.metrics.append(Metric("dns_resolve_seconds", round(res.resolve_s, 6), "s", labels))
    family_metrics(res, out)
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
    over = f" over {_families_text(res)}" if res.dual_stack else ""
    findings.add("endpoint.unreachable", "fail",
                 f"{ep.name} ({ep.provider or 'no provider'}) is unreachable: {summary.failure} "
                 f"(every sample{over})", phase=common_phase(res.samples))


def _families_text(res: EndpointResult) -> str:
    return " and ".join("IPv6" if f == net.IPV6 else "IPv4" for f in res.families)


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
