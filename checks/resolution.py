"""dns: the system resolver as apps see it, compared with trusted resolvers.

(Named ``resolution`` so that it never shadows dnspython's ``dns`` package.)

- The system resolver is ``socket.getaddrinfo`` (payprobe.net.resolve), one thread per
  name: that is what a payment app gets, Android included (which has no
  /etc/resolv.conf, so dnspython's default Resolver() is never used here).
- Each configured resolver is queried directly (UDP with TCP fallback on
  truncation, TCP, DoT, DoH) for A and AAAA, one ``dns_query_seconds`` per query.
- Findings (DESIGN §5): dns.system_failure, dns.resolver_unreachable, dns.slow,
  dns.hijack, dns.nxdomain_rewrite, dns.fake_ip; one method each.

The pieces:

=======================  ================================================================
``_dns_transport``       one query to one server (UDP/TCP/DoT/DoH, getaddrinfo), and where
                         a configured resolver is reached (its bootstrap address)
``_dns_resolvers``       every direct query of a run, in the background; a resolver
                         that answers none of its first queries is given up for the run
``_dns_answers``         address classes (fake-ip, public) and the hijack verdict (TLS)
this module              the check: what to ask, and the findings
=======================  ================================================================

A DoT or DoH resolver is reached at the IP the config gives (the default
profile's DoH resolver has its provider's well-known address), never through
the system resolver under test. One without an IP is not queried: the check
says so in an evidence note (``resolver_not_bootstrapped``) and its summary,
not in a finding, since nothing about the network was seen (see _dns_transport).

NXDOMAIN rewriting is tested with two names the system resolver should not
resolve: ``payprobe-<random>.invalid`` (RFC 6761: never exists, so any address
is a rewrite, no confirmation needed) and ``payprobe-<random>.<base domain of
the first name>`` (a name under a real payment domain, so a rewriting ISP sees
an ordinary lookup; some resolvers special-case ``.invalid``). The second one
is a rewrite only when a configured resolver says NXDOMAIN for it and none
resolves it: a domain with a wildcard record resolves everywhere and is not a
rewrite. Answers in 198.18.0.0/15 are a fake-ip proxy tunnel, not a rewrite.
"""

from __future__ import annotations

import secrets
import statistics
from typing import Any, ClassVar
from urllib.parse import urlsplit

from payprobe import classify as fc
from payprobe.api import CheckContext, Finding, Metric, Outcome, parallel
from payprobe.checks._dns_answers import Suspect, is_fake_ip, judge, suspects
from payprobe.checks._dns_resolvers import ResolverQueries
from payprobe.checks._dns_transport import (
    EVIDENCE_ANSWERS,
    SYSTEM,
    QueryResult,
    _dns_query,
    failure_code,
    not_bootstrapped_reason,
    or_cancelled,
    query_system,
)
from payprobe.settings import DnsConfig, Resolver

# Names other modules and tests use from here.
__all__ = ["EVIDENCE_ANSWERS", "QUERY_CAP_S", "SYSTEM", "DnsCheck", "QueryResult", "_dns_query",
           "base_domain", "endpoint_names"]

# Per-query caps (also bounded by the deadline): an unreachable resolver must not
# hold the check for its whole budget. getaddrinfo gets glibc's own 5 s per try.
QUERY_CAP_S = 3.0
SYSTEM_CAP_S = 5.0
# Second-level labels under which a registrable domain has three labels (x.com.cn).
_SLD_WORDS = frozenset({"com", "net", "org", "gov", "edu", "ac", "co"})
# Failure codes meaning "a DNS server answered, and said no": the resolver was reached.
_ANSWERED_CODES = frozenset({fc.DNS_SERVFAIL, fc.DNS_REFUSED})

# Per resolver, per name: the union of its A and AAAA answers (None: no definite answer).
Answers = dict[str, dict[str, list[str] | None]]


def base_domain(name: str) -> str:
    """The registrable domain, approximately: alipay.com, 95516.com, example.com.cn."""
    labels = name.rstrip(".").lower().split(".")
    if len(labels) >= 3 and labels[-2] in _SLD_WORDS and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def endpoint_names(ctx: CheckContext[DnsConfig]) -> list[str]:
    names: list[str] = list(ctx.config.names)
    if not names:
        for ep in getattr(ctx.settings, "endpoints", []) or []:
            host = urlsplit(ep.url).hostname
            if host:
                names.append(host)
    seen: list[str] = []
    for n in names:
        n = n.strip().rstrip(".").lower()
        if n and n not in seen:
            seen.append(n)
    return seen


class DnsCheck:
    name: ClassVar[str] = "dns"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = ("system resolver vs trusted resolvers (UDP/TCP/DoT/DoH): "
                                  "failures, hijacking, NXDOMAIN rewriting, fake-ip, speed")
    timeout_s: ClassVar[float] = 10.0
    # Stopped and reported skipped once the device is certainly offline.
    needs_network: ClassVar[bool] = True
    # Port of the TLS handshake that tells a hijack from a CDN (tests point it elsewhere).
    tls_port: ClassVar[int] = 443

    def run(self, ctx: CheckContext[DnsConfig]) -> Outcome:
        names = endpoint_names(ctx)
        if not names:
            return Outcome.skipped("no names to resolve: dns.names is empty and there are no endpoints")
        token = secrets.token_hex(6)
        nx_invalid = f"payprobe-{token}.invalid"
        nx_under = f"payprobe-{token}.{base_domain(names[0])}"

        # Direct queries run in the background while getaddrinfo runs here, so the
        # system answers reach the blackboard (tls, endpoints) without waiting for
        # a resolver that never answers.
        direct = ResolverQueries(list(ctx.config.resolvers), names, [(nx_under, "A")], ctx,
                                 QUERY_CAP_S)
        direct.start()
        system_names = names + [nx_invalid, nx_under]
        sys_raw = parallel(lambda n: query_system(n, ctx, SYSTEM_CAP_S), system_names, ctx)
        system = {n: or_cancelled(r, SYSTEM, n, "ADDR")
                  for n, r in zip(system_names, sys_raw, strict=True)}
        ctx.shared.put("dns.system_answers", {n: list(system[n].answers) for n in names})
        direct_results = direct.results()
        resolvers = direct.resolvers

        out = Outcome()
        self._record(out, [*system.values(), *direct_results], direct.not_bootstrapped)
        by_resolver, nx_direct = self._compare(resolvers, direct_results, nx_under)
        self._unreachable(out, resolvers, direct_results)
        self._slow(ctx, out, [*system.values(), *direct_results])
        self._system_failure(out, names, system, by_resolver)
        self._fake_ip(out, names, system)
        self._hijack(ctx, out, names, system, by_resolver)
        self._nxdomain(out, system[nx_invalid], system[nx_under], nx_direct)
        out.summary = self._summary(out, names, system, resolvers, by_resolver,
                                    direct.not_bootstrapped)
        return out

    @staticmethod
    def _record(out: Outcome, results: list[QueryResult], not_bootstrapped: list[Resolver]) -> None:
        """Every query as evidence, every timed one as a metric; resolvers left out as notes."""
        for r in results:
            out.evidence.append(r.to_evidence())
            if r.seconds is not None:
                labels = {"resolver": r.resolver, "name": r.name}
                if r.qtype in ("A", "AAAA"):
                    labels["type"] = r.qtype
                out.metrics.append(Metric("dns_query_seconds", round(r.seconds, 6), "s", labels))
        for res in not_bootstrapped:
            out.evidence.append({"what": "resolver_not_bootstrapped", "resolver": res.name,
                                 "protocol": res.protocol, "queried": False,
                                 "reason": not_bootstrapped_reason(res)})

    @staticmethod
    def _compare(resolvers: list[Resolver], results: list[QueryResult],
                 nx_under: str) -> tuple[Answers, dict[str, QueryResult]]:
        """(answers per resolver and name, each resolver's result for ``nx_under``)."""
        by_resolver: Answers = {r.name: {} for r in resolvers}
        nx_direct: dict[str, QueryResult] = {}
        for r in results:
            if r.name == nx_under:
                nx_direct[r.resolver] = r
                continue
            slot = by_resolver[r.resolver]
            if r.usable:
                current = slot.get(r.name) or []
                slot[r.name] = current + [a for a in r.answers if a not in current]
            else:
                slot.setdefault(r.name, None)
        return by_resolver, nx_direct

    # -- findings

    @staticmethod
    def _unreachable(out: Outcome, resolvers: list[Resolver], results: list[QueryResult]) -> None:
        for res in resolvers:
            mine = [r for r in results if r.resolver == res.name]
            if not mine or any(r.usable for r in mine):
                continue
            # Queries not sent (the resolver was given up) saw nothing: not counted.
            sent = [r for r in mine if not r.skipped]
            counts: dict[str, int] = {}
            for r in sent or mine:
                code = r.failure or fc.DNS_FAILURE
                counts[code] = counts.get(code, 0) + 1
            failure = max(counts, key=lambda k: counts[k])
            answered = any(r.responded for r in mine) or failure in _ANSWERED_CODES
            what = ("answers but resolves nothing" if answered
                    else "cannot be reached from this network")
            not_sent = len(mine) - len(sent) if sent else 0
            given_up = f"; given up, {not_sent} more not sent" if not_sent else ""
            out.findings.append(Finding(
                "dns.resolver_unreachable", "warn",
                f"resolver {res.name} {what} ({failure}{given_up}); this is about that resolver, "
                "not a DNS failure of the device",
                target=res.name,
                data={"resolver": res.name, "failure": failure, "failures": counts,
                      "system_answers": [], "resolver_answers": {}}))

    @staticmethod
    def _slow(ctx: CheckContext[DnsConfig], out: Outcome, results: list[QueryResult]) -> None:
        slow_ms = float(ctx.config.slow_ms)
        per: dict[str, list[float]] = {}
        for r in results:
            if r.seconds is not None and r.responded:
                per.setdefault(r.resolver, []).append(r.seconds)
        for resolver, values in per.items():
            p50_ms = statistics.median(values) * 1000.0
            if p50_ms > slow_ms:
                # Apps ask the system resolver: only its slowness delays a payment. A slow
                # resolver kept for comparison is noted (info), never blamed: a DoH one pays
                # a new TCP and TLS handshake per query here, 3 round trips against 1.
                out.findings.append(Finding(
                    "dns.slow", "warn" if resolver == SYSTEM else "info",
                    f"{'the system resolver' if resolver == SYSTEM else 'resolver ' + resolver} "
                    f"is slow: median {p50_ms:.0f} ms per lookup (over {slow_ms:.0f} ms)",
                    target=resolver,
                    data={"resolver": resolver, "failure": None, "p50_ms": round(p50_ms, 1),
                          "slow_ms": slow_ms, "queries": len(values),
                          "system_answers": [], "resolver_answers": {}}))

    @staticmethod
    def _system_failure(out: Outcome, names: list[str], system: dict[str, QueryResult],
                        by_resolver: Answers) -> None:
        for name in names:
            s = system[name]
            if s.answers:
                continue
            confirm = {res: answers[name] for res, answers in by_resolver.items()
                       if answers.get(name)}
            if confirm:
                out.findings.append(Finding(
                    "dns.system_failure", "fail",
                    f"the phone's DNS cannot resolve {name} ({s.failure}) while "
                    f"{', '.join(confirm)} can",
                    target=name,
                    data={"resolver": SYSTEM, "failure": s.failure, "system_answers": [],
                          "resolver_answers": confirm, "confirmed": True}))
            elif s.failure not in (fc.DNS_NXDOMAIN, fc.DNS_NO_ANSWER):
                # Nobody could confirm the name (no resolver reachable): still a
                # failure to report, but it may be the network, hence only a warning.
                out.findings.append(Finding(
                    "dns.system_failure", "warn",
                    f"the phone's DNS cannot resolve {name} ({s.failure}), and no configured "
                    "resolver could be asked to compare",
                    target=name,
                    data={"resolver": SYSTEM, "failure": s.failure, "system_answers": [],
                          "resolver_answers": {}, "confirmed": False}))

    @staticmethod
    def _fake_ip(out: Outcome, names: list[str], system: dict[str, QueryResult]) -> None:
        for name in names:
            fake = [a for a in system[name].answers if is_fake_ip(a)]
            if fake:
                out.findings.append(Finding(
                    "dns.fake_ip", "warn",
                    f"{name} resolves to a fake-ip address (198.18.0.0/15): a proxy app "
                    "(Clash-style) answers DNS and tunnels the traffic",
                    target=name,
                    data={"resolver": SYSTEM, "failure": None, "system_answers": fake,
                          "resolver_answers": {}}))

    def _hijack(self, ctx: CheckContext[DnsConfig], out: Outcome, names: list[str],
                system: dict[str, QueryResult], by_resolver: Answers) -> None:
        suspected = suspects(names, system, by_resolver)
        if not suspected:
            return
        verdicts = parallel(lambda s: judge(s, self.tls_port, ctx), suspected, ctx)
        for suspect, v in zip(suspected, verdicts, strict=True):
            if isinstance(v, BaseException):
                out.evidence.append({"what": "hijack_probe", "name": suspect.name, "hijack": None,
                                     "reason": "not_finished", "failure": failure_code(v)})
                continue
            out.evidence.append(v)
            if v.get("hijack"):
                out.findings.append(self._hijack_finding(suspect, v))

    @staticmethod
    def _hijack_finding(suspect: Suspect, verdict: dict[str, Any]) -> Finding:
        name, agreeing = suspect.name, suspect.agreeing
        why = ("it points to a private/reserved address where trusted resolvers give public ones"
               if verdict["reason"] == "bogon" else
               f"the server there fails TLS for {name} ({verdict['failure']})")
        differs = "every trusted resolver" if not agreeing else "a trusted resolver"
        also = (f"; {', '.join(agreeing)} gave the same answer, so DNS to "
                f"{'it' if len(agreeing) == 1 else 'them'} is probably intercepted too"
                if agreeing else "")
        return Finding(
            "dns.hijack", "fail",
            f"the phone's DNS answer for {name} differs from {differs} and {why}{also}",
            target=name,
            data={"resolver": SYSTEM, "failure": verdict.get("failure"), "reason": verdict["reason"],
                  "system_answers": suspect.system_answers, "resolver_answers": suspect.trusted,
                  "agreeing_resolvers": agreeing})

    @staticmethod
    def _nxdomain(out: Outcome, invalid: QueryResult, under: QueryResult,
                  direct: dict[str, QueryResult]) -> None:
        evidence: dict[str, Any] = {"what": "nxdomain_probe"}
        real_invalid = [a for a in invalid.answers if not is_fake_ip(a)]
        real_under = [a for a in under.answers if not is_fake_ip(a)]
        said_nx = [res for res, r in direct.items() if r.rcode == "NXDOMAIN"]
        resolved = {res: r.answers for res, r in direct.items() if r.answers}
        rewritten: QueryResult | None = None
        if real_invalid:
            rewritten, evidence["reason"] = invalid, "invalid_tld"
        elif real_under and said_nx and not resolved:
            rewritten, evidence["reason"] = under, "confirmed_nxdomain"
        elif real_under:
            evidence["reason"] = "wildcard" if resolved else "unconfirmed"
        evidence.update(invalid_resolves=bool(invalid.answers), under_resolves=bool(under.answers),
                        resolvers_nxdomain=said_nx, rewrite=rewritten is not None)
        out.evidence.append(evidence)
        if rewritten is None:
            return
        target = base_domain(rewritten.name) if rewritten is under else "invalid"
        out.findings.append(Finding(
            "dns.nxdomain_rewrite", "warn",
            "the phone's DNS answers with an address for names that do not exist "
            "(NXDOMAIN rewriting, usually an ISP or router redirecting typos to ads)",
            target=target,
            data={"resolver": SYSTEM, "failure": None, "system_answers": rewritten.answers,
                  "resolver_answers": {res: [] for res in said_nx}, "probe": evidence["reason"]}))

    @staticmethod
    def _summary(out: Outcome, names: list[str], system: dict[str, QueryResult],
                 resolvers: list[Resolver], by_resolver: Answers,
                 not_bootstrapped: list[Resolver]) -> str:
        ok = sum(1 for n in names if system[n].answers)
        reachable = sum(1 for r in resolvers if any(v is not None for v in by_resolver[r.name].values()))
        text = f"system resolver: {ok}/{len(names)} names resolved"
        if resolvers:
            text += f"; {reachable}/{len(resolvers)} trusted resolvers answered"
        if not_bootstrapped:
            text += (f"; not queried (no bootstrap address): "
                     f"{', '.join(r.name for r in not_bootstrapped)}")
        problems = sorted({f.code for f in out.findings})
        if problems:
            text += "; " + ", ".join(problems)
        return text
