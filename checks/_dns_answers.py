"""Judging the system resolver's answers: address classes and the hijack verdict.

``dns.hijack`` (DESIGN §5) means the system's answers for a name are disjoint
from every configured resolver's, and either TLS with the expected hostname
fails on the system's answer, or the system answers a private, loopback or
bogon address where the configured resolvers answer public ones. Answers that
differ but validate (CDNs) are not a hijack; answers that agree are never one.

``suspects`` picks the names worth judging, ``judge`` decides one of them (with
at most two TLS handshakes) and returns its verdict as evidence; the dns check
turns a hijack verdict into the finding.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from payprobe import classify as fc
from payprobe import net
from payprobe.api import CheckCancelled, CheckContext
from payprobe.checks._dns_transport import QueryResult, ca_file_of
from payprobe.settings import DnsConfig

TLS_PROBE_CAP_S = 3.0
FAKE_IP_NET = ipaddress.ip_network("198.18.0.0/15")


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


@dataclass(frozen=True)
class Suspect:
    """A name whose system answers some trusted resolver does not share."""

    name: str
    system_answers: list[str]
    trusted: dict[str, list[str]]    # resolver name -> its answers for the name
    agreeing: list[str]              # trusted resolvers sharing an answer with the system


def suspects(names: list[str], system: dict[str, QueryResult],
             by_resolver: dict[str, dict[str, list[str] | None]]) -> list[Suspect]:
    out: list[Suspect] = []
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
        out.append(Suspect(name, sys_answers, trusted, agreeing))
    return out


def judge(suspect: Suspect, tls_port: int, ctx: CheckContext[DnsConfig]) -> dict[str, Any]:
    """The verdict on one suspect, as evidence: ``hijack`` True/False and the ``reason``."""
    trusted_all = [a for answers in suspect.trusted.values() for a in answers]
    others = [a for res, answers in suspect.trusted.items() if res not in suspect.agreeing
              for a in answers]
    verdict: dict[str, Any] = {"what": "hijack_probe", "name": suspect.name,
                               "agreeing_resolvers": suspect.agreeing}
    if (not suspect.agreeing and not any(is_public(a) for a in suspect.system_answers)
            and all(is_public(a) for a in trusted_all)):
        verdict.update(hijack=True, reason="bogon", failure=None)
        return verdict
    failure = tls_probe(suspect.system_answers[0], suspect.name, tls_port, ctx)
    verdict["system_tls_failure"] = failure
    if failure is None:
        verdict.update(hijack=False, reason="tls_valid")  # a CDN, not a hijack
        return verdict
    # Control: the same handshake on a trusted answer the system did not
    # give. If it fails too, the network (or the trust store) is at fault,
    # not the system's answer.
    control = tls_probe(others[0], suspect.name, tls_port, ctx)
    verdict["trusted_tls_failure"] = control
    if control is None:
        verdict.update(hijack=True, reason="tls_failed", failure=failure)
    else:
        verdict.update(hijack=False, reason="inconclusive")
    return verdict


def tls_probe(address: str, hostname: str, port: int, ctx: CheckContext[DnsConfig]) -> str | None:
    """None when a verified TLS handshake for ``hostname`` succeeds at ``address``."""
    try:
        sock, _ = net.connect(address, port, timeout=ctx.timeout(TLS_PROBE_CAP_S))
        try:
            context = net.tls_context(ca_file=ca_file_of(ctx))
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
