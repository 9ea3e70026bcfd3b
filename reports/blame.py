"""Whose fault is a failing payment provider? The rule table of the outage cause.

Every finding that can be about one provider's servers is a row of
:data:`TABLE`. A provider is blamed (``payment_service_outage``, naming it)
only when none of its endpoints works, another provider does, and the row's
condition holds; the wording then says which of three things it is:

==============  ===============================================================
``down``        its servers do not answer, refuse, reset, or answer 5xx errors
``slow``        it answers, but slowly (first byte, connect, TLS) or "busy"
                (HTTP 503 / 429)
``certificate`` its certificate is out of date (the clock being right), for
                other names, or from an issuer nobody trusts, where the other
                providers verify
==============  ===============================================================

The same finding on every provider is never blamed on every provider: it is
the device or the network (the clock, an interceptor, the path), and the other
rules (clock_wrong, proxy_vpn_interference, network_unstable) own it. A name
that does not resolve is never the provider's either: it is DNS's
(dns_problem), or the link's when lookups time out everywhere.
HACKING.md ("Diagnosis rules") has the same table in prose; a test keeps them in step.

Beside the table: the path check's ``path.loss_at_hop`` with the loss starting at
one provider's own network edge (:func:`edge_losses`) is that provider's too,
unless it happens at many providers' edges at once (:func:`edges_everywhere`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from payprobe import classify as fc
from payprobe.reports.facts import EndpointState, Facts, clock_state
from payprobe.reports.types import FindingEntry


@dataclass(frozen=True)
class Row:
    key: str
    reads: str            # the findings / failure codes of this row
    state: str            # down | slow | certificate | "" (never the provider's)
    blame_when: str       # what must also hold to blame the provider
    everywhere: str       # what the same finding on every provider means


TABLE: tuple[Row, ...] = (
    Row("cert_dates", "tls.expired, tls.not_yet_valid; tls_cert_expired, tls_cert_not_yet_valid",
        "certificate", "the clock is right (or the reference clock agrees); others verify",
        "clock_wrong (clock wrong or unmeasured); inconclusive when the clock is right"),
    Row("cert_name", "tls.hostname_mismatch; tls_hostname_mismatch", "certificate",
        "others verify; no DNS hijack or fake-IP for its names; no proxy or VPN",
        "proxy_vpn_interference (an interceptor) or dns_problem (hijack)"),
    Row("cert_issuer", "tls.untrusted_issuer; tls_unknown_authority", "certificate",
        "others verify; the issuer is no known interception tool; no proxy or VPN",
        "proxy_vpn_interference (an interceptor)"),
    Row("server_error", "endpoint.http_error 5xx (not 503); http_status_5xx", "down",
        "others answer", "proxy_vpn_interference (something answers for them)"),
    Row("overloaded", "endpoint.http_error 503 / 429", "slow", "others answer",
        "proxy_vpn_interference (something answers for them)"),
    Row("slow", "endpoint.slow (first byte or connect), tls.slow", "slow",
        "the others are fast and the link loses nothing", "network_unstable (slow everywhere)"),
    Row("refused", "endpoint.unreachable connection_refused", "down", "others answer",
        "proxy_vpn_interference (a firewall or filter app)"),
    Row("reset", "endpoint.unreachable connection_reset / aborted / eof", "down",
        "others answer; the loss seen elsewhere cannot explain it",
        "proxy_vpn_interference (a firewall or filter app)"),
    Row("timeout", "endpoint.unreachable generic_timeout (connect: unreachable; http: stalls), "
        "tls.handshake_failed", "down",
        "others answer; the loss seen elsewhere cannot explain it (K*q^n < 0.001)",
        "network_unstable (the path), or offline"),
    Row("unreachable", "endpoint.unreachable network_unreachable / host_unreachable", "down",
        "others answer", "offline"),
    Row("other", "any other failure: tls_handshake_failed, protocol errors", "down", "others answer",
        "proxy_vpn_interference (something answers for them)"),
    Row("resolve", "endpoint.unreachable / tls.handshake_failed in phase resolve, dns_* failures, "
        "'could not run for that name'", "", "never the provider",
        "dns_problem, or network_unstable when lookups time out at random"),
    Row("partial_loss", "endpoint.loss (some samples got through)", "", "never the provider",
        "network_unstable"),
)
ROWS = {row.key: row for row in TABLE}
STATE_ORDER = ("certificate", "down", "slow")
_CERT_ROWS = {fc.TLS_CERT_EXPIRED: "cert_dates", fc.TLS_CERT_NOT_YET_VALID: "cert_dates",
              fc.TLS_HOSTNAME_MISMATCH: "cert_name", fc.TLS_UNKNOWN_AUTHORITY: "cert_issuer"}
_FAILURE_ROWS = {fc.CONNECTION_REFUSED: "refused", fc.CONNECTION_RESET: "reset",
                 fc.CONNECTION_ABORTED: "reset", fc.EOF_ERROR: "reset",
                 fc.GENERIC_TIMEOUT: "timeout", fc.NETWORK_UNREACHABLE: "unreachable",
                 fc.HOST_UNREACHABLE: "unreachable", fc.ADDRESS_UNAVAILABLE: "unreachable",
                 **_CERT_ROWS}
_TLS_CODES = {"tls.expired": "cert_dates", "tls.not_yet_valid": "cert_dates",
              "tls.hostname_mismatch": "cert_name", "tls.untrusted_issuer": "cert_issuer",
              "tls.slow": "slow"}
PROXY_CODES = ("proxy.env", "proxy.system", "proxy.local_listener", "vpn.interface")


@dataclass
class Hit:
    """One row that matched, on one endpoint or host of the provider."""

    row: str
    where: str                       # endpoint name or TLS host
    finding: FindingEntry | None = None
    endpoint: EndpointState | None = None


@dataclass
class ProviderCase:
    provider: str
    hits: list[Hit] = field(default_factory=list)
    healthy: list[str] = field(default_factory=list)   # endpoints / hosts that worked cleanly

    @property
    def rows(self) -> set[str]:
        return {h.row for h in self.hits}

    @property
    def failing(self) -> bool:
        """Nothing of it works, and something of it failed for a reason of its own."""
        return not self.healthy and any(ROWS[h.row].state for h in self.hits)

    @property
    def state(self) -> str:
        states = {ROWS[h.row].state for h in self.hits}
        return next((s for s in STATE_ORDER if s in states), "")

    def findings(self) -> list[FindingEntry]:
        out: list[FindingEntry] = []
        for h in self.hits:
            if h.finding is not None and h.finding not in out:
                out.append(h.finding)
        return out


def endpoint_row(e: EndpointState) -> str:
    """The row of a failing endpoint's evidence item (its failure code and status)."""
    if e.resolve_failed:
        return "resolve"
    if (e.http_status or 0) >= 500 or e.http_status == 429 or e.failure == fc.HTTP_STATUS_5XX:
        return "overloaded" if e.http_status in (503, 429) else "server_error"
    if e.failure == fc.HTTP_STATUS_4XX:
        return "overloaded"
    return _FAILURE_ROWS.get(e.failure or "", "other")


def finding_row(f: FindingEntry) -> str | None:
    """The row of a finding about one provider's servers, None for any other finding."""
    code, data = f["code"], f.get("data") or {}
    if code in ("tls.expired", "tls.not_yet_valid") and f["severity"] != "fail":
        return None   # out of date only by the reference clock: it still works on this device
    if code in _TLS_CODES:
        return _TLS_CODES[code]
    if code == "tls.handshake_failed":
        if data.get("phase") == "resolve" or str(data.get("failure") or "").startswith("dns_"):
            return "resolve"
        return _FAILURE_ROWS.get(str(data.get("failure") or ""), "other")
    if code == "endpoint.slow":
        return "slow"
    if code == "endpoint.loss":
        return "partial_loss"
    return None


def provider_cases(facts: Facts) -> dict[str, ProviderCase]:
    """Every provider the run reached for, with the rows its endpoints and hosts hit."""
    cases: dict[str, ProviderCase] = {}
    slow_eps = {f.get("target", "") for f in facts.of("endpoint.slow")}
    for e in facts.endpoints:
        case = cases.setdefault(e.provider, ProviderCase(e.provider))
        if e.ok and e.endpoint not in slow_eps:
            case.healthy.append(e.endpoint)
        elif not e.ok:
            case.hits.append(Hit(endpoint_row(e), e.endpoint, endpoint=e))
    for f in facts.findings:
        row = finding_row(f)
        if row is None or f["severity"] == "info":
            continue
        group = facts.group(f)
        case = cases.setdefault(group, ProviderCase(group))
        case.hits.append(Hit(row, f.get("target", ""), finding=f))
    _add_healthy_hosts(facts, cases)
    measured = {e.provider for e in facts.endpoints}
    for group, case in cases.items():
        # An endpoint (or, where no endpoint was measured, a TLS host) that failed is not
        # healthy, whichever check saw it work. Endpoint names and host names are kept
        # apart: an endpoint named like its host is not the host.
        kind = "endpoint" if group in measured else "tls"
        failed = {h.where for h in case.hits if ROWS[h.row].state and _kind(h) == kind}
        case.healthy = [w for w in case.healthy if w not in failed]
    return cases


def _kind(hit: Hit) -> str:
    """Whether a hit is about an endpoint (by its name) or a TLS host."""
    if hit.endpoint is not None or (hit.finding is not None and hit.finding["code"].startswith("endpoint.")):
        return "endpoint"
    return "tls"


def _add_healthy_hosts(facts: Facts, cases: dict[str, ProviderCase]) -> None:
    """TLS hosts that verified, for providers the endpoints check did not measure."""
    measured = {e.provider for e in facts.endpoints}
    for place in facts.link.places:
        if place.layer != "tls" or not place.ok:
            continue
        group = place.provider or f"host:{place.name}"
        if group not in measured:
            cases.setdefault(group, ProviderCase(group)).healthy.append(place.name)


def others_work(cases: dict[str, ProviderCase], provider: str) -> bool:
    return any(c.healthy for p, c in cases.items() if p != provider)


def proxy_present(facts: Facts) -> bool:
    return bool(facts.of(*PROXY_CODES, min_severity="info") or facts.of("dns.fake_ip", min_severity="info"))


def cert_blame(facts: Facts, case: ProviderCase) -> str | None:
    """The confidence of blaming ``case``'s certificate on the provider, None when it is not its."""
    hits = [h for h in case.hits if h.row in ("cert_dates", "cert_name", "cert_issuer")]
    findings = [h.finding for h in hits if h.finding is not None]
    if any(f["data"].get("interceptor") for f in findings) or proxy_present(facts):
        return None
    names = {h.where for h in hits}
    if any(f.get("target") in names for f in facts.of("dns.hijack", "dns.fake_ip", min_severity="info")):
        return None
    if case.rows & {"cert_name", "cert_issuer"}:
        return "medium"
    reference_says_expired = bool(findings) and all(
        f["data"].get("valid_by_reference_clock") is False for f in findings)
    clock = clock_state(facts)
    if clock == "right" or reference_says_expired:
        return "high"
    return "medium" if clock == "unknown" else None


def lost_tries(facts: Facts, case: ProviderCase) -> int:
    """How many of the provider's tries were lost after its names resolved."""
    _, lost, _ = facts.link.provider_tries(case.provider)
    return lost or sum(1 for h in case.hits if h.row in ("timeout", "reset"))


# ------------------------------------------------------------------ loss at the provider's edge

EDGE_SEGMENT = "provider_edge"
# Providers whose paths all start losing at their own edge past which it is the way there.
_EDGES_MANY = 3


def edge_losses(facts: Facts) -> dict[str, list[FindingEntry]]:
    """provider -> its ``path.loss_at_hop`` findings whose loss starts at the provider's
    own network edge (the path check's segment ``provider_edge``)."""
    found: dict[str, list[FindingEntry]] = {}
    for f in facts.of("path.loss_at_hop"):
        if (f.get("data") or {}).get("segment") == EDGE_SEGMENT:
            found.setdefault(facts.provider(f), []).append(f)
    return found


def edges_everywhere(facts: Facts, edges: dict[str, list[FindingEntry]]) -> bool:
    """Loss at the edge of many providers at once is not theirs: it is the way to them
    (the internet provider's link), which network_unstable owns."""
    providers = {e.provider for e in facts.endpoints} | set(edges)
    return len(edges) >= _EDGES_MANY or (len(edges) >= 2 and len(edges) * 2 >= len(providers))
