"""tls: who answers on the payment hosts' TLS port, and can the device trust it.

For each target (payprobe.checks._tls_probe): resolve, a TCP connect made as
apps make it (Happy Eyeballs over A and AAAA) and a TLS handshake with SNI,
each timed on its own (DNS is never inside a connect or handshake time). The
handshake is verified against the trust store (or ``ca_file``); when
verification fails a second, unverified handshake captures the certificate
that was presented, so the report can say who answered (Fiddler, Charles, an
unknown CA...). A name that does not resolve is the DNS check's finding; here
it is evidence that the target could not be measured.

A connect or handshake with no progress for 3 s is a stall (``stalled`` in the
evidence). When the handshake stalled but one with a small MSS went through,
the path drops large packets: that is ``net.mtu_blackhole``, one finding for
the run naming every such host, not a failed handshake blamed on the host.

Expiry is judged by the device clock and, when the clock check shares one,
by the reference clock too: a certificate "not yet valid" on a device whose
clock is a year behind is a clock problem, not an attack.

(Named handshake.py, not tls.py/ssl.py, so it never shadows a library.)
"""

from __future__ import annotations

import ssl
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

from payprobe import classify as fc
from payprobe import net
from payprobe.api import CheckCancelled, CheckContext, Finding, Metric, Outcome
from payprobe.checks import _certs, _workers
from payprobe.checks._target_findings import NOT_RESOLVED, TargetFindings, note_not_measured
from payprobe.checks._tls_probe import ALPN_OFFER, CERT_FAILURES, Contexts, probe
from payprobe.checks._tls_targets import Probe, targets_from
from payprobe.settings import TlsConfig

OLD_VERSIONS = frozenset({"SSLv2", "SSLv3", "TLSv1", "TLSv1.1"})
# How long to wait for the clock check's reference time when a date verdict needs it.
CLOCK_WAIT_S = 2.0


class TlsCheck:
    name: ClassVar[str] = "tls"
    version: ClassVar[str] = "3"   # 3: stalls, net.mtu_blackhole (issues 15, 16)
    description: ClassVar[str] = ("TLS handshake to the payment hosts: version, certificate chain, "
                                  "trust, expiry, interception")
    timeout_s: ClassVar[float] = 12.0
    needs_network: ClassVar[bool] = True   # skipped once the device is certainly offline

    def run(self, ctx: CheckContext) -> Outcome:
        targets = targets_from(ctx)
        if not targets:
            return Outcome.skipped("no https endpoints and no tls.targets configured")
        ca_file = str(getattr(ctx.settings, "ca_file", "") or "")
        try:
            verify_ctx = net.tls_context(ca_file=ca_file, verify=True, alpn=ALPN_OFFER)
        except (OSError, ssl.SSLError) as exc:
            return Outcome(status="error", error=fc.classify(exc),
                           summary=f"cannot load the trust store {'(ca_file)' if ca_file else ''}: "
                                   f"{fc.describe(exc)}")
        contexts = Contexts(verify_ctx, net.tls_context(verify=False, alpn=ALPN_OFFER), ca_file)
        results = _workers.each(lambda t: probe(ctx, t, contexts), targets, ctx)
        probes: list[Probe] = []
        for target, res in zip(targets, results, strict=True):
            if res is None:
                res = CheckCancelled("the deadline came before this target was probed")
            if isinstance(res, Probe):
                probes.append(res)
            else:
                # Still running at the deadline (CheckCancelled) or an unexpected error.
                failure = fc.classify(res)
                probes.append(Probe(target, failure=failure, phase="deadline" if isinstance(
                    res, CheckCancelled) else "handshake", message=fc.describe(res)))

        offset_s = self._reference_offset(ctx, probes)
        out = Outcome()
        for p in probes:
            if _unresolved(p):
                # The DNS check's finding; here only that this target went unmeasured.
                out.evidence.append({"what": "not_measured", "target": p.target.label,
                                     "host": p.target.host, "reason": NOT_RESOLVED,
                                     "failure": p.failure})
            else:
                self._report(ctx, p, offset_s, out)
        _mtu_blackhole_finding(probes, out)
        _status_and_summary(probes, out)
        return out

    @staticmethod
    def _reference_offset(ctx: CheckContext, probes: list[Probe]) -> float | None:
        """The clock check's offset (reference minus local), if it has one.

        We wait for it only when a date verdict depends on it: a certificate that
        is out of its validity period by the device clock.
        """
        now = datetime.now(timezone.utc)
        needs = any(p.failure in (fc.TLS_CERT_EXPIRED, fc.TLS_CERT_NOT_YET_VALID) or (
            p.leaf is not None and p.leaf.not_before is not None and p.leaf.not_after is not None
            and not p.leaf.not_before <= now <= p.leaf.not_after) for p in probes)
        wait = 0.0
        if needs:
            try:
                wait = min(CLOCK_WAIT_S, ctx.timeout())
            except CheckCancelled:
                wait = 0.0
        value = ctx.shared.get("clock.offset_s", timeout=wait)
        try:
            return float(value) if value is not None else None
        except (TypeError, ValueError):
            return None

    # ------------------------------------------------------------ reporting

    def _report(self, ctx: CheckContext[TlsConfig], p: Probe, offset_s: float | None,
                out: Outcome) -> None:
        """Metrics, findings and evidence of one target."""
        leaf = p.leaf
        now_dev = datetime.now(timezone.utc)
        now_ref = now_dev + timedelta(seconds=offset_s) if offset_s is not None else None
        by_dev, by_ref = _validity(leaf, now_dev), _validity(leaf, now_ref)
        who = _certs.interceptor(leaf) if leaf else None
        days_left = None
        if leaf is not None and leaf.not_after is not None:
            days_left = (leaf.not_after - now_dev).total_seconds() / 86400.0
        _report_metrics(p, days_left, out)
        findings = TargetFindings(out, p.target.label,
                                  _finding_data(p, offset_s, who, by_dev, by_ref))
        _failure_findings(p, who, findings)
        _hostname_finding(p, findings)
        _date_findings(p, by_dev, by_ref, findings)
        _session_warnings(ctx.config, p, days_left, findings)
        out.evidence.append(_tls_evidence(p, who, days_left, findings.data))


def _mtu_blackhole_finding(probes: list[Probe], out: Outcome) -> None:
    """net.mtu_blackhole: handshakes that stalled went through with a small MSS.

    About the path, not the hosts: one finding naming them all (a warning; what
    it breaks, the endpoints check reports as unreachable).
    """
    hit = [p for p in probes if p.mtu]
    if not hit:
        return
    mss = {p.target.label: int(p.mtu["mss"]) for p in hit if p.mtu}
    sizes = ", ".join(str(m) for m in sorted(set(mss.values())))
    out.findings.append(Finding(
        "net.mtu_blackhole", "warn",
        f"the path drops large packets: TLS to {', '.join(mss)} made no progress for "
        f"{net.STALL_S:g} s, but went through when this device asked for segments of at most "
        f"{sizes} bytes (the path MTU is smaller than the network says, and the ICMP that "
        "would say so is blocked)", target="",
        data={"targets": list(mss), "mss": mss, "stall_s": net.STALL_S}))


def _unresolved(p: Probe) -> bool:
    return p.phase == "resolve" and p.failure is not None


def _status_and_summary(probes: list[Probe], out: Outcome) -> None:
    """The summary line, and a status that owns up to targets it could not measure.

    As in the endpoints check: a name that does not resolve is the DNS check's
    finding, not one here, but an ``ok`` would read as "TLS to every payment
    host is fine". Some targets unmeasured: at least ``warn``; none measured:
    ``error`` (the check could not run).
    """
    unresolved = [p for p in probes if _unresolved(p)]
    bad = sorted({f.target for f in out.findings if f.severity == "fail"})
    measured = len(probes) - len(unresolved)
    out.summary = (f"{len(probes)} target(s): {measured - len(bad)} ok"
                   + (f", problems on {', '.join(bad)}" if bad else ""))
    note_not_measured(out, [p.target.label for p in unresolved], [str(p.failure) for p in unresolved],
                      measured=measured, sep=", ")


def _validity(leaf: _certs.CertInfo | None, now: datetime | None) -> str | None:
    """The leaf's validity at ``now`` (valid, expired, not_yet_valid); None when unknown."""
    if now is None or leaf is None or leaf.not_before is None or leaf.not_after is None:
        return None
    if now < leaf.not_before:
        return "not_yet_valid"
    if now > leaf.not_after:
        return "expired"
    return "valid"


def _finding_data(p: Probe, offset_s: float | None, who: str | None, by_dev: str | None,
                  by_ref: str | None) -> dict[str, Any]:
    """What every finding on this target carries: the failure and the leaf as judged."""
    leaf = p.leaf
    return {
        "failure": p.failure, "issuer": leaf.issuer_label if leaf else None,
        "not_before": _certs.iso(leaf.not_before) if leaf else None,
        "not_after": _certs.iso(leaf.not_after) if leaf else None,
        "version": p.version, "interceptor": who,
        "sha256": leaf.sha256 if leaf else None,
        "valid_by_device_clock": None if by_dev is None else by_dev == "valid",
        "valid_by_reference_clock": None if by_ref is None else by_ref == "valid",
        "clock_offset_s": offset_s,
    }


def _report_metrics(p: Probe, days_left: float | None, out: Outcome) -> None:
    label = p.target.label
    if p.connect_s is not None:
        out.metrics.append(Metric("tcp_connect_seconds", round(p.connect_s, 6), "s",
                                  {"target": label}))
    if p.handshake_s is not None:
        out.metrics.append(Metric("tls_handshake_seconds", round(p.handshake_s, 6), "s",
                                  {"target": label}))
    if days_left is not None:
        out.metrics.append(Metric("tls_cert_days_left", round(days_left, 3), "d",
                                  {"target": label}))


def _failure_findings(p: Probe, who: str | None, findings: TargetFindings) -> None:
    """The handshake failed, or the certificate failed verification (who issued it)."""
    label, failure = findings.target, p.failure
    # A handshake that went through with a small MSS is the path's fault (net.mtu_blackhole).
    if failure is not None and p.phase in ("connect", "handshake", "deadline") and not p.mtu:
        findings.add("tls.handshake_failed", "fail",
                     f"TLS to {label} failed during {p.phase}: {failure}", phase=p.phase)
    issuer = p.leaf.issuer_label if p.leaf else None
    who_text = who or (f"an unknown CA ({issuer})" if issuer else "an unknown CA")
    if failure == fc.TLS_UNKNOWN_AUTHORITY:
        findings.add("tls.untrusted_issuer", "fail",
                     f"{label} presented a certificate issued by {who_text}, which this device "
                     "does not trust: the connection is being intercepted or the trust store is "
                     "incomplete")
    elif failure is not None and p.phase == "verify" and failure not in CERT_FAILURES:
        findings.add("tls.handshake_failed", "fail",
                     f"certificate of {label} failed verification: {failure}", phase=p.phase)


def _hostname_finding(p: Probe, findings: TargetFindings) -> None:
    leaf = p.leaf
    # A verified handshake already checked the name; judge it ourselves only for a
    # certificate OpenSSL rejected for another reason (it reports one error only).
    mismatch = p.failure == fc.TLS_HOSTNAME_MISMATCH or (
        not p.verified and leaf is not None and leaf.parsed and not _certs.hostname_matches(
            p.target.host, leaf.sans))
    if mismatch:
        findings.add("tls.hostname_mismatch", "fail",
                     f"the certificate presented by {findings.target} is not valid for that name "
                     f"(it names {', '.join(leaf.sans[:4]) if leaf and leaf.sans else 'no hostnames'})",
                     sans=list(leaf.sans[:20]) if leaf else [])


def _date_findings(p: Probe, by_dev: str | None, by_ref: str | None,
                   findings: TargetFindings) -> None:
    """Expired or not yet valid, by the device clock and by the reference clock."""
    label = findings.target
    clock_note = ""
    if by_dev not in (None, "valid") and by_ref == "valid":
        clock_note = " by this device's clock, but valid by the reference time: the clock is wrong"
    for state, code, words in (("expired", "tls.expired", "has expired"),
                               ("not_yet_valid", "tls.not_yet_valid", "is not yet valid")):
        dev_says = by_dev == state or (by_dev is None and p.failure == {
            "expired": fc.TLS_CERT_EXPIRED, "not_yet_valid": fc.TLS_CERT_NOT_YET_VALID}[state])
        if dev_says:
            findings.add(code, "fail", f"the certificate of {label} {words}{clock_note}")
        elif by_ref == state:
            # The device accepts it only because its clock is off.
            findings.add(code, "warn", f"the certificate of {label} {words} by the reference "
                         "time; this device accepts it only because its clock is wrong")


def _session_warnings(cfg: TlsConfig, p: Probe, days_left: float | None,
                      findings: TargetFindings) -> None:
    """A working session that may not last: slow handshake, old TLS, certificate expiring."""
    label = findings.target
    if p.handshake_s is not None and p.handshake_s * 1000.0 > cfg.slow_ms:
        findings.add("tls.slow", "warn", f"the TLS handshake with {label} took "
                     f"{p.handshake_s * 1000:.0f} ms (over {cfg.slow_ms:g} ms)",
                     handshake_ms=round(p.handshake_s * 1000.0, 1), threshold_ms=cfg.slow_ms)
    if p.version in OLD_VERSIONS:
        findings.add("tls.old_version", "warn", f"{label} negotiated {p.version}, older than "
                     "TLS 1.2; current phones and payment SDKs may refuse it")
    if (p.verified and days_left is not None and 0 <= days_left < cfg.expiry_warn_days):
        findings.add("tls.expiring", "warn",
                     f"the certificate of {label} expires in {days_left:.1f} days",
                     days_left=round(days_left, 2), threshold_days=cfg.expiry_warn_days)


def _tls_evidence(p: Probe, who: str | None, days_left: float | None,
                  data: dict[str, Any]) -> dict[str, Any]:
    item = {
        "what": "tls", "target": p.target.label, "ok": p.failure is None, "verified": p.verified,
        "failure": p.failure, "phase": p.phase, "error": p.message or None,
        "captured_unverified": p.captured_unverified, "version": p.version,
        "cipher": p.cipher, "alpn": p.alpn, "interceptor": who,
        "connect_s": _rounded(p.connect_s), "handshake_s": _rounded(p.handshake_s),
        "ip_family": p.ip_family, "happy_eyeballs_s": _rounded(p.happy_eyeballs_s),
        "days_left": None if days_left is None else round(days_left, 3),
        "valid_by_device_clock": data["valid_by_device_clock"],
        "valid_by_reference_clock": data["valid_by_reference_clock"],
        "chain": [c.to_dict() for c in p.chain],
    }
    # Only when they say something: the report's size matters on a phone.
    if p.stalled:
        item["stalled"] = True
    if p.mtu:
        item["small_mss"] = p.mtu
    return item


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 6)
