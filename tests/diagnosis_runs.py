"""Synthetic runs for the diagnosis tests: the checks' findings *and* evidence.

:class:`Run` starts as a healthy run of five endpoints (four providers plus
Stripe), their TLS hosts, the system resolver and two alternates, three check
URLs and a right clock; a test then breaks what its case needs and reads the
diagnosis. The entries have the shape the real checks give (HACKING.md, "What
findings carry"), so the rules see what they would see in the field.

``style="findings"`` is how the current TLS and endpoints checks report a name
that did not resolve (a finding per name, phase ``resolve``);
``style="evidence"`` is the "could not run for that name" form
(``not_measured`` evidence, no finding).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from payprobe.reports.diagnosis import diagnose
from payprobe.settings import Endpoint, Settings

ENDPOINTS = (("Alipay OpenAPI", "alipay", "openapi.alipay.com"),
             ("WeChat Pay API", "wechatpay", "api.mch.weixin.qq.com"),
             ("WeChat Pay API v3", "wechatpay", "api.wechatpay.cn"),
             ("UnionPay Gateway", "unionpay", "gateway.95516.com"),
             ("Stripe API", "stripe", "api.stripe.com"))
SETTINGS = Settings(endpoints=[Endpoint(n, f"https://{h}/", p) for n, p, h in ENDPOINTS])
HOST = {n: h for n, _, h in ENDPOINTS}
PROVIDER = {n: p for n, p, _ in ENDPOINTS}
URLS = ("http://connect.rom.miui.com/generate_204", "http://www.qualcomm.cn/generate_204",
        "http://connectivitycheck.gstatic.com/generate_204")
RESOLVERS = ("AliDNS", "DNSPod")
SAMPLES = 4
OK: dict[str, Any] = {"failure": None, "phase": None}


def lost(phase: str = "connect", failure: str = "generic_timeout") -> dict[str, Any]:
    return {"failure": failure, "phase": phase}


def finding(code: str, severity: str, target: str = "", **data: Any) -> dict[str, Any]:
    return {"code": code, "severity": severity, "message": code, "target": target, "data": data}


def check(name: str, findings: list[dict[str, Any]], evidence: list[dict[str, Any]],
          metrics: list[dict[str, Any]] | None = None, status: str | None = None) -> dict[str, Any]:
    worst = max((f["severity"] for f in findings), key=["info", "warn", "fail"].index, default="info")
    return {"name": name, "version": "1", "status": status or ("ok" if worst == "info" else worst),
            "duration_s": 1.0, "summary": "", "metrics": metrics or [], "findings": findings,
            "evidence": evidence, "error": None}


@dataclass
class Ep:
    """How one endpoint behaved."""

    samples: list[dict[str, Any]] = field(default_factory=lambda: [dict(OK) for _ in range(SAMPLES)])
    status: int = 200
    resolve: str | None = None                 # the failure of its name lookup
    slow: tuple[str, float] | None = None      # (phase, median ms)


@dataclass
class Tls:
    ok: bool = True
    failure: str | None = None
    phase: str | None = None


class Run:
    def __init__(self, style: str = "findings") -> None:
        self.style = style
        self.eps = {n: Ep() for n, _, _ in ENDPOINTS}
        self.tls = {h: Tls() for _, _, h in ENDPOINTS}
        self.tls_findings: list[dict[str, Any]] = []
        self.system: dict[str, str | None] = {h: None for _, _, h in ENDPOINTS}
        self.resolvers: dict[str, dict[str, str | None]] = {
            r: {h: None for _, _, h in ENDPOINTS} for r in RESOLVERS}
        self.dns_findings: list[dict[str, Any]] = []
        self.urls: dict[str, str | None] = dict.fromkeys(URLS)
        self.offline_reason: str | None = None
        self.conn_findings: list[dict[str, Any]] = []
        self.clock: tuple[str, float] = ("offset", 0.02)   # offset | skew | unknown
        self.ntp: dict[str, str | None] = {"ntp.aliyun.com": None, "203.107.6.88": None}
        self.other_checks: list[dict[str, Any]] = []

    # ---------------------------------------------------------------- faults

    def down(self, name: str, failure: str = "generic_timeout", phase: str = "connect") -> Run:
        """Every sample of ``name`` fails; its TLS host fails the same way."""
        self.eps[name].samples = [lost(phase, failure) for _ in range(SAMPLES)]
        if phase in ("connect", "tls"):
            self.tls[HOST[name]] = Tls(False, failure, "connect" if phase == "connect" else "handshake")
        return self

    def cert(self, name: str, code: str, **data: Any) -> Run:
        """The certificate of ``name``'s host fails verification (``code`` a tls.* finding)."""
        failure = {"tls.expired": "tls_cert_expired", "tls.not_yet_valid": "tls_cert_not_yet_valid",
                   "tls.hostname_mismatch": "tls_hostname_mismatch",
                   "tls.untrusted_issuer": "tls_unknown_authority"}[code]
        host = HOST[name]
        self.eps[name].samples = [lost("tls", failure) for _ in range(SAMPLES)]
        self.tls[host] = Tls(False, failure, "verify")
        self.tls_findings.append(finding(code, "fail", host, failure=failure, **data))
        return self

    def unresolved(self, name: str, failure: str = "dns_nxdomain", everywhere: bool = True) -> Run:
        """``name``'s host does not resolve (for the alternates too when ``everywhere``)."""
        host = HOST[name]
        for n, h in HOST.items():
            if h == host:
                self.eps[n].resolve = failure
        self.tls[host] = Tls(False, failure, "resolve")
        self.system[host] = failure
        if everywhere:
            for answers in self.resolvers.values():
                answers[host] = failure
        return self

    # ---------------------------------------------------------------- building

    def checks(self) -> list[dict[str, Any]]:
        return [self._connectivity(), self._dns(), self._tls(), self._clock(), *self.other_checks,
                self._endpoints()]

    def diagnose(self, lang: str = "en") -> tuple[list[dict[str, Any]], dict[str, Any]]:
        causes, summary = diagnose(self.checks(), lang=lang, settings=SETTINGS)  # type: ignore[arg-type]
        return list(causes), dict(summary)

    def _connectivity(self) -> dict[str, Any]:
        evidence: list[dict[str, Any]] = []
        for url, failure in self.urls.items():
            evidence.append({"what": "check_url", "url": url, "ok": failure is None, "failure": failure,
                             **({"status": 204, "verdict": "online"} if failure is None else {})})
        online = any(f is None for f in self.urls.values())
        evidence.append({"what": "internet", "ok": online})
        findings = list(self.conn_findings)
        if self.offline_reason:
            findings.append(finding("net.offline", "fail", reason=self.offline_reason))
        elif not online:
            findings.append(finding("net.offline", "warn", reason="all_failed"))
        return check("connectivity", findings, evidence)

    def _dns(self) -> dict[str, Any]:
        evidence: list[dict[str, Any]] = []
        for name, failure in self.system.items():
            evidence.append(_query("system", name, failure))
        for resolver, answers in self.resolvers.items():
            evidence += [_query(resolver, name, failure) for name, failure in answers.items()]
        findings = list(self.dns_findings)
        for name, failure in self.system.items():
            confirm = {r: ["192.0.2.1"] for r, a in self.resolvers.items() if a.get(name) is None}
            if failure and confirm:
                findings.append(finding("dns.system_failure", "fail", name, resolver="system", failure=failure,
                                        resolver_answers=confirm, confirmed=True))
            elif failure and failure != "dns_nxdomain":
                findings.append(finding("dns.system_failure", "warn", name, resolver="system", failure=failure,
                                        resolver_answers={}, confirmed=False))
        for resolver, answers in self.resolvers.items():
            if all(f is not None for f in answers.values()):
                findings.append(finding("dns.resolver_unreachable", "warn", resolver, resolver=resolver,
                                        failure="dns_timeout"))
        return check("dns", findings, evidence)

    def _tls(self) -> dict[str, Any]:
        evidence: list[dict[str, Any]] = []
        findings = list(self.tls_findings)
        for host, t in self.tls.items():
            if t.phase == "resolve" and self.style == "evidence":
                evidence.append({"what": "not_measured", "target": host, "reason": "name did not resolve",
                                 "failure": t.failure})
                continue
            evidence.append({"what": "tls", "target": host, "ok": t.ok, "verified": t.ok,
                             "failure": t.failure, "phase": t.phase})
            if not t.ok and t.phase in ("resolve", "connect", "handshake"):
                findings.append(finding("tls.handshake_failed", "fail", host, failure=t.failure, phase=t.phase))
        return check("tls", findings, evidence)

    def _clock(self) -> dict[str, Any]:
        kind, value = self.clock
        evidence: list[dict[str, Any]] = [{"what": "ntp", "source": s, "ok": f is None, "failure": f}
                                          for s, f in self.ntp.items()]
        if kind == "unknown":
            return check("clock", [finding("clock.unknown", "warn", offset_s=None)], evidence)
        metrics = [{"name": "clock_offset_seconds", "value": value, "unit": "s", "labels": {"source": "best"}}]
        findings = [] if kind == "offset" else [
            finding("clock.skew", "fail" if abs(value) > 300 else "warn", "best", offset_s=value)]
        return check("clock", findings, evidence, metrics)

    def _endpoints(self) -> dict[str, Any]:
        evidence: list[dict[str, Any]] = []
        findings: list[dict[str, Any]] = []
        for name, ep in self.eps.items():
            item, found = _endpoint(name, ep, self.style)
            evidence += item
            findings += found
        return check("endpoints", findings, evidence)


def _query(resolver: str, name: str, failure: str | None) -> dict[str, Any]:
    rcode = {None: "NOERROR", "dns_nxdomain": "NXDOMAIN", "dns_servfail": "SERVFAIL"}.get(failure)
    return {"what": "dns_query", "resolver": resolver, "name": name, "type": "A" if resolver != "system"
            else "ADDR", "rcode": rcode, "answers": ["192.0.2.1"] if failure is None else [],
            "failure": failure, "seconds": 0.01 if rcode else None}


def _endpoint(name: str, ep: Ep, style: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    provider = PROVIDER[name]
    base = {"provider": provider, "group": "cn"}
    samples = [] if ep.resolve else ep.samples
    ok_samples = [s for s in samples if s["failure"] is None]
    failures = [s["failure"] for s in samples if s["failure"]]
    failure = ep.resolve or (Counter(failures).most_common(1)[0][0] if failures and not ok_samples else None)
    http_error = bool(ok_samples) and (ep.status >= 500 or ep.status == 429)
    status = ep.status if ok_samples else None
    item = {"what": "endpoint", "endpoint": name, **base, "ok": bool(ok_samples) and not http_error,
            "failure": failure or ("http_status_5xx" if http_error and ep.status >= 500 else
                                   "http_status_4xx" if http_error else None), "http_status": status}
    evidence = [{"what": "endpoint_samples", "endpoint": name, "provider": provider, "resolve_failure": ep.resolve,
                 "planned": SAMPLES, "samples": [{**s, "http_status": status if s["failure"] is None else None}
                                                 for s in samples]}, item]
    findings: list[dict[str, Any]] = []
    if ep.resolve and style == "evidence":
        evidence.append({"what": "not_measured", "target": name, "host": HOST[name],
                         "reason": "name did not resolve", "failure": ep.resolve})
    elif not ok_samples:
        phase = "resolve" if ep.resolve else Counter(s["phase"] for s in samples).most_common(1)[0][0]
        findings.append(finding("endpoint.unreachable", "fail", name, **base, failure=failure, phase=phase))
    else:
        ratio = (SAMPLES - len(ok_samples)) / SAMPLES
        if ratio > 0.1:
            findings.append(finding("endpoint.loss", "fail" if ratio > 0.5 else "warn", name, **base,
                                    loss_ratio=ratio, failures=dict(Counter(failures))))
        if ep.slow:
            phase, ms = ep.slow
            findings.append(finding("endpoint.slow", "fail" if ms > 1000 else "warn", name, **base,
                                    phase=phase, p50_ms=ms, threshold_ms=1000 if ms > 1000 else 300))
    if http_error:
        findings.append(finding("endpoint.http_error", "fail", name, **base, http_status=ep.status,
                                failure=item["failure"]))
    return evidence, findings
