"""The checks' evidence, read as *places* the run tried to reach, and how each try went.

A place is one thing a check reached for, tried one or more times: an
endpoint (one try per sample), a TLS host (one handshake), a resolver (one try
per query, plus one lost try per datagram it had to send again), a
connectivity check URL, a time source. Each try ended one way:

=============  ================================================================
``ok``         something answered (an HTTP 503 is an answer: the path worked)
``lossy``      it timed out or was cut off after the name resolved: what a
               lossy link does (generic_timeout, connection_reset, eof...)
``dns_lossy``  the name lookup itself timed out (dns_timeout, or any failure in
               the ``resolve`` phase that is not an answer)
``dns_hard``   the name lookup got an answer that was no (NXDOMAIN, SERVFAIL)
``hard``       a server or a rule said no: refused, unreachable, certificate
               errors, protocol errors. A lossy link does not do that.
``cut``        the run's own deadline stopped it: no evidence either way
=============  ================================================================

Only the evidence is read here (never findings), so the diagnosis sees every
try, healthy or not. A check that leaves no evidence of this kind (an older or
third-party check, a synthetic test run) yields no places; the rules then fall
back on findings alone. A try the check could not make because the name did
not resolve ("could not run for that name") counts as one failed lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from payprobe import classify as fc
from payprobe.net import is_ip
from payprobe.reports.types import CheckEntry

# Failures a link that loses packets produces (beyond the name lookup).
LOSSY_FAILURES = frozenset({fc.GENERIC_TIMEOUT, fc.CONNECTION_RESET, fc.CONNECTION_ABORTED,
                            fc.EOF_ERROR, fc.NTP_FAILURE})
DNS_LOSSY_FAILURES = frozenset({fc.DNS_TIMEOUT})
SYSTEM_RESOLVER = "system"
OUTCOMES = ("ok", "lossy", "dns_lossy", "dns_hard", "hard", "cut")
# Resent tries counted per query (a report from outside may claim any number).
MAX_LOST = 8


def outcome(failure: str | None, phase: str | None = None) -> str:
    """How one try ended (see the module's table)."""
    if failure is None or failure.startswith("http_status"):
        return "ok"
    if phase == "deadline":
        return "cut"
    if failure in DNS_LOSSY_FAILURES:
        return "dns_lossy"
    if failure.startswith("dns_"):
        return "dns_hard"
    if phase == "resolve":
        # Cut off while resolving (the deadline): the lookup did not answer in time.
        return "dns_lossy" if failure in LOSSY_FAILURES else "dns_hard"
    return "lossy" if failure in LOSSY_FAILURES else "hard"


@dataclass
class Place:
    """One thing the run reached for, and how its tries ended."""

    layer: str              # endpoints | tls | dns | connectivity | clock
    name: str               # endpoint name, TLS target, resolver, check URL, time source
    provider: str = ""      # the payment provider it belongs to ("" for none)
    tries: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    failures: list[str] = field(default_factory=list)

    def add(self, failure: str | None, phase: str | None = None, kind: str | None = None) -> None:
        self.tries[kind or outcome(failure, phase)] += 1
        if failure:
            self.failures.append(failure)

    def move(self, source: str, target: str) -> None:
        """Read one try of kind ``source`` again as ``target`` (another check showed what it was)."""
        if self.tries[source] > 0:
            self.tries[source] -= 1
            self.tries[target] += 1

    def count(self, *kinds: str) -> int:
        return sum(self.tries[k] for k in kinds)

    @property
    def ok(self) -> int:
        return self.tries["ok"]

    @property
    def lossy(self) -> int:
        return self.tries["lossy"]

    @property
    def dns_lossy(self) -> int:
        return self.tries["dns_lossy"]

    @property
    def failed(self) -> int:
        return self.count("lossy", "dns_lossy", "dns_hard", "hard")

    @property
    def flaky(self) -> bool:
        """It answered sometimes and was lost other times: the mark of a lossy link."""
        return self.ok > 0 and self.lossy > 0

    @property
    def group(self) -> str:
        """What one fault would take down together: a provider, a resolver, the check URLs."""
        if self.provider:
            return f"provider:{self.provider}"
        if self.layer == "dns":
            return f"dns:{self.name}"
        return self.layer


def host_providers(endpoints: Iterable[Any]) -> dict[str, str]:
    """TLS target label or hostname -> provider, from the configured endpoints."""
    out: dict[str, str] = {}
    for ep in endpoints:
        parts = urlsplit(str(getattr(ep, "url", "")))
        if not parts.hostname:
            continue
        provider = str(getattr(ep, "provider", "") or getattr(ep, "name", ""))
        default_port = 443 if parts.scheme == "https" else 80
        port = parts.port or default_port
        out.setdefault(parts.hostname, provider)
        out.setdefault(f"{parts.hostname}:{port}", provider)
    return out


def provider_of(target: str, hosts: Mapping[str, str]) -> str:
    """The provider of a TLS target label ("host" or "host:port"), or ""."""
    return hosts[target] if target in hosts else hosts.get(_host(target), "")


def _items(check: CheckEntry | None, *whats: str) -> list[dict[str, Any]]:
    return [e for e in (check.get("evidence") or [] if check else [])
            if isinstance(e, dict) and e.get("what") in whats]


def _endpoint_places(check: CheckEntry | None) -> list[Place]:
    places: list[Place] = []
    for item in _items(check, "endpoint_samples"):
        place = Place("endpoints", str(item.get("endpoint", "")), str(item.get("provider") or ""))
        if item.get("resolve_failure"):
            place.add(str(item["resolve_failure"]), "resolve")
        for sample in item.get("samples") or []:
            if isinstance(sample, dict):
                place.add(sample.get("failure"), sample.get("phase"))
        places.append(place)
    if places:
        return places
    # No samples in the evidence: one try per endpoint, from its summary item.
    for item in _items(check, "endpoint"):
        place = Place("endpoints", str(item.get("endpoint", "")), str(item.get("provider") or ""))
        place.add(None if item.get("ok") else item.get("failure"), item.get("phase"))
        places.append(place)
    return places


def _tls_places(check: CheckEntry | None, hosts: Mapping[str, str]) -> list[Place]:
    places = []
    for item in _items(check, "tls", "not_measured"):
        target = str(item.get("target", ""))
        place = Place("tls", target, provider_of(target, hosts))
        # "not_measured": the name did not resolve, so the handshake could not run.
        phase = "resolve" if item.get("what") == "not_measured" else item.get("phase")
        place.add(None if item.get("ok") else (item.get("failure") or fc.DNS_FAILURE), phase)
        places.append(place)
    return places


def _dns_places(check: CheckEntry | None) -> list[Place]:
    by_resolver: dict[str, Place] = {}
    for item in _items(check, "dns_query"):
        if item.get("skipped"):
            continue   # never sent (the resolver was given up): nothing was seen
        resolver = str(item.get("resolver", ""))
        place = by_resolver.setdefault(resolver, Place("dns", resolver))
        answered = item.get("rcode") is not None
        failure = item.get("failure")
        lost = item.get("lost")
        lost = min(lost, MAX_LOST) if isinstance(lost, int) and not isinstance(lost, bool) else 0
        for _ in range(lost):
            # Sent again and answered: the tries before it were lost on the way.
            place.add(fc.GENERIC_TIMEOUT, kind="lossy")
        if answered and item.get("rcode") in ("NOERROR", "NXDOMAIN"):
            place.add(None)
        elif resolver == SYSTEM_RESOLVER or answered:
            # getaddrinfo's failures are all lookups; a SERVFAIL is an answer that says no.
            place.add(failure or fc.DNS_FAILURE, "resolve")
        else:
            # A query sent straight to a resolver's address that got nothing back was
            # lost on the way, as a lost sample is: transport, not DNS.
            silent = failure in DNS_LOSSY_FAILURES or failure in LOSSY_FAILURES or failure is None
            place.add(failure or fc.GENERIC_TIMEOUT, kind="lossy" if silent else "hard")
    return list(by_resolver.values())


def _simple_places(check: CheckEntry | None, layer: str, whats: tuple[str, ...],
                   key: str) -> list[Place]:
    places = []
    for item in _items(check, *whats):
        place = Place(layer, str(item.get(key, "")))
        answered = item.get("ok") or item.get("status") is not None
        place.add(None if answered else (item.get("failure") or fc.UNKNOWN_FAILURE))
        places.append(place)
    return places


def _host(target: str) -> str:
    return target.rsplit(":", 1)[0] if target.count(":") == 1 else target


def _system_lookups(by_name: Mapping[str, CheckEntry]) -> tuple[set[str], set[str], set[str], set[str]]:
    """Names the system resolver answered / timed out on, in the dns check and in the
    TLS check (whose handshakes look their hosts up through it, as apps do)."""
    dns_ok, dns_lost, tls_ok, tls_lost = set[str](), set[str](), set[str](), set[str]()
    for item in _items(by_name.get("dns"), "dns_query"):
        if item.get("resolver") == SYSTEM_RESOLVER and not item.get("skipped"):
            name = str(item.get("name", "")).lower()
            if item.get("rcode") in ("NOERROR", "NXDOMAIN"):
                dns_ok.add(name)
            elif item.get("failure") in DNS_LOSSY_FAILURES:
                dns_lost.add(name)
    for item in _items(by_name.get("tls"), "tls", "not_measured"):
        name = _host(str(item.get("target", ""))).lower()
        if item.get("what") == "not_measured":
            if item.get("failure") in DNS_LOSSY_FAILURES:
                tls_lost.add(name)
        elif item.get("phase") != "resolve" and item.get("failure") not in DNS_LOSSY_FAILURES:
            tls_ok.add(name)
    return dns_ok, dns_lost, tls_ok, tls_lost


def _mark_intermittent(places: list[Place], by_name: Mapping[str, CheckEntry]) -> None:
    """The same name answered in one check and timed out in the other: that lookup was
    lost on the way (a resolver that is dead, or has no answer for a name, fails it
    every time). The system resolver then answered some tries and lost others."""
    system = next((p for p in places if p.layer == "dns" and p.name == SYSTEM_RESOLVER), None)
    if system is None:
        return
    dns_ok, dns_lost, tls_ok, tls_lost = _system_lookups(by_name)
    for _ in dns_lost & tls_ok:       # its timeout in the dns check was a lost datagram
        system.move("dns_lossy", "lossy")
        system.tries["ok"] += 1
    for _ in dns_ok & tls_lost:       # answered in the dns check, lost for the TLS check
        system.tries["lossy"] += 1
    alternates = [p for p in places if p.layer == "dns" and p is not system]
    if (system.dns_lossy and not system.lossy and alternates
            and all(p.ok == 0 and p.lossy for p in alternates)
            and any(p.lossy for p in places if p.layer != "dns")
            and (system.ok or _answered_by_name(by_name))):
        # It answered some lookups (a check URL or a time source reached by name counts)
        # and timed out on others, every other resolver timed out the same way, and tries
        # were lost after their names resolved: the link lost those lookups. A resolver
        # with no answer for some names does not make the others, and connections, time out.
        system.move("dns_lossy", "lossy")
        system.tries["ok"] = max(1, system.ok)


def _answered_by_name(by_name: Mapping[str, CheckEntry]) -> bool:
    """Whether a check URL or time source that is a name, not an address, answered:
    the system resolver looked it up."""
    for check, whats, key in (("connectivity", ("check_url",), "url"), ("clock", ("ntp", "http_date"), "source")):
        for item in _items(by_name.get(check), *whats):
            if item.get("ok") or item.get("status") is not None:
                source = str(item.get(key, ""))
                host = urlsplit(source).hostname if "://" in source else _host(source)
                if host and not is_ip(host):
                    return True
    return False


def read_places(by_name: Mapping[str, CheckEntry], hosts: Mapping[str, str]) -> list[Place]:
    """Every place the run's evidence shows, in check order."""
    readers: list[Callable[[], list[Place]]] = [
        lambda: _simple_places(by_name.get("connectivity"), "connectivity", ("check_url",), "url"),
        lambda: _dns_places(by_name.get("dns")),
        lambda: _tls_places(by_name.get("tls"), hosts),
        lambda: _simple_places(by_name.get("clock"), "clock", ("ntp", "http_date"), "source"),
        lambda: _endpoint_places(by_name.get("endpoints")),
    ]
    places = [p for read in readers for p in read()]
    _mark_intermittent(places, by_name)
    return places
