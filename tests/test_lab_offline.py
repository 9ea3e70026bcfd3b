"""Offline early stop and IPv6 presence in the network lab (issue 15).

Once the connectivity check knows the device is certainly offline (no usable
interface or no default route, and every check URL failed inside the device),
the checks that need the network are reported ``skipped`` with that reason
instead of waiting out their timeouts. Never on a guess: a route with failing
check URLs, or a refused connection, is not "certainly offline".
"""

from __future__ import annotations

from typing import Any

import pytest
from payprobe.reports import model

from tests.lab.lab import CHECK_HOSTS, Lab, Result
from tests.lab.results import evidence, finding

OFFLINE_SUMMARY = "the device is offline (no network interface is up with an address)"
# Checks that declare needs_network in this tree (tls and endpoints get it with dual-stack).
NETWORK_CHECKS = ("dns", "clock", "tls", "endpoints")


def run(lab: Lab, *args: str, **overrides: Any) -> Result:
    overrides.setdefault("deadline_s", 12.0)
    overrides.setdefault("latency", {"samples": 2, "icmp": False})
    result = lab.payprobe("run", *args, config=lab.write_config(**overrides), timeout=90)
    assert result.report is not None, f"no report (exit {result.returncode}):\n{result.stderr}"
    return result


def ip_check_urls(lab: Lab) -> list[str]:
    """The lab's check URLs by address, so fetching them needs no name resolution."""
    return [f"http://{lab.host_address(h)}/generate_204" for h in CHECK_HOSTS]


@pytest.mark.lab
def test_offline_when_local_resolver_hangs_skips_dns_and_clock_as_offline(lab):
    # Offline, with a local resolver that never answers (glibc falls back to
    # 127.0.0.1:53 when resolv.conf names none): every lookup would wait out
    # glibc's timeouts. The check URLs, by address, fail at once (net unreachable).
    lab.offline()
    lab.dns("silent", address="127.0.0.1")
    result = run(lab, "--only", "connectivity,dns,clock,proxy,device",
                 connectivity={"check_urls": ip_check_urls(lab)})
    offline = finding(result.check("connectivity"), "net.offline")
    assert offline["severity"] == "fail" and offline["data"]["reason"] == "no_interface"
    # Without the early stop dns and clock would end with results of their own
    # after seconds of lookups; stopped, they are skipped with the reason.
    for name in ("dns", "clock"):
        check = result.check(name)
        assert check["status"] == "skipped", (name, check["summary"])
        assert check["summary"] == OFFLINE_SUMMARY
        assert check["findings"] == [] and check["error"] is None
    # Checks that look only at the device run as always.
    assert result.check("device")["status"] != "skipped"
    assert result.check("proxy")["status"] != "skipped"
    assert model.validate(result.report) == []
    assert result.report["causes"][0]["code"] == "offline"
    assert result.report["status"] == "unhealthy" and result.returncode == 2


@pytest.mark.lab
def test_offline_full_run_gives_offline_first_and_no_check_times_out(lab):
    lab.offline()
    result = run(lab)
    statuses = {c["name"]: c["status"] for c in result.report["checks"]}
    assert "timeout" not in statuses.values(), statuses
    for name in NETWORK_CHECKS:
        check = result.check(name)
        # Either stopped as offline, or it finished (failing fast) before the verdict
        # with a measured result. One that could not run at all (endpoints: no name
        # resolved, in 10-30 ms) is explained by the verdict: skipped as offline too,
        # never "error, see the dns check" next to a dns check skipped as offline.
        assert check["status"] != "error", check
        if check["status"] == "skipped":
            assert check["summary"] == OFFLINE_SUMMARY
    assert result.report["causes"][0]["code"] == "offline"
    assert {c["code"] for c in result.report["causes"]} == {"offline"}
    assert model.validate(result.report) == []
    assert result.returncode == 2


@pytest.mark.lab
def test_offline_when_route_gone_but_check_urls_refused_does_not_skip(lab):
    # No default route, but the check URLs are refused (a RST came back): that is
    # not "certainly offline", so nothing is skipped.
    lab.exec(["ip", "route", "del", "default"], raw=True, check=True)
    for host in CHECK_HOSTS:
        lab.reject(lab.host_address(host))
    result = run(lab, "--only", "connectivity,dns")
    assert finding(result.check("connectivity"), "net.offline")["data"]["reason"] == "no_route"
    dns = result.check("dns")
    assert dns["status"] != "skipped", dns["summary"]
    assert dns["status"] == "ok"   # the lab resolvers answer: the network was there


@pytest.mark.lab
def test_offline_when_check_urls_blackholed_with_link_up_does_not_skip(lab):
    # A dead upstream with a working link is "no internet" (warn), never offline.
    for host in CHECK_HOSTS:
        lab.blackhole(lab.host_address(host))
    result = run(lab, "--only", "connectivity,dns", connectivity={"timeout_s": 3.0})
    assert finding(result.check("connectivity"), "net.offline")["severity"] == "warn"
    assert result.check("dns")["status"] == "ok"


@pytest.mark.lab
def test_connectivity_when_lab_has_no_ipv6_reports_has_ipv6_false(lab):
    result = run(lab, "--only", "connectivity")
    (ipv6,) = evidence(result.check("connectivity"), "ipv6")
    assert ipv6 == {"what": "ipv6", "has_ipv6": False, "default_route": False, "global_address": False}


@pytest.mark.lab
def test_connectivity_when_global_ipv6_address_and_route_reports_has_ipv6_true(lab):
    lab.exec(["ip", "-6", "addr", "add", "240e:db8:15::10/64", "dev", "wlan0", "nodad"], raw=True,
             check=True)
    lab.exec(["ip", "-6", "route", "add", "default", "via", "240e:db8:15::1", "dev", "wlan0"], raw=True,
             check=True)
    result = run(lab, "--only", "connectivity")
    check = result.check("connectivity")
    (ipv6,) = evidence(check, "ipv6")
    assert ipv6 == {"what": "ipv6", "has_ipv6": True, "default_route": True, "global_address": True}
    # Addresses stay out of the report except as yes/no.
    assert "240e:db8:15::10" not in result.stdout
    assert check["status"] == "ok"
