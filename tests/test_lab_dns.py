"""Network-lab scenarios for the dns check: each finding produced by a real
resolver misbehaving (dnsmasq, a silent or SERVFAIL server, NFQUEUE delay,
iptables DROP/REJECT/DNAT), and the cases that must NOT produce one (a CDN
answering elsewhere, an unreachable configured resolver).

Every test runs the real CLI inside a lab namespace and checks the finding's
``target`` and ``data`` keys documented in HACKING.md ("What findings carry").
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.lab.lab import Lab, Result

DEADLINE_S = 5.0
# Two names keep each run short; the first one's base domain (stripe.com) is
# where the check asks for a random name that cannot exist.
NAMES = ["api.stripe.com", "openapi.alipay.com"]
DNS_KEYS = {"resolver", "failure", "system_answers", "resolver_answers"}


def run_dns(lab: Lab, *, only: str = "dns", deadline_s: float = DEADLINE_S,
            dns: dict[str, Any] | None = None, **overrides: Any) -> Result:
    cfg = lab.write_config(deadline_s=deadline_s, dns={"names": NAMES, **(dns or {})}, **overrides)
    result = lab.payprobe("run", "--only", only, config=cfg)
    assert result.report is not None, f"no report (exit {result.returncode}):\n{result.stderr}"
    assert result.returncode in (0, 1, 2), result.stderr
    return result


def findings(result: Result, code: str) -> list[dict[str, Any]]:
    return [f for f in result.check("dns")["findings"] if f["code"] == code]


def codes(result: Result) -> set[str]:
    return {f["code"] for f in result.check("dns")["findings"]}


def by_target(result: Result, code: str) -> dict[str, dict[str, Any]]:
    found = findings(result, code)
    out = {f["target"]: f for f in found}
    assert len(out) == len(found), f"two {code} findings for one target: {found}"
    return out


def evidence(result: Result, what: str) -> list[dict[str, Any]]:
    return [e for e in result.check("dns")["evidence"] if e.get("what") == what]


def honest(lab: Lab, name: str) -> list[str]:
    return [lab.host_address(name)]


def custom_resolver(lab: Lab, answers: dict[str, str], *, unknown: str = "") -> str:
    """A dnsmasq with the lab's honest answers except ``answers`` (name -> address).

    Names it does not know are NXDOMAIN, or ``unknown`` when given (NXDOMAIN
    rewriting). lab.dns("honest") always answers what the lab's hosts say, so a
    resolver that differs for one name (a CDN giving another node) is built here.
    """
    addr = lab.alloc("dns")
    names = {**lab._hosts, **answers}
    hosts = lab.dir / f"custom-hosts-{addr}"
    hosts.write_text("".join(f"{a} {n}\n" for n, a in sorted(names.items())))
    what = f"dnsmasq-custom-{addr}"
    proc = lab._spawn(["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
                       "--no-hosts", f"--addn-hosts={hosts}", f"--listen-address={addr}",
                       "--bind-interfaces", "--port=53", "--pid-file=", "--user=root",
                       "--group=root", "--local-ttl=0", "--cache-size=0", f"--address=/#/{unknown}"],
                      what)
    lab._wait_bound(proc, what, [("udp", addr, 53), ("tcp", addr, 53)])
    return addr


# ---------------------------------------------------------------- healthy


@pytest.mark.lab
def test_dns_when_lab_healthy_no_findings_and_every_query_timed(lab):
    result = run_dns(lab)
    check = result.check("dns")
    assert check["status"] == "ok" and check["findings"] == [], check["findings"]
    # One dns_query_seconds per (resolver, name, type) and per system lookup.
    labels = {(m["labels"]["resolver"], m["labels"]["name"], m["labels"].get("type"))
              for m in check["metrics"] if m["name"] == "dns_query_seconds"}
    for name in NAMES:
        assert ("system", name, None) in labels
        for resolver in ("Lab DNS", "Lab DNS 2"):
            assert {(resolver, name, "A"), (resolver, name, "AAAA")} <= labels
    (nx,) = evidence(result, "nxdomain_probe")
    assert nx["rewrite"] is False and set(nx["resolvers_nxdomain"]) == {"Lab DNS", "Lab DNS 2"}


# ---------------------------------------------------------------- hijack, rewrite, fake-ip


@pytest.mark.lab
def test_dns_when_system_resolver_hijacks_reports_hijack_per_payment_name(lab):
    lab.set_system_resolver(lab.dns("hijack"))
    result = run_dns(lab)
    hijacks = by_target(result, "dns.hijack")
    assert set(hijacks) == set(NAMES)
    for name, f in hijacks.items():
        assert f["severity"] == "fail"
        assert set(f["data"]) >= DNS_KEYS
        assert f["data"]["resolver"] == "system"
        assert f["data"]["system_answers"] == [lab.rogue_address]
        assert f["data"]["resolver_answers"] == {"Lab DNS": honest(lab, name),
                                                 "Lab DNS 2": honest(lab, name)}
        # The rogue server's certificate comes from a CA nobody trusts.
        assert f["data"]["reason"] == "tls_failed"
        assert f["data"]["failure"] == "tls_unknown_authority"
    assert result.check("dns")["status"] == "fail"
    assert result.returncode == 2


@pytest.mark.lab
def test_dns_when_system_resolver_rewrites_nxdomain_reports_rewrite(lab):
    lab.set_system_resolver(lab.dns("hijack"))
    result = run_dns(lab)
    (f,) = findings(result, "dns.nxdomain_rewrite")
    assert f["severity"] == "warn"
    assert set(f["data"]) >= DNS_KEYS
    # The .invalid probe (RFC 6761: never exists) caught it without confirmation.
    assert f["target"] == "invalid" and f["data"]["probe"] == "invalid_tld"
    assert f["data"]["system_answers"] == [lab.ad_address]
    assert f["data"]["resolver"] == "system"


@pytest.mark.lab
def test_dns_when_only_nxdomain_rewritten_reports_rewrite_not_hijack(lab):
    # Honest for names that exist, an ad page for names that do not (an ISP).
    ad = lab.ad_address
    lab.set_system_resolver(custom_resolver(lab, {}, unknown=ad))
    result = run_dns(lab)
    assert codes(result) == {"dns.nxdomain_rewrite"}, result.check("dns")["findings"]
    (f,) = findings(result, "dns.nxdomain_rewrite")
    assert f["data"]["system_answers"] == [ad]
    assert result.check("dns")["status"] == "warn"


@pytest.mark.lab
def test_dns_when_system_resolver_is_fake_ip_reports_fake_ip_not_hijack(lab):
    lab.set_system_resolver(lab.dns("fakeip"))
    result = run_dns(lab)
    fakes = by_target(result, "dns.fake_ip")
    assert set(fakes) == set(NAMES)
    for f in fakes.values():
        assert f["severity"] == "warn"
        assert set(f["data"]) >= DNS_KEYS
        assert f["data"]["resolver"] == "system"
        (address,) = f["data"]["system_answers"]
        assert address.startswith(("198.18.", "198.19."))
    # A fake-ip tunnel is reported as such, not as a hijack or a rewrite.
    assert not codes(result) & {"dns.hijack", "dns.nxdomain_rewrite", "dns.system_failure"}
    assert result.check("dns")["status"] == "warn"


@pytest.mark.lab
def test_dns_when_system_answers_cdn_node_with_valid_tls_no_hijack(lab):
    # Another node of the same service: a different address, a valid certificate.
    cdn = lab.tls_server("valid", hostname="api.stripe.com")
    assert cdn != lab.host_address("api.stripe.com")
    lab.set_system_resolver(custom_resolver(lab, {"api.stripe.com": cdn}))
    result = run_dns(lab)
    assert "dns.hijack" not in codes(result), result.check("dns")["findings"]
    assert result.check("dns")["status"] == "ok"
    (probe,) = [e for e in evidence(result, "hijack_probe") if e["name"] == "api.stripe.com"]
    # The answers did differ, and TLS is what cleared them.
    assert probe["hijack"] is False and probe["reason"] == "tls_valid"
    assert probe["system_tls_failure"] is None


# ---------------------------------------------------------------- failures, reachability, speed


@pytest.mark.lab
# getaddrinfo says EAI_AGAIN ("temporary failure") both when the resolver is
# silent and when it answers SERVFAIL, so both are dns_timeout for the system.
@pytest.mark.parametrize("kind,failure", [("silent", "dns_timeout"), ("servfail", "dns_timeout")])
def test_dns_when_system_resolver_fails_but_resolvers_work_reports_system_failure(lab, kind, failure):
    lab.set_system_resolver(lab.dns(kind))
    result = run_dns(lab)
    failures = by_target(result, "dns.system_failure")
    assert set(failures) == set(NAMES)
    for name, f in failures.items():
        assert f["severity"] == "fail"
        assert set(f["data"]) >= DNS_KEYS | {"confirmed"}
        assert f["data"]["confirmed"] is True
        assert f["data"]["resolver"] == "system"
        assert f["data"]["failure"] == failure, f["data"]
        assert f["data"]["system_answers"] == []
        assert f["data"]["resolver_answers"] == {"Lab DNS": honest(lab, name),
                                                 "Lab DNS 2": honest(lab, name)}
    # The configured resolvers are fine: nothing is said against them.
    assert "dns.resolver_unreachable" not in codes(result)
    assert result.returncode == 2


@pytest.mark.lab
# What "cannot reach" looks like depends on where the packet dies: dropped on
# the way, a timeout; refused by a firewall on the device (the lab's REJECT is
# in OUTPUT, like an Android firewall app), EPERM at once; an ICMP
# port-unreachable never reaches dnspython's unconnected UDP socket (timeout).
@pytest.mark.parametrize("fault,failures", [
    ("blackhole", {"dns_timeout"}),
    ("reject", {"permission_denied", "connection_refused", "dns_timeout"}),
])
def test_dns_when_configured_resolver_unreachable_warns_about_it_only(lab, fault, failures):
    _, second = lab.resolvers[1]
    getattr(lab, fault)(second)
    result = run_dns(lab, dns={"slow_ms": 5000.0})
    check = result.check("dns")
    # A resolver this network cannot reach (8.8.8.8 from mainland China) is a
    # warning about that resolver, not a DNS failure of the device.
    assert check["status"] == "warn", check["findings"]
    assert codes(result) == {"dns.resolver_unreachable"}, check["findings"]
    (f,) = findings(result, "dns.resolver_unreachable")
    assert f["severity"] == "warn" and f["target"] == "Lab DNS 2"
    assert set(f["data"]) >= DNS_KEYS
    assert f["data"]["resolver"] == "Lab DNS 2"
    assert f["data"]["failure"] in failures, f["data"]
    assert "cannot be reached" in f["message"]
    assert result.returncode == 1


@pytest.mark.lab
def test_dns_when_resolver_delayed_over_slow_ms_reports_slow_for_it_only(lab):
    _, second = lab.resolvers[1]
    lab.delay(second, 400, proto="udp", port=53)
    result = run_dns(lab, dns={"slow_ms": 200.0})
    slow = by_target(result, "dns.slow")
    assert set(slow) == {"Lab DNS 2"}, slow
    f = slow["Lab DNS 2"]
    # Apps ask the system resolver, which is fast: the slow one kept for comparison
    # is noted, and nobody is told to change their DNS.
    assert f["severity"] == "info"
    assert result.check("dns")["status"] == "ok"
    assert "dns_problem" not in {c["code"] for c in result.report["causes"]}
    assert result.report["status"] == "healthy"
    assert set(f["data"]) >= DNS_KEYS
    assert f["data"]["resolver"] == "Lab DNS 2"
    assert f["data"]["p50_ms"] >= 400.0 and f["data"]["slow_ms"] == 200.0
    # The query time is measured, not guessed: each query to it took >= 400 ms.
    times = [m["value"] for m in result.check("dns")["metrics"]
             if m["name"] == "dns_query_seconds" and m["labels"]["resolver"] == "Lab DNS 2"]
    assert times and min(times) >= 0.4
    assert "dns.resolver_unreachable" not in codes(result)


@pytest.mark.lab
def test_dns_when_system_resolver_delayed_reports_system_slow(lab):
    # getaddrinfo goes to the first lab resolver; a second, undelayed copy of it
    # stays configured so the comparison still has a fast trusted resolver.
    lab.set_system_resolver(lab.dns("honest"))
    lab.delay(lab.system_resolver, 400, proto="udp", port=53)
    result = run_dns(lab, dns={"slow_ms": 200.0})
    slow = by_target(result, "dns.slow")
    assert set(slow) == {"system"}, slow
    assert slow["system"]["data"]["resolver"] == "system"
    assert slow["system"]["data"]["p50_ms"] >= 400.0
    # The one apps ask is slow: that is the DNS problem.
    assert slow["system"]["severity"] == "warn"
    causes = {c["code"]: c for c in result.report["causes"]}
    assert "dns_problem" in causes and "dns.slow" in causes["dns_problem"]["findings"]


# ---------------------------------------------------------------- transparent interception


@pytest.mark.lab
def test_dns_when_system_resolver_port53_intercepted_reports_hijack(lab):
    # resolv.conf names an honest resolver that is not one of the configured
    # ones; the network DNATs its port 53 to a hijacker (a router "DNS proxy").
    lab.set_system_resolver(lab.dns("honest"))
    lab.intercept_dns(lab.system_resolver, lab.dns("hijack"))
    result = run_dns(lab)
    hijacks = by_target(result, "dns.hijack")
    assert set(hijacks) == set(NAMES)
    assert all(f["data"]["system_answers"] == [lab.rogue_address] for f in hijacks.values())
    assert "dns.nxdomain_rewrite" in codes(result)


@pytest.mark.lab
def test_dns_when_system_and_one_trusted_resolver_intercepted_still_reports_hijack(lab):
    # The common case: every plain-DNS packet to one address is redirected, and
    # that address is both the system resolver and a configured one. The other
    # configured resolver is still honest and its answer passes TLS.
    lab.intercept_dns(lab.system_resolver, lab.dns("hijack"))
    result = run_dns(lab)
    hijacks = by_target(result, "dns.hijack")
    assert set(hijacks) == set(NAMES), result.check("dns")["findings"]
    for name, f in hijacks.items():
        assert f["data"]["system_answers"] == [lab.rogue_address]
        assert f["data"]["resolver_answers"]["Lab DNS 2"] == honest(lab, name)
        assert f["data"]["failure"] == "tls_unknown_authority"


@pytest.mark.lab
def test_dns_when_only_trusted_resolver_intercepted_system_unaffected_no_hijack(lab):
    # DNAT of a configured resolver's port 53 only: the phone's own lookups are
    # honest, so there is no hijack of the device; the evidence still shows the
    # intercepted resolver's rogue answers.
    _, second = lab.resolvers[1]
    lab.intercept_dns(second, lab.dns("hijack"))
    result = run_dns(lab)
    assert "dns.hijack" not in codes(result)
    answers = {e["answers"][0] for e in result.check("dns")["evidence"]
               if e.get("what") == "dns_query" and e["resolver"] == "Lab DNS 2"
               and e["name"] == "api.stripe.com" and e["type"] == "A"}
    assert answers == {lab.rogue_address}
