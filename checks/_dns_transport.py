"""One DNS query to one server: the configured resolvers' transports and getaddrinfo.

The dns check (payprobe.checks.resolution) decides what to ask and what the
answers mean; this module only asks, and says how it went:

============================  ====================================================
``QueryResult``               one query's outcome, the check's unit of evidence
``Server``, ``server_of``     where a configured resolver is reached: an IP, a
                              port and, for DoT/DoH, the name TLS verifies
``query_resolver``            one direct query (UDP, resent when unanswered, with
                              TCP fallback on truncation; TCP, DoT, DoH); never raises but
                              CheckCancelled
``query_system``              getaddrinfo (payprobe.net.resolve), as an app asks
``_dns_query``                dnspython's ``dns.query`` without the optional
                              transports it would load
============================  ====================================================

DoH is RFC 8484 POST done with payprobe.net (connect, TLS, one HTTP/1.1
exchange) so that every phase is bounded by the check's deadline (dnspython's
own DoH needs an optional HTTP library and resolves the URL's host through
/etc/resolv.conf, which Android does not have).

Bootstrapping: a DoT or DoH resolver is reached at an IP from the config (its
``address``, or the URL's host when that is an IP literal), with the URL's host
(or ``hostname``) as the TLS name, Host header and certificate name. Its name
is never looked up through getaddrinfo: that is the system resolver under test,
and a failing or hijacked one would make the trusted resolver fail with it, or
send the comparison query to the hijacker. ``server_of`` gives None for such a
resolver and the check reports it as not bootstrapped instead of querying it.
"""

from __future__ import annotations

import http.client
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from payprobe import classify as fc
from payprobe import net
from payprobe.api import CheckCancelled, CheckContext
from payprobe.checks._dns_udp import udp_with_resends
from payprobe.settings import DnsConfig, Resolver

SYSTEM = "system"
# Answers kept per query in the evidence (a hostile resolver can send thousands).
EVIDENCE_ANSWERS = 16
DEFAULT_PORTS = {"udp": 53, "tcp": 53, "dot": 853, "doh": 443}
# Failure codes of a query that got no answer at all (nothing came back in time).
SILENT_CODES = frozenset({fc.DNS_TIMEOUT, fc.GENERIC_TIMEOUT})


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
    skipped: str = ""          # why the query was not sent ("resolver_silent")
    tries: int = 1             # UDP: datagrams sent (payprobe.checks._dns_udp)
    lost: int = 0              # of them, tries that went unanswered before the one answered

    @property
    def responded(self) -> bool:
        """A DNS server answered (success, NXDOMAIN, or SERVFAIL/REFUSED)."""
        return self.rcode is not None

    @property
    def usable(self) -> bool:
        """A definite answer: addresses, or a clean NXDOMAIN/NODATA."""
        return self.rcode in ("NOERROR", "NXDOMAIN")

    @property
    def silent(self) -> bool:
        """Sent, and nothing came back before it timed out."""
        return not self.skipped and self.failure in SILENT_CODES

    def to_evidence(self) -> dict[str, Any]:
        # A hostile resolver can answer thousands of records: the report keeps the
        # first EVIDENCE_ANSWERS and, when it cut some, the count (a ticket attachment
        # must stay small).
        evidence: dict[str, Any] = {
            "what": "dns_query", "resolver": self.resolver, "protocol": self.protocol,
            "name": self.name, "type": self.qtype, "rcode": self.rcode,
            "answers": self.answers[:EVIDENCE_ANSWERS],
            "seconds": None if self.seconds is None else round(self.seconds, 6)}
        # A default run makes ~80 queries, most of them answered: an answered query's
        # item leaves out what it does not have (no failure, no error text, every
        # answer listed), which readers take as absent (they use .get()).
        if len(self.answers) > EVIDENCE_ANSWERS:
            evidence["answer_count"] = len(self.answers)
        if self.failure is not None:
            evidence["failure"] = self.failure
        if self.error:
            evidence["error"] = self.error
        if self.skipped:
            evidence["skipped"] = self.skipped
        if self.lost:
            evidence["lost"] = self.lost   # sent again and answered: datagrams lost on the way
        return evidence


@dataclass(frozen=True)
class Server:
    """Where a configured resolver is reached."""

    address: str        # an IP literal, never a name
    port: int
    tls_name: str = ""  # DoT/DoH: SNI, certificate name, Host header
    url: str = ""       # DoH: the query URL (its path; its host is only a name)


def server_of(resolver: Resolver) -> Server | None:
    """The resolver's server, or None when the config gives no IP to reach it by."""
    protocol = resolver.protocol or "udp"
    if protocol == "doh":
        url = resolver.url or f"https://{resolver.hostname or resolver.address}/dns-query"
        parts = urlsplit(url)
        url_host = parts.hostname or ""
        default_port = parts.port or DEFAULT_PORTS["doh"]
        ip, port = (net.split_hostport(resolver.address, default_port) if resolver.address
                    else (url_host, default_port))
        tls_name = url_host if url_host and not net.is_ip(url_host) else resolver.hostname or url_host
        return Server(ip, port, tls_name, url) if net.is_ip(ip) else None
    if not resolver.address:
        return None
    ip, port = net.split_hostport(resolver.address, DEFAULT_PORTS.get(protocol, 53))
    if not net.is_ip(ip):
        return None
    return Server(ip, port, (resolver.hostname or ip) if protocol == "dot" else "")


def not_bootstrapped_reason(resolver: Resolver) -> str:
    """Why server_of gave None: one sentence for the evidence."""
    if (resolver.protocol or "udp") == "doh" and not resolver.address:
        return ("no address: its URL's host would have to be looked up through the "
                "system resolver under test")
    return "no IP address to reach it by"


def _dns_query() -> Any:
    """dns.query, without the optional transports it would otherwise load.

    At import, dnspython probes for DoH (httpx), DoQ (aioquic), trio and DNSSEC
    (cryptography) and imports whatever is installed: up to 25 MB and 350 modules
    on a phone, for transports this check does not use (its DoH is its own).
    """
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


def failure_code(exc: BaseException) -> str:
    if isinstance(exc, DohHttpError):
        return exc.code
    return fc.classify(exc)


def ca_file_of(ctx: CheckContext[DnsConfig]) -> str:
    return getattr(ctx.settings, "ca_file", "") or ""


# ---------------------------------------------------------------- transports


def _doh(q: Any, server: Server, timeout: float, ca_file: str) -> Any:
    """RFC 8484 POST over HTTP/1.1 to ``server``, every phase within ``timeout``."""
    import dns.message
    dns_query = _dns_query()  # first, so dns.query loads without the transports it would probe for

    end = time.monotonic() + timeout

    def left() -> float:
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("DoH query timed out")
        return remaining

    parts = urlsplit(server.url)
    sock, _ = net.connect(server.address, server.port, timeout=left())
    try:
        context = net.tls_context(ca_file=ca_file, alpn=["http/1.1"])
        tls, _ = net.tls_handshake(sock, server.tls_name, context=context, timeout=left())
        sock = tls
        wire = q.to_wire()
        target = (parts.path or "/dns-query") + (f"?{parts.query}" if parts.query else "")
        host = f"[{server.tls_name}]" if ":" in server.tls_name else server.tls_name
        host_header = host if parts.port is None else f"{host}:{parts.port}"
        head = (f"POST {target} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: {net.USER_AGENT}\r\n"
                "Content-Type: application/dns-message\r\nAccept: application/dns-message\r\n"
                f"Content-Length: {len(wire)}\r\nConnection: close\r\n\r\n").encode("latin-1")
        with net.hard_deadline(sock, left()):
            sock.settimeout(left())
            sock.sendall(head + wire)
            resp = http.client.HTTPResponse(sock, method="POST")
            resp.begin()
            body = resp.read(65536)
    finally:
        sock.close()
    if resp.status != 200:
        raise DohHttpError(resp.status)
    r = dns.message.from_wire(body)
    if not q.is_response(r):
        raise dns_query.BadResponse("DoH answer does not match the query")
    return r


def _exchange(q: Any, protocol: str, server: Server, timeout: float, ca_file: str,
              result: QueryResult) -> Any:
    """Send ``q`` over ``protocol`` and return the response; raises on any failure."""
    import dns.message
    dns_query = _dns_query()
    if protocol == "doh":
        return _doh(q, server, timeout, ca_file)
    if protocol == "tcp":
        return dns_query.tcp(q, server.address, timeout=timeout, port=server.port)
    if protocol == "dot":
        context = net.tls_context(ca_file=ca_file)
        return dns_query.tls(q, server.address, timeout=timeout, port=server.port,
                             ssl_context=context, server_hostname=server.tls_name)
    t0 = time.perf_counter()
    try:
        response, result.tries, result.lost = udp_with_resends(q, server.address, server.port, timeout)
        return response
    except dns.message.Truncated:
        # Too big for UDP: ask again over TCP, in what is left of the budget.
        left = timeout - (time.perf_counter() - t0)
        if left <= 0:
            raise TimeoutError("no time left for the TCP retry") from None
        result.protocol = "udp+tcp"
        return dns_query.tcp(q, server.address, timeout=left, port=server.port)


def _read_response(result: QueryResult, response: Any) -> None:
    import dns.rcode
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


def query_resolver(resolver: Resolver, server: Server, name: str, qtype: str,
                   ctx: CheckContext[DnsConfig], cap_s: float) -> QueryResult:
    """One direct query, within min(cap_s, the check's time left); never raises but CheckCancelled."""
    import dns.message

    protocol = resolver.protocol or "udp"
    result = QueryResult(resolver=resolver.name, name=name, qtype=qtype, protocol=protocol)
    q = dns.message.make_query(name, qtype)
    timeout = ctx.timeout(cap_s)
    t0 = time.perf_counter()
    try:
        response = _exchange(q, protocol, server, timeout, ca_file_of(ctx), result)
        result.seconds = time.perf_counter() - t0
        # dnspython times send-to-receive itself, inside the query call: that leaves
        # out the wait for the GIL among our own parallel queries (a few ms on 2 cores).
        measured = getattr(response, "time", None)
        if result.protocol in ("udp", "tcp", "dot") and isinstance(measured, float) and 0 < measured:
            result.seconds = min(result.seconds, measured)
    except CheckCancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure ends classified
        result.failure = failure_code(exc)
        result.error = fc.describe(exc)
        return result
    _read_response(result, response)
    return result


def query_system(name: str, ctx: CheckContext[DnsConfig], cap_s: float) -> QueryResult:
    """getaddrinfo, as an app would call it; never raises except CheckCancelled."""
    result = QueryResult(resolver=SYSTEM, name=name, qtype="ADDR", protocol="getaddrinfo")
    timeout = ctx.timeout(cap_s)
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


def or_cancelled(value: Any, resolver: str, name: str, qtype: str) -> QueryResult:
    """parallel() hands back exceptions (CheckCancelled at the deadline) as values."""
    if isinstance(value, QueryResult):
        return value
    if isinstance(value, CheckCancelled):
        # Still unanswered when the check's time ran out: from the user's side
        # that lookup timed out (an app would have given up too).
        return QueryResult(resolver=resolver, name=name, qtype=qtype, failure=fc.DNS_TIMEOUT,
                           error="no answer before the check's deadline")
    return QueryResult(resolver=resolver, name=name, qtype=qtype, failure=failure_code(value),
                       error=fc.describe(value))
