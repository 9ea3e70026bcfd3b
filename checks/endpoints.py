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
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

from payprobe import classify as fc
from payprobe import net
from payprobe.api import CheckCancelled, CheckContext, Finding, Metric, Outcome, parallel

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


@dataclass
class Sample:
    connect_s: float | None = None
    tls_s: float | None = None
    ttfb_s: float | None = None
    http_status: int | None = None
    failure: str | None = None
    phase: str | None = None          # where it failed: connect | tls | http | deadline

    @property
    def ok(self) -> bool:
        return self.failure is None

    def to_dict(self) -> dict[str, Any]:
        return {"connect_s": _r(self.connect_s), "tls_s": _r(self.tls_s),
                "ttfb_s": _r(self.ttfb_s), "http_status": self.http_status,
                "failure": self.failure, "phase": self.phase}


@dataclass
class EndpointResult:
    endpoint: Any                      # payprobe.engine.config.Endpoint
    resolve_s: float | None = None
    resolve_failure: str | None = None
    addresses: int = 0
    samples: list[Sample] = field(default_factory=list)
    planned: int = 0
    icmp: dict[str, Any] = field(default_factory=dict)


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def jitter(values: list[float]) -> float | None:
    """Mean absolute difference of consecutive values (RFC 3550's idea, unsmoothed)."""
    if len(values) < 2:
        return None
    return sum(abs(b - a) for a, b in zip(values, values[1:], strict=False)) / (len(values) - 1)


def stats(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "p50": percentile(values, 0.5), "p95": percentile(values, 0.95),
            "max": max(values)}


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
        # Just under the first SYN retransmission: a sample whose first SYN was lost
        # is lost, not merely slow (a retransmitted SYN would otherwise win the race).
        connect_cap_s = max(SYN_RTO_S - 0.05, float(ctx.config.fail_ms) / 1000.0)
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

    def _report(self, ctx: CheckContext, res: EndpointResult, out: Outcome) -> dict[str, Any]:
        cfg = ctx.config
        ep = res.endpoint
        label = ep.name
        labels = {"endpoint": label}
        samples = res.samples
        planned = max(1, res.planned)
        ok_samples = [s for s in samples if s.ok]
        # Samples never taken (deadline) count as lost: the planned count is the denominator.
        lost = planned - len(ok_samples) if res.resolve_failure is None else planned
        loss = lost / planned

        if res.resolve_s is not None:
            out.metrics.append(Metric("dns_resolve_seconds", round(res.resolve_s, 6), "s", labels))
        p50: dict[str, float] = {}
        for metric, attr in (("tcp_connect_seconds", "connect_s"),
                             ("tls_handshake_seconds", "tls_s"), ("http_ttfb_seconds", "ttfb_s")):
            values = [getattr(s, attr) for s in samples if getattr(s, attr) is not None]
            if not values:
                continue
            for stat, value in stats(values).items():
                out.metrics.append(Metric(metric, round(value, 6), "s", {**labels, "stat": stat}))
            p50[attr] = percentile(values, 0.5)
        out.metrics.append(Metric("loss_ratio", round(loss, 4), "", labels))
        jit = jitter([s.connect_s for s in samples if s.connect_s is not None])
        if jit is not None:
            out.metrics.append(Metric("jitter_seconds", round(jit, 6), "s", labels))
        statuses = [s.http_status for s in samples if s.http_status is not None]
        # The status most samples saw (the last one on a tie): one figure per endpoint.
        status = Counter(statuses).most_common(1)[0][0] if statuses else None
        if status is not None:
            out.metrics.append(Metric("http_status", float(status), "", labels))
        if res.icmp.get("avg_rtt_s") is not None:
            out.metrics.append(Metric("icmp_rtt_seconds", res.icmp["avg_rtt_s"], "s", labels))

        failures = [s.failure for s in samples if s.failure]
        failure = res.resolve_failure or (Counter(failures).most_common(1)[0][0]
                                          if failures and not ok_samples else None)
        p50_worst = max((p50.get("connect_s", 0.0), p50.get("ttfb_s", 0.0)), default=0.0)
        p50_ms = round(p50_worst * 1000.0, 1) if p50 else None
        data: dict[str, Any] = {"provider": ep.provider, "group": ep.group, "failure": failure,
                                "http_status": status, "p50_ms": p50_ms,
                                "loss_ratio": round(loss, 4)}

        def add(code: str, severity: str, message: str, **extra: Any) -> None:
            out.findings.append(Finding(code, severity, message, target=label,
                                        data={**data, **extra}))

        http_error = status is not None and (status >= 500 or status == 429)
        if not ok_samples:
            where = "resolving its name" if res.resolve_failure else "every sample"
            add("endpoint.unreachable", "fail",
                f"{label} ({ep.provider or 'no provider'}) is unreachable: {failure} ({where})",
                phase="resolve" if res.resolve_failure else _common_phase(samples))
        else:
            if loss > cfg.loss_fail_ratio:
                add("endpoint.loss", "fail", f"{label}: {lost} of {planned} samples failed",
                    failures=dict(Counter(failures)))
            elif loss > cfg.loss_warn_ratio:
                add("endpoint.loss", "warn", f"{label}: {lost} of {planned} samples failed",
                    failures=dict(Counter(failures)))
            slow_ms = p50_worst * 1000.0
            phase = "connect" if p50.get("connect_s", 0.0) >= p50.get("ttfb_s", 0.0) else "ttfb"
            if slow_ms > cfg.fail_ms:
                add("endpoint.slow", "fail", f"{label} is slow: median {phase} {slow_ms:.0f} ms "
                    f"(over {cfg.fail_ms:g} ms)", phase=phase, threshold_ms=cfg.fail_ms)
            elif slow_ms > cfg.warn_ms:
                add("endpoint.slow", "warn", f"{label} is slow: median {phase} {slow_ms:.0f} ms "
                    f"(over {cfg.warn_ms:g} ms)", phase=phase, threshold_ms=cfg.warn_ms)
        if http_error:
            assert status is not None
            why = "rate limiting (429)" if status == 429 else f"a server error ({status})"
            add("endpoint.http_error", "fail", f"{label} answers with {why}: the service is "
                "overloaded or failing", failure=fc.HTTP_STATUS_5XX if status >= 500
                else fc.HTTP_STATUS_4XX)

        ok = bool(ok_samples) and not http_error
        item_failure = failure or (
            (fc.HTTP_STATUS_5XX if status and status >= 500 else fc.HTTP_STATUS_4XX)
            if http_error else None)
        out.evidence.append({
            "what": "endpoint_samples", "endpoint": label, "provider": ep.provider,
            "resolve_s": _r(res.resolve_s), "resolve_failure": res.resolve_failure,
            "addresses": res.addresses, "planned": res.planned,
            "connect_timeout_s": max(SYN_RTO_S - 0.05, float(cfg.fail_ms) / 1000.0),
            "samples": [s.to_dict() for s in samples], "icmp": res.icmp or None,
        })
        # The per-endpoint item of HACKING.md's table, exactly these keys.
        return {"what": "endpoint", "endpoint": label, "provider": ep.provider,
                "group": ep.group, "ok": ok, "failure": item_failure, "http_status": status}


def _common_phase(samples: list[Sample]) -> str | None:
    phases = [s.phase for s in samples if s.phase]
    return Counter(phases).most_common(1)[0][0] if phases else None
