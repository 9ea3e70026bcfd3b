"""Network-lab scenarios for the connectivity check (and the healthy lab for
connectivity, dns and tls together, plus the tls scenarios that
tests/test_check_tls.py does not already cover in the lab).

Every test runs the real CLI inside a lab namespace (``lab.payprobe("run", ...)``)
and reads the JSON report; each finding test also checks the ``target`` and
``data`` keys that HACKING.md ("What findings carry") documents, because the
diagnosis and the renderers rely on them.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from payprobe.reports import model

from tests.lab.lab import CHECK_HOSTS, Lab, Result

# Small budgets keep every scenario to a few seconds; connectivity needs about
# 1 s of its own (two link-counter samples).
DEADLINE_S = 4.0

# Warn/fail findings of the three checks that a healthy lab must never produce.
NET_CODES = {"net.offline", "net.captive_portal", "net.link_errors", "net.weak_signal"}
DNS_CODES = {"dns.system_failure", "dns.resolver_unreachable", "dns.slow", "dns.hijack",
             "dns.nxdomain_rewrite", "dns.fake_ip"}
TLS_CODES = {"tls.untrusted_issuer", "tls.hostname_mismatch", "tls.expired", "tls.not_yet_valid",
             "tls.handshake_failed", "tls.slow", "tls.old_version", "tls.expiring"}


def run(lab: Lab, only: str, *, deadline_s: float = DEADLINE_S, **overrides: Any) -> Result:
    result = lab.payprobe("run", "--only", only,
                          config=lab.write_config(deadline_s=deadline_s, **overrides))
    assert result.report is not None, f"no report (exit {result.returncode}):\n{result.stderr}"
    assert result.returncode in (0, 1, 2), result.stderr
    return result


def findings(result: Result, check: str, code: str) -> list[dict[str, Any]]:
    return [f for f in result.check(check)["findings"] if f["code"] == code]


def codes(result: Result, check: str) -> set[str]:
    return {f["code"] for f in result.check(check)["findings"]}


def one(result: Result, check: str, code: str) -> dict[str, Any]:
    found = findings(result, check, code)
    assert len(found) == 1, (code, result.check(check)["findings"])
    return found[0]


def evidence(result: Result, check: str, what: str) -> list[dict[str, Any]]:
    return [e for e in result.check(check)["evidence"] if e.get("what") == what]


# ---------------------------------------------------------------- the healthy lab


@pytest.mark.lab
def test_connectivity_dns_tls_when_lab_healthy_all_ok_without_findings(lab):
    result = run(lab, "connectivity,dns,tls", tls={"slow_ms": 5000.0})
    assert model.validate(result.report) == []
    for name, bad in (("connectivity", NET_CODES), ("dns", DNS_CODES), ("tls", TLS_CODES)):
        check = result.check(name)
        assert check["status"] == "ok", (name, check["findings"])
        assert not codes(result, name) & bad, (name, check["findings"])
    assert result.returncode == 0
    assert evidence(result, "connectivity", "internet") == [{"what": "internet", "ok": True}]
    # The lab's Wi-Fi-like interface is seen as Wi-Fi with the default route.
    (route,) = evidence(result, "connectivity", "default_route")
    assert route["ipv4"] is True and route["interfaces"] == ["wlan0"]
    (ifaces,) = evidence(result, "connectivity", "interfaces")
    wlan0 = next(i for i in ifaces["interfaces"] if i["interface"] == "wlan0")
    assert wlan0["type"] == "wifi" and wlan0["up"] is True and wlan0["ipv4"] is True
    # Every lab resolver answered every payment name with the lab's own address.
    dns_check = result.check("dns")
    answers = {(e["resolver"], e["name"]): e["answers"] for e in dns_check["evidence"]
               if e.get("what") == "dns_query" and e.get("type") in ("A", "ADDR")
               and e["name"] == "api.stripe.com"}
    expected = lab.host_address("api.stripe.com")
    assert answers == {("system", "api.stripe.com"): [expected],
                       ("Lab DNS", "api.stripe.com"): [expected],
                       ("Lab DNS 2", "api.stripe.com"): [expected]}


# ---------------------------------------------------------------- connectivity


@pytest.mark.lab
def test_connectivity_when_offline_reports_net_offline_fail(lab):
    lab.offline()
    result = run(lab, "connectivity")
    f = one(result, "connectivity", "net.offline")
    assert f["severity"] == "fail" and f["target"] == ""
    # wlan0 is down and the peer end has no address: no usable interface is the
    # most specific reason (the route is gone too).
    assert f["data"]["reason"] == "no_interface"
    # Taking wlan0 down drops packets on its peer: offline explains that, no link-error noise.
    assert "net.link_errors" not in [x["code"] for x in result.check("connectivity")["findings"]]
    assert result.check("connectivity")["status"] == "fail"
    assert evidence(result, "connectivity", "internet") == [{"what": "internet", "ok": False}]
    assert result.returncode == 2


@pytest.mark.lab
def test_connectivity_when_route_gone_and_check_urls_silent_reports_no_route(lab):
    # The interface stays up with its address; the default route goes, and no
    # check URL answers.
    lab.exec(["ip", "route", "del", "default"], raw=True, check=True)
    for host in CHECK_HOSTS:
        lab.reject(lab.host_address(host))
    result = run(lab, "connectivity")
    f = one(result, "connectivity", "net.offline")
    assert f["severity"] == "fail" and f["target"] == ""
    assert f["data"]["reason"] == "no_route"
    (route,) = evidence(result, "connectivity", "default_route")
    # /proc/net/route has no default, so the UDP-connect probe decided.
    assert route["ipv4"] is False and route["method"] == "udp_connect"


@pytest.mark.lab
def test_connectivity_when_route_gone_but_check_urls_answer_is_online(lab):
    # Android keeps its default routes out of the main table (policy routing):
    # a check URL that answers beats the "no route" reading.
    lab.exec(["ip", "route", "del", "default"], raw=True, check=True)
    result = run(lab, "connectivity")
    assert "net.offline" not in codes(result, "connectivity")
    assert evidence(result, "connectivity", "internet") == [{"what": "internet", "ok": True}]


@pytest.mark.lab
def test_connectivity_when_check_url_is_captive_portal_reports_portal_host(lab):
    lab.http_server("portal302", hostname="portal-check.lab.example",
                    location="http://login.portal.lab.example/auth?mac=02:00:00:00:00:00")
    result = run(lab, "connectivity",
                 connectivity={"check_urls": ["http://portal-check.lab.example/generate_204"]})
    f = one(result, "connectivity", "net.captive_portal")
    assert f["severity"] == "fail"
    assert f["target"] == "portal-check.lab.example"
    assert f["data"]["status"] == 302
    assert f["data"]["portal_host"] == "login.portal.lab.example"
    # A portal is not "offline": the link works, the internet is behind a login.
    assert "net.offline" not in codes(result, "connectivity")
    assert evidence(result, "connectivity", "internet") == [{"what": "internet", "ok": False}]
    assert result.returncode == 2


@pytest.mark.lab
def test_connectivity_when_one_check_url_answers_no_portal_and_online(lab):
    lab.http_server("portal302", hostname="portal-check.lab.example")
    urls = ["http://portal-check.lab.example/", f"http://{CHECK_HOSTS[0]}/generate_204"]
    result = run(lab, "connectivity", connectivity={"check_urls": urls})
    # One real 204 answer means the internet is there: no portal, no offline.
    assert not codes(result, "connectivity") & {"net.captive_portal", "net.offline"}
    assert evidence(result, "connectivity", "internet") == [{"what": "internet", "ok": True}]


@pytest.mark.lab
@pytest.mark.parametrize("fault,failure", [("blackhole", "generic_timeout"), ("reject", "connection_refused")])
def test_connectivity_when_every_check_url_fails_reports_no_internet(lab, fault, failure):
    for host in CHECK_HOSTS:
        getattr(lab, fault)(lab.host_address(host))
    result = run(lab, "connectivity", connectivity={"timeout_s": 3.0})
    f = one(result, "connectivity", "net.offline")
    # The link and route are up, so this is "no check URL answered" (warn), not
    # "the device is offline" (fail).
    assert f["severity"] == "warn" and f["target"] == ""
    assert f["data"]["reason"] == "all_failed"
    assert f["data"]["failures"] == {failure: len(CHECK_HOSTS)}, f["data"]
    assert evidence(result, "connectivity", "internet") == [{"what": "internet", "ok": False}]
    assert "net.captive_portal" not in codes(result, "connectivity")


# Sends oversized UDP datagrams out of wlan0 to a static neighbour while the
# probe runs. The veth peer's MTU is lowered, so the veth driver drops each one
# and counts it in wlan0's tx_dropped (/proc/net/dev "drop", psutil dropout).
# Nothing leaves the namespace: the peer is inside it.
_DROPPER = r"""
import socket, sys, time
end = time.monotonic() + float(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 0)   # IP_MTU_DISCOVER = IP_PMTUDISC_DONT
print("READY", flush=True)
while time.monotonic() < end:
    try:
        s.sendto(b"x" * 1400, ("192.0.2.1", 9))
    except OSError:
        pass
    time.sleep(0.0005)   # the window is as long as the check: keep drops coming
"""


@pytest.mark.lab
def test_connectivity_when_wlan0_drops_packets_during_run_reports_link_errors(lab):
    peer_mac = lab.exec(["cat", "/sys/class/net/wlan0-ap/address"], raw=True, check=True).stdout.strip()
    lab.exec(["ip", "link", "set", "wlan0-ap", "mtu", "1000"], raw=True, check=True)
    lab.exec(["ip", "neigh", "replace", "192.0.2.1", "lladdr", peer_mac, "dev", "wlan0",
              "nud", "permanent"], raw=True, check=True)
    dropper = subprocess.Popen(["ip", "netns", "exec", lab.name, sys.executable, "-c", _DROPPER, "8"],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert dropper.stdout is not None and dropper.stdout.readline().strip() == "READY"
        result = run(lab, "connectivity")
    finally:
        dropper.terminate()
        dropper.wait(5)
    by_iface = {f["target"]: f for f in findings(result, "connectivity", "net.link_errors")}
    # The veth driver counts each drop on both ends (wlan0 tx, wlan0-ap rx); a
    # phone's radio has one end. lo is never judged.
    assert set(by_iface) == {"wlan0", "wlan0-ap"}, by_iface
    f = by_iface["wlan0"]
    assert f["severity"] == "warn"
    assert set(f["data"]) == {"errors", "drops"}
    assert f["data"]["drops"] > 0 and f["data"]["errors"] == 0
    assert result.check("connectivity")["status"] == "warn"


@pytest.mark.lab
def test_connectivity_when_termux_wifi_rssi_weak_reports_weak_signal(lab):
    lab.phone()  # termux-wifi-connectioninfo answers rssi -86 dBm
    result = run(lab, "connectivity")
    f = one(result, "connectivity", "net.weak_signal")
    assert f["severity"] == "warn" and f["target"] == "wifi"
    assert f["data"] == {"rssi_dbm": -86.0, "threshold_dbm": -75.0}
    # Still online: a weak signal is a warning, not an outage.
    assert "net.offline" not in codes(result, "connectivity")
    assert result.check("connectivity")["status"] == "warn"


@pytest.mark.lab
def test_connectivity_when_termux_wifi_rssi_good_no_weak_signal(lab):
    lab.phone(wifi={"rssi": -55})
    result = run(lab, "connectivity")
    assert "net.weak_signal" not in codes(result, "connectivity")
    metrics = {m["name"]: m["value"] for m in result.check("connectivity")["metrics"]}
    assert metrics["wifi_rssi_dbm"] == -55.0


# ---------------------------------------------------------------- tls (what test_check_tls.py's lab tests do not cover)


def _tls(lab: Lab, **overrides: Any) -> Result:
    overrides.setdefault("tls", {"slow_ms": 5000.0, "targets": ["api.stripe.com", "openapi.alipay.com"]})
    return run(lab, "tls", **overrides)


@pytest.mark.lab
def test_tls_when_mitm_answers_reports_untrusted_issuer_naming_who_answered(lab):
    lab.add_host("api.stripe.com", lab.tls_server("mitm", hostname="api.stripe.com"))
    result = _tls(lab)
    f = one(result, "tls", "tls.untrusted_issuer")
    assert f["severity"] == "fail" and f["target"] == "api.stripe.com"
    # The unverified second handshake captured who answered.
    assert "Totally Legit MITM CA" in f["data"]["issuer"]
    assert "Totally Legit MITM CA" in f["message"]
    assert f["data"]["failure"] == "tls_unknown_authority"
    assert len(f["data"]["sha256"]) == 64
    assert f["data"]["interceptor"] is None  # not a tool payprobe knows by name
    assert set(f["data"]) >= {"failure", "issuer", "interceptor", "sha256", "not_before", "not_after",
                              "version", "valid_by_device_clock", "valid_by_reference_clock",
                              "clock_offset_s"}
    assert [x["target"] for x in result.check("tls")["findings"]] == ["api.stripe.com"]


@pytest.mark.lab
@pytest.mark.parametrize("kind,code,failure", [
    ("wrong_host", "tls.hostname_mismatch", "tls_hostname_mismatch"),
    ("expired", "tls.expired", "tls_cert_expired"),
    ("not_yet_valid", "tls.not_yet_valid", "tls_cert_not_yet_valid"),
])
def test_tls_when_certificate_bad_reports_finding_with_documented_data(lab, kind, code, failure):
    lab.add_host("api.stripe.com", lab.tls_server(kind, hostname="api.stripe.com"))
    result = _tls(lab)
    f = one(result, "tls", code)
    assert f["severity"] == "fail" and f["target"] == "api.stripe.com"
    assert f["data"]["failure"] == failure
    assert "payprobe lab CA" in f["data"]["issuer"]
    assert f["data"]["not_before"].endswith(("Z", "+00:00")) and f["data"]["not_after"]
    if code != "tls.hostname_mismatch":
        # Judged by the device clock; no clock check ran, so no reference verdict.
        assert f["data"]["valid_by_device_clock"] is False
        assert f["data"]["valid_by_reference_clock"] is None
    assert "tls.untrusted_issuer" not in codes(result, "tls")
    assert result.returncode == 2


@pytest.mark.lab
def test_tls_when_server_speaks_only_tls10_reports_old_version(lab):
    lab.add_host("api.stripe.com", lab.tls_server("tls10", hostname="api.stripe.com"))
    result = _tls(lab)
    f = one(result, "tls", "tls.old_version")
    assert f["severity"] == "warn" and f["target"] == "api.stripe.com"
    assert f["data"]["version"] == "TLSv1"
    assert not codes(result, "tls") & {"tls.handshake_failed", "tls.untrusted_issuer"}


@pytest.mark.lab
def test_tls_when_connect_delayed_handshake_time_excludes_it_and_no_slow(lab):
    # lab.delay holds SYNs only: the connect grows, the handshake must not.
    lab.delay(lab.host_address("api.stripe.com"), 300)
    result = _tls(lab, tls={"slow_ms": 200.0, "targets": ["api.stripe.com"]})
    metrics = {m["name"]: m["value"] for m in result.check("tls")["metrics"]}
    assert metrics["tcp_connect_seconds"] >= 0.3
    assert metrics["tls_handshake_seconds"] < 0.2
    assert "tls.slow" not in codes(result, "tls")


def _hold_handshake(lab: Lab, address: str, ms: float) -> None:
    """Hold the client's data packets to ``address``:443 for ``ms`` each.

    lab.delay() holds SYNs only; this is the same NFQUEUE holder (nfqdelay.py)
    on the client's PSH packets, the first of which is the ClientHello, so the
    handshake itself takes ``ms`` longer while the connect does not.
    """
    from tests.lab.lab import Fault
    qnum = 990
    holder = lab._spawn([sys.executable, "-m", "tests.lab.nfqdelay", str(qnum), str(ms)],
                        f"nfq-{qnum}", ready_line=True)
    lab._wait_ready_line(holder, f"nfq-{qnum}")
    fault = Fault(f"hold client hello {address} {ms} ms", procs=[holder], lab=lab)
    lab._iptables("filter", ["OUTPUT", "-p", "tcp", "-d", address, "--dport", "443",
                             "--tcp-flags", "PSH", "PSH", "-j", "NFQUEUE", "--queue-num", str(qnum)],
                  fault)


@pytest.mark.lab
def test_tls_when_client_hello_held_reports_tls_slow(lab):
    _hold_handshake(lab, lab.host_address("api.stripe.com"), 400)
    result = _tls(lab, tls={"slow_ms": 250.0, "targets": ["api.stripe.com", "openapi.alipay.com"]})
    f = one(result, "tls", "tls.slow")
    assert f["severity"] == "warn" and f["target"] == "api.stripe.com"
    assert f["data"]["handshake_ms"] >= 400.0
    assert f["data"]["threshold_ms"] == 250.0
    assert [x["target"] for x in findings(result, "tls", "tls.slow")] == ["api.stripe.com"]
