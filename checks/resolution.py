"""dns: the system resolver as apps see it, compared with trusted resolvers.

(Named ``resolution`` so that it never shadows dnspython's ``dns`` package.)

- The system resolver is ``socket.getaddrinfo`` (payprobe.net.resolve), one thread per
  name: that is what a payment app gets, Android included (which has no
  /etc/resolv.conf, so dnspython's default Resolver() is never used here).
- Each configured resolver is queried directly (UDP with TCP fallback on
  truncation, TCP, DoT, DoH) for A and AAAA, one ``dns_query_seconds`` per query.
  DoH is RFC 8484 POST done with payprobe.net (connect, TLS, one HTTP/1.1 exchange)
  so that every phase is bounded by the check's deadline, the bootstrap name
  lookup included (dnspython's own DoH needs an optional HTTP library and
  resolves the URL's host through /etc/resolv.conf).
- Findings (DESIGN §5): dns.system_failure, dns.resolver_unreachable, dns.slow,
  dns.hijack, dns.nxdomain_rewrite, dns.fake_ip.

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

import http.client
import ipaddress
import secrets
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

from payprobe import classify as fc
from payprobe import net
from payprobe.api import CheckCancelled, CheckContext, Finding, Metric, Outcome, parallel

SYSTEM = "system"
# Per-query caps (also bounded by the deadline): an unreachable resolver must not
# hold the check for its whole budget. getaddrinfo gets glibc's own 5 s per try.
QUERY_CAP_S = 3.0
# Answers kept per query in the evidence (a hostile resolver can send thousands).
EVIDENCE_ANSWERS = 16
SYSTEM_CAP_S = 5.0
TLS_PROBE_CAP_S = 3.0
FAKE_IP_NET = ipaddress.ip_network("198.18.0.0/15")
DEFAULT_PORTS = {"udp": 53, "tcp": 53, "dot": 853, "doh": 443}
# Second-level labels under which a registrable domain has three labels (x.com.cn).
_SLD_WORDS = frozenset({"com", "net", "org", "gov", "edu", "ac", "co"})
# Failure codes meaning "a DNS server answered, and said no": the resolver was reached.
_ANSWERED_CODES = frozenset({fc.DNS_SERVFAIL, fc.DNS_REFUSED})


class DohHttpError(Exception):
    """A DoH server answered with an HTTP error status instead of a DNS message."""

    def __init__(self, status: int) -> None:
        super().__init__(f"DoH server answered HTTP {status}")
        self.status = status
        self.code = fc.HTTP_STATUS_5XX if status >= 500 else fc.HTTP_STATUS_4XX


@dataclass
class QueryResult:
    resolver: str
    name: str
    qtype: str                 # A | AAAA | ADDR (getaddrinfo: both families)
    rcode: str | None = None   # None when no DNS message came back
    answers: list[str] = field(default_factory=list)
    seconds: float | None = None
    failure: str | None = None
    error: str = ""
    protocol: str = ""

    @property
    def responded(self) -> bool:
        """A DNS server answered (success, NXDOMAIN, or SERVFAIL/REFUSED)."""
        return self.rcode is not None

    @property
    def usable(self) -> bool:
        """A definite answer: addresses, or a clean NXDOMAIN/NODATA."""
        return self.rcode in ("NOERROR", "NXDOMAIN")

    def to_evidence(self) -> dict[str, Any]:
        # A hostile resolver can answer thousands of records: the report keeps the
        # first few and the count (a ticket attachment must stay small).
        return {"what": "dns_query", "resolver": self.resolver, "protocol": self.protocol,
                "name": self.name, "type": self.qtype, "rcode": self.rcode,
                "answers": self.answers[:EVIDENCE_ANSWERS], "answer_count": len(self.answers),
                "seconds": None if self.seconds is None else round(self.seconds, 6),
                "failure": self.failure, "error": self.error}


# ---------------------------------------------------------------- helpers


def base_domain(name: str) -> str:
    """The registrable domain, approximately: alipay.com, 95516.com, example.com.cn."""
    labels = name.rstrip(".").lower().split(".")
    if len(labels) >= 3 and labels[-2] in _SLD_WORDS and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def is_fake_ip(address: str) -> bool:
    try:
        return ipaddress.ip_address(address) in FAKE_IP_NET
    except ValueError:
        return False


def is_public(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_global
    except ValueError:
        return False


def endpoint_names(ctx: CheckContext) -> list[str]:
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


def _dns_query() -> Any:
    """dns.query, without the optional transports it would otherwise load.

    At import, dnspython probes for DoH (httpx), DoQ (aioquic), trio and DNSSEC
    (cryptography) and imports whatever is installed: up to 25 MB and 350 modules
    on a phone, for transports this check does not use (its DoH is its own).
    """
    import sys
    if "dns.query" not in sys.modules:
        try:
            import dns._features
            for feature in ("doh", "doq", "trio", "dnssec"):
                dns._features.force(feature, False)
        except (ImportError, AttributeError):  # an older or newer dnspython: no harm
            pass
    import dns.query
    return dns.query


def _addresses(response: Any) -> list[str]:
    import dns.rdatatype
    out: list[str] = []
    for rrset in response.answer:
        if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            for rd in rrset:
                if rd.address not in out:
                    out.append(rd.address)
    return out


def _failure_code(exc: BaseException) -> str:
    if isinstance(exc, DohHttpError):
        return exc.code
    return fc.classify(exc)


# ---------------------------------------------------------------- transports


def _doh(q: Any, url: str, address: str, timeout: float, ca_file: str) -> Any:
    """RFC 8484 POST over HTTP/1.1, every phase within ``timeout``."""
    import dns.message
    _dns_query()  # first, so dns.query loads without the transports it would probe for
    import dns.query

    end = time.monotonic() + timeout

    def left() -> float:
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("DoH query timed out")
        return remaining

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or 443
    if not address:
        try:
            ipaddress.ip_address(host)
            address = host
        except ValueError:
            # Bootstrap through the system resolver: Android has no resolv.conf.
            address = net.resolve(host, port, timeout=left())[0]
    sock, _ = net.connect(address, port, timeout=left())
    try:
        context = net.tls_context(ca_file=ca_file, alpn=["http/1.1"])
        tls, _ = net.tls_handshake(sock, host, context=context, timeout=left())
        sock = tls
        wire = q.to_wire()
        target = (parts.path or "/dns-query") + (f"?{parts.query}" if parts.query else "")
        host_header = host if parts.port is None else f"{host}:{parts.port}"
        head = (f"POST {target} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: {net.USER_AGENT}\r\n"
                "Content-Type: application/dns-message\r\nAccept: application/dns-message\r\n"
                f"Content-Length: {len(wire)}\r\nConnection: close\r\n\r\n").encode("latin-1")
        with net.hard_deadline(sock, left()):
            sock.settimeout(left())
            sock.sendall(head + wire)
            resp = http.client.HTTPResponse(sock, method="POST")  # type: ignore[arg-type]
            resp.begin()
            body = resp.read(65536)
    finally:
        sock.close()
    if resp.status != 200:
        raise DohHttpError(resp.status)
    r = dns.message.from_wire(body)
    if not q.is_response(r):
        raise dns.query.BadResponse("DoH answer does not match the query")
    return r


def query_resolver(resolver: Any, name: str, qtype: str, ctx: CheckContext) -> QueryResult:
    """One direct query; never raises except CheckCancelled."""
    import dns.message
    _dns_query()  # first, so dns.query loads without the transports it would probe for
    import dns.query
    import dns.rcode

    protocol = resolver.protocol or "udp"
    result = QueryResult(resolver=resolver.name, name=name, qtype=qtype, protocol=protocol)
    ca_file = getattr(ctx.settings, "ca_file", "") or ""
    q = dns.message.make_query(name, qtype)
    timeout = ctx.timeout(QUERY_CAP_S)
    t0 = time.perf_counter()
    try:
        if protocol == "doh":
            url = resolver.url or f"https://{resolver.hostname or resolver.address}/dns-query"
            address = net.split_hostport(resolver.address, 443)[0] if resolver.address else ""
            response = _doh(q, url, address, timeout, ca_file)
        elif not resolver.address:
            raise ValueError(f"resolver {resolver.name}: no address configured for {protocol}")
        else:
            host, port = net.split_hostport(resolver.address, DEFAULT_PORTS[protocol])
            if protocol == "udp":
                try:
                    response = dns.query.udp(q, host, timeout=timeout, port=port,
                                             raise_on_truncation=True)
                except dns.message.Truncated:
                    # Too big for UDP: ask again over TCP, in what is left of the budget.
                    left = timeout - (time.perf_counter() - t0)
                    if left <= 0:
                        raise TimeoutError("no time left for the TCP retry") from None
                    result.protocol = "udp+tcp"
                    response = dns.query.tcp(q, host, timeout=left, port=port)
            elif protocol == "tcp":
                response = dns.query.tcp(q, host, timeout=timeout, port=port)
            else:  # dot
                sni = resolver.hostname or host
                context = net.tls_context(ca_file=ca_file)
                response = dns.query.tls(q, host, timeout=timeout, port=port, ssl_context=context,
                                         server_hostname=sni)
        result.seconds = time.perf_counter() - t0
        # dnspython times send-to-receive itself, inside the query call: that leaves
        # out the wait for the GIL among our own parallel queries (a few ms on 2 cores).
        measured = getattr(response, "time", None)
        if result.protocol in ("udp", "tcp", "dot") and isinstance(measured, float) and 0 < measured:
            result.seconds = min(result.seconds, measured)
    except CheckCancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure ends classified
        result.failure = _failure_code(exc)
        result.error = fc.describe(exc)
        return result
    rcode = response.rcode()
    result.rcode = dns.rcode.to_text(rcode)
    if rcode == dns.rcode.NOERROR:
        result.answers = _addresses(response)
    elif rcode == dns.rcode.NXDOMAIN:
        result.failure = fc.DNS_NXDOMAIN
    elif rcode == dns.rcode.REFUSED:
        result.failure = fc.DNS_REFUSED
    elif rcode == dns.rcode.SERVFAIL:
        result.failure = fc.DNS_SERVFAIL
    else:
        result.failure = fc.DNS_FAILURE
    return result


def query_system(name: str, ctx: CheckContext) -> QueryResult:
    """getaddrinfo, as an app would call it; never raises except CheckCancelled."""
    result = QueryResult(resolver=SYSTEM, name=name, qtype="ADDR", protocol="getaddrinfo")
    timeout = ctx.timeout(SYSTEM_CAP_S)
    t0 = time.perf_counter()
    try:
        result.answers = net.resolve(name, 443, timeout=timeout)
        result.seconds = time.perf_counter() - t0
        result.rcode = "NOERROR"
    except CheckCancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure ends classified
        result.failure = fc.classify(exc)
        result.error = fc.describe(exc)
        # getaddrinfo answered quickly with "no such name": that is a DNS answer.
        if result.failure in (fc.DNS_NXDOMAIN, fc.DNS_NO_ANSWER):
            result.seconds = time.perf_counter() - t0
            result.rcode = "NXDOMAIN" if result.failure == fc.DNS_NXDOMAIN else "NOERROR"
    return result


def tls_probe(address: str, hostname: str, port: int, ctx: CheckContext) -> str | None:
    """None when a verified TLS handshake for ``hostname`` succeeds at ``address``."""
    try:
        sock, _ = net.connect(address, port, timeout=ctx.timeout(TLS_PROBE_CAP_S))
        try:
            context = net.tls_context(ca_file=getattr(ctx.settings, "ca_file", "") or "")
            tls, _ = net.tls_handshake(sock, hostname, context=context,
                                       timeout=ctx.timeout(TLS_PROBE_CAP_S))
            tls.close()
        finally:
            sock.close()
    except CheckCancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - classified
        return fc.classify(exc)
    return None


# ---------------------------------------------------------------- the check


class DnsCheck:
    name: ClassVar[str] = "dns"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = ("system resolver vs trusted resolvers (UDP/TCP/DoT/DoH): "
                                  "failures, hijacking, NXDOMAIN rewriting, fake-ip, speed")
    timeout_s: ClassVar[float] = 10.0
    # Port of the TLS handshake that tells a hijack from a CDN (tests point it elsewhere).
    tls_port: ClassVar[int] = 443

    def run(self, ctx: CheckContext) -> Outcome:
        names = endpoint_names(ctx)
        if not names:
            return Outcome.skipped("no names to resolve: dns.names is empty and there are no endpoints")
        resolvers = list(ctx.config.resolvers)
        token = secrets.token_hex(6)
        nx_invalid = f"payprobe-{token}.invalid"
        nx_under = f"payprobe-{token}.{base_domain(names[0])}"

        # Direct queries run in the background while getaddrinfo runs here, so the
        # system answers reach the blackboard (tls, endpoints) without waiting for
        # a resolver that never answers.
        jobs = [(r, n, t) for r in resolvers for n in names for t in ("A", "AAAA")]
        jobs += [(r, nx_under, "A") for r in resolvers]
        box: dict[str, list[Any]] = {}

        def direct() -> None:
            box["r"] = parallel(lambda j: query_resolver(j[0], j[1], j[2], ctx), jobs, ctx)

        worker = threading.Thread(target=direct, daemon=True, name="dns-direct")
        worker.start()
        system_names = names + [nx_invalid, nx_under]
        sys_raw = parallel(lambda n: query_system(n, ctx), system_names, ctx)
        system = {n: _or_cancelled(r, SYSTEM, n, "ADDR") for n, r in zip(system_names, sys_raw,
                                                                         strict=True)}
        ctx.shared.put("dns.system_answers", {n: list(system[n].answers) for n in names})
        worker.join(max(0.0, ctx.deadline - time.monotonic()))
        direct_raw = box.get("r") or [CheckCancelled("deadline reached")] * len(jobs)
        direct_results = [_or_cancelled(r, j[0].name, j[1], j[2])
                          for j, r in zip(jobs, direct_raw, strict=True)]

        out = Outcome()
        for r in [*system.values(), *direct_results]:
            out.evidence.append(r.to_evidence())
            if r.seconds is not None:
                labels = {"resolver": r.resolver, "name": r.name}
                if r.qtype in ("A", "AAAA"):
                    labels["type"] = r.qtype
                out.metrics.append(Metric("dns_query_seconds", round(r.seconds, 6), "s", labels))

        # Per resolver, per name: the union of A and AAAA answers (None: no definite answer).
        by_resolver: dict[str, dict[str, list[str] | None]] = {r.name: {} for r in resolvers}
        nx_direct: dict[str, QueryResult] = {}
        for r in direct_results:
            if r.name == nx_under:
                nx_direct[r.resolver] = r
                continue
            slot = by_resolver[r.resolver]
            if r.usable:
                current = slot.get(r.name) or []
                slot[r.name] = current + [a for a in r.answers if a not in current]
            else:
                slot.setdefault(r.name, None)

        self._unreachable(out, resolvers, direct_results)
        self._slow(ctx, out, [*system.values(), *direct_results])
        self._system_failure(out, names, system, by_resolver)
        self._fake_ip(out, names, system)
        self._hijack(ctx, out, names, system, by_resolver)
        self._nxdomain(out, system[nx_invalid], system[nx_under], nx_direct)
        out.summary = self._summary(out, names, system, resolvers, by_resolver)
        return out

    # -- findings

    @staticmethod
    def _unreachable(out: Outcome, resolvers: list[Any], results: list[QueryResult]) -> None:
        for res in resolvers:
            mine = [r for r in results if r.resolver == res.name]
            if not mine or any(r.usable for r in mine):
                continue
            counts: dict[str, int] = {}
            for r in mine:
                code = r.failure or fc.DNS_FAILURE
                counts[code] = counts.get(code, 0) + 1
            failure = max(counts, key=lambda k: counts[k])
            answered = any(r.responded for r in mine) or failure in _ANSWERED_CODES
            what = ("answers but resolves nothing" if answered
                    else "cannot be reached from this network")
            out.findings.append(Finding(
                "dns.resolver_unreachable", "warn",
                f"resolver {res.name} {what} ({failure}); this is about that resolver, "
                "not a DNS failure of the device",
                target=res.name,
                data={"resolver": res.name, "failure": failure, "failures": counts,
                      "system_answers": [], "resolver_answers": {}}))

    @staticmethod
    def _slow(ctx: CheckContext, out: Outcome, results: list[QueryResult]) -> None:
        slow_ms = float(ctx.config.slow_ms)
        per: dict[str, list[float]] = {}
        for r in results:
            if r.seconds is not None and r.responded:
                per.setdefault(r.resolver, []).append(r.seconds)
        for resolver, values in per.items():
            p50_ms = statistics.median(values) * 1000.0
            if p50_ms > slow_ms:
                out.findings.append(Finding(
                    "dns.slow", "warn",
                    f"{'the system resolver' if resolver == SYSTEM else 'resolver ' + resolver} "
                    f"is slow: median {p50_ms:.0f} ms per lookup (over {slow_ms:.0f} ms)",
                    target=resolver,
                    data={"resolver": resolver, "failure": None, "p50_ms": round(p50_ms, 1),
                          "slow_ms": slow_ms, "queries": len(values),
                          "system_answers": [], "resolver_answers": {}}))

    @staticmethod
    def _system_failure(out: Outcome, names: list[str], system: dict[str, QueryResult],
                        by_resolver: dict[str, dict[str, list[str] | None]]) -> None:
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

    def _hijack(self, ctx: CheckContext, out: Outcome, names: list[str],
                system: dict[str, QueryResult],
                by_resolver: dict[str, dict[str, list[str] | None]]) -> None:
        # (name, system answers, trusted answers, trusted resolvers that agree with the system)
        suspects: list[tuple[str, list[str], dict[str, list[str]], list[str]]] = []
        for name in names:
            sys_answers = system[name].answers
            if not sys_answers or all(is_fake_ip(a) for a in sys_answers):
                continue  # nothing to compare, or a fake-ip tunnel (reported as dns.fake_ip)
            trusted = {res: list(a[name] or []) for res, a in by_resolver.items() if a.get(name)}
            if not trusted:
                continue
            agreeing = [res for res, answers in trusted.items() if set(sys_answers) & set(answers)]
            if len(agreeing) == len(trusted):
                continue  # answers every trusted resolver shares are never a hijack
            # Some trusted resolvers agree, others do not: when port 53 is
            # intercepted, a configured resolver's plain-DNS answer is the
            # hijacker's too (the lab's DNAT case), so agreement with one of them
            # proves nothing. Only TLS decides those (never the bogon rule).
            suspects.append((name, sys_answers, trusted, agreeing))
        if not suspects:
            return

        def judge(item: tuple[str, list[str], dict[str, list[str]], list[str]]) -> dict[str, Any]:
            name, sys_answers, trusted, agreeing = item
            trusted_all = [a for answers in trusted.values() for a in answers]
            others = [a for res, answers in trusted.items() if res not in agreeing for a in answers]
            verdict: dict[str, Any] = {"what": "hijack_probe", "name": name,
                                       "agreeing_resolvers": agreeing}
            if (not agreeing and not any(is_public(a) for a in sys_answers)
                    and all(is_public(a) for a in trusted_all)):
                verdict.update(hijack=True, reason="bogon", failure=None)
                return verdict
            failure = tls_probe(sys_answers[0], name, self.tls_port, ctx)
            verdict["system_tls_failure"] = failure
            if failure is None:
                verdict.update(hijack=False, reason="tls_valid")  # a CDN, not a hijack
                return verdict
            # Control: the same handshake on a trusted answer the system did not
            # give. If it fails too, the network (or the trust store) is at fault,
            # not the system's answer.
            control = tls_probe(others[0], name, self.tls_port, ctx)
            verdict["trusted_tls_failure"] = control
            if control is None:
                verdict.update(hijack=True, reason="tls_failed", failure=failure)
            else:
                verdict.update(hijack=False, reason="inconclusive")
            return verdict

        verdicts = parallel(judge, suspects, ctx)
        for (name, sys_answers, trusted, agreeing), v in zip(suspects, verdicts, strict=True):
            if isinstance(v, BaseException):
                out.evidence.append({"what": "hijack_probe", "name": name, "hijack": None,
                                     "reason": "not_finished", "failure": _failure_code(v)})
                continue
            out.evidence.append(v)
            if not v.get("hijack"):
                continue
            why = ("it points to a private/reserved address where trusted resolvers give public ones"
                   if v["reason"] == "bogon" else
                   f"the server there fails TLS for {name} ({v['failure']})")
            differs = "every trusted resolver" if not agreeing else "a trusted resolver"
            also = (f"; {', '.join(agreeing)} gave the same answer, so DNS to "
                    f"{'it' if len(agreeing) == 1 else 'them'} is probably intercepted too"
                    if agreeing else "")
            out.findings.append(Finding(
                "dns.hijack", "fail",
                f"the phone's DNS answer for {name} differs from {differs} and {why}{also}",
                target=name,
                data={"resolver": SYSTEM, "failure": v.get("failure"), "reason": v["reason"],
                      "system_answers": sys_answers, "resolver_answers": trusted,
                      "agreeing_resolvers": agreeing}))

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
                 resolvers: list[Any], by_resolver: dict[str, dict[str, list[str] | None]]) -> str:
        ok = sum(1 for n in names if system[n].answers)
        reachable = sum(1 for r in resolvers if any(v is not None for v in by_resolver[r.name].values()))
        text = f"system resolver: {ok}/{len(names)} names resolved"
        if resolvers:
            text += f"; {reachable}/{len(resolvers)} trusted resolvers answered"
        problems = sorted({f.code for f in out.findings})
        if problems:
            text += "; " + ", ".join(problems)
        return text


def _or_cancelled(value: Any, resolver: str, name: str, qtype: str) -> QueryResult:
    """parallel() hands back exceptions (CheckCancelled at the deadline) as values."""
    if isinstance(value, QueryResult):
        return value
    if isinstance(value, CheckCancelled):
        # Still unanswered when the check's time ran out: from the user's side
        # that lookup timed out (an app would have given up too).
        return QueryResult(resolver=resolver, name=name, qtype=qtype, failure=fc.DNS_TIMEOUT,
                           error="no answer before the check's deadline")
    return QueryResult(resolver=resolver, name=name, qtype=qtype, failure=_failure_code(value),
                       error=fc.describe(value))
