"""How the system resolver's tries are read across checks (reports/evidence.py), pinned
try by try (mutation testing, docs/mutation.md).

A lookup the system resolver timed out on in one check and answered in another was
lost on the way; one it answered in the dns check and lost for the TLS check too. When
it times out while every alternate times out as well, tries are lost after names
resolved, and a check URL or time source was reached by name, its timeouts are the
link's. Each rule's every condition has a case where it alone is missing.
"""

from __future__ import annotations

from typing import Any

import pytest
from payprobe.reports import evidence

SYSTEM = "system"


def _query(name: str, failure: str | None = None, resolver: str = SYSTEM, **more: Any) -> dict[str, Any]:
    rcode = {None: "NOERROR", "dns_nxdomain": "NXDOMAIN"}.get(failure)
    return {"what": "dns_query", "resolver": resolver, "name": name, "rcode": rcode, "failure": failure, **more}


def _checks(dns: list[dict[str, Any]], tls: list[dict[str, Any]] = (), urls: list[dict[str, Any]] = (),
            clock: list[dict[str, Any]] = (), samples: list[dict[str, Any]] = ()) -> dict[str, Any]:
    def check(name: str, items: Any) -> dict[str, Any]:
        return {"name": name, "status": "ok", "metrics": [], "findings": [], "evidence": list(items)}
    endpoints = [{"what": "endpoint_samples", "endpoint": "E", "provider": "p", "samples": list(samples)}]
    return {"connectivity": check("connectivity", urls), "dns": check("dns", dns), "tls": check("tls", tls),
            "clock": check("clock", clock), "endpoints": check("endpoints", endpoints if samples else [])}


def _system(checks: dict[str, Any]) -> dict[str, int]:
    place = next(p for p in evidence.read_places(checks, {}) if p.layer == "dns" and p.name == SYSTEM)
    return {k: v for k, v in place.tries.items() if v}


# ------------------------------------------------------------------ the same name, two checks


def test_system_when_a_name_timed_out_in_dns_and_resolved_for_tls_counts_a_lost_and_an_answered_try():
    checks = _checks([_query("A.Example", "dns_timeout"), _query("b.example")],
                     tls=[{"what": "tls", "target": "a.example:443", "ok": False, "failure": "generic_timeout",
                           "phase": "connect"}])
    assert _system(checks) == {"ok": 2, "lossy": 1}


def test_system_when_a_name_resolved_in_dns_and_timed_out_for_tls_counts_a_lost_try():
    checks = _checks([_query("a.example")],
                     tls=[{"what": "not_measured", "target": "A.example", "failure": "dns_timeout"}])
    assert _system(checks) == {"ok": 1, "lossy": 1}


@pytest.mark.parametrize("dns, tls", [
    # never sent (the resolver was given up): nothing seen
    ([_query("a.example", "dns_timeout", skipped="resolver_silent")],
     [{"what": "tls", "target": "a.example", "ok": True}]),
    # another resolver's timeout is not the system resolver's
    ([_query("a.example", "dns_timeout", resolver="AliDNS")], [{"what": "tls", "target": "a.example", "ok": True}]),
    # the TLS check's own lookup failed: it did not resolve there either
    ([_query("a.example", "dns_timeout")],
     [{"what": "tls", "target": "a.example", "ok": False, "failure": "generic_timeout", "phase": "resolve"}]),
    ([_query("a.example", "dns_timeout")],
     [{"what": "tls", "target": "a.example", "ok": False, "failure": "dns_timeout", "phase": "connect"}]),
    # a name that does not exist is an answer, not a loss
    ([_query("a.example")], [{"what": "not_measured", "target": "a.example", "failure": "dns_nxdomain"}]),
    # different names: a resolver may have no answer for one of them
    ([_query("a.example", "dns_timeout")], [{"what": "tls", "target": "b.example", "ok": True}]),
    ([_query("a.example", "dns_servfail")], [{"what": "tls", "target": "a.example", "ok": True}]),
])
def test_system_when_the_two_checks_do_not_show_one_name_both_answered_and_lost_counts_no_loss(dns, tls):
    checks = _checks([*dns, _query("z.example")], tls=tls)
    assert "lossy" not in _system(checks)


# ------------------------------------------------------------------ every resolver timing out


ALTERNATES_SILENT = [_query("a.example", "dns_timeout", resolver="AliDNS"),
                     _query("b.example", "dns_timeout", resolver="DNSPod")]
LOST_SAMPLE = [{"failure": "generic_timeout", "phase": "connect"}]
BY_NAME = [{"what": "check_url", "url": "http://www.qualcomm.cn/generate_204", "ok": True, "status": 204}]


def _all_timing_out(**change: Any) -> dict[str, Any]:
    parts: dict[str, Any] = {"dns": [_query("a.example", "dns_timeout"), _query("b.example", "dns_timeout"),
                                     *ALTERNATES_SILENT],
                             "urls": BY_NAME, "samples": LOST_SAMPLE}
    parts.update(change)
    return _checks(parts["dns"], urls=parts["urls"], clock=parts.get("clock", []), samples=parts["samples"])


def test_system_when_every_resolver_times_out_and_tries_are_lost_after_names_resolve_is_flaky():
    assert _system(_all_timing_out()) == {"ok": 1, "lossy": 1, "dns_lossy": 1}


def test_system_when_it_also_answered_in_the_dns_check_keeps_its_answers():
    checks = _all_timing_out(dns=[_query("a.example", "dns_timeout"), _query("b.example", "dns_timeout"),
                                  _query("c.example"), _query("d.example"), *ALTERNATES_SILENT], urls=[])
    assert _system(checks) == {"ok": 2, "lossy": 1, "dns_lossy": 1}


@pytest.mark.parametrize("source", [
    {"what": "http_date", "source": "https://www.baidu.com/", "ok": True},
    {"what": "ntp", "source": "ntp.aliyun.com", "ok": True},
    {"what": "ntp", "source": "ntp.example:123", "ok": True},
])
def test_system_when_a_time_source_was_reached_by_name_that_counts_as_an_answer(source):
    assert _system(_all_timing_out(urls=[], clock=[source])) == {"ok": 1, "lossy": 1, "dns_lossy": 1}


@pytest.mark.parametrize("change", [
    {"urls": []},                                                                   # nothing reached by name
    {"urls": [{"what": "check_url", "url": "http://192.0.2.1/generate_204", "ok": True, "status": 204}]},
    {"urls": [{"what": "check_url", "url": "http://[2001:db8::1]/generate_204", "ok": True, "status": 204}]},
    {"urls": [{"what": "check_url", "url": "http://www.qualcomm.cn/generate_204", "ok": False, "status": None}]},
    {"urls": [], "clock": [{"what": "ntp", "source": "203.107.6.88", "ok": True}]},
    {"urls": [], "clock": [{"what": "ntp", "source": "ntp.aliyun.com", "ok": False}]},
    {"samples": [{"failure": None, "phase": None}]},                                # nothing lost after resolving
    {"dns": [_query("a.example", "dns_timeout"), _query("b.example", "dns_timeout")]},   # no alternates
    {"dns": [_query("a.example", "dns_timeout"), _query("b.example", "dns_timeout"),   # an alternate answered
             _query("a.example", "dns_timeout", resolver="AliDNS"), _query("b.example", resolver="DNSPod")]},
])
def test_system_when_one_condition_is_missing_its_timeouts_stay_lookups_that_timed_out(change):
    system = _system(_all_timing_out(**change))
    assert "lossy" not in system
    assert system.get("dns_lossy") == 2


def test_provider_of_reads_a_host_with_or_without_its_port():
    hosts = {"api.x.com": "x", "2001:db8::1": "v6"}
    assert evidence.provider_of("api.x.com:8443", hosts) == "x"
    assert evidence.provider_of("api.x.com", hosts) == "x"
    assert evidence.provider_of("2001:db8::1", hosts) == "v6"
    assert evidence.provider_of("2001:db8::2", hosts) == ""
    assert evidence.provider_of("other:443", hosts) == ""
