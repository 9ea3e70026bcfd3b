"""The connectivity check with fake psutil sources, fake termux-api commands on
PATH, and an in-process HTTP server on 127.0.0.1 standing in for the check URLs
(tests/servers/).
"""

from __future__ import annotations

import errno
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psutil
import pytest
from payprobe import classify as fc
from payprobe import net
from payprobe.api import Outcome
from payprobe.checks import _route, connectivity
from payprobe.checks._interfaces import guess_type
from payprobe.checks.connectivity import ConnectivityCheck
from payprobe.engine import config
from payprobe.engine.registry import LoadedCheck
from payprobe.engine.runner import Runner
from payprobe.host import HostInfo

from tests.helpers import LINUX, TERMUX, codes, finding, make_ctx, put_command
from tests.servers import CheckUrlServer, closed_port, idle_listener

AF_INET, AF_INET6 = 2, 10


# ---------------------------------------------------------------- the check-URL server


@pytest.fixture
def http_base() -> Iterator[str]:
    server = CheckUrlServer()
    yield server.base_url
    server.close()


@pytest.fixture
def closed_url() -> str:
    return f"http://127.0.0.1:{closed_port()}/generate_204"  # connection refused


# ---------------------------------------------------------------- fake sources


def addr(family: int, address: str) -> Any:
    return SimpleNamespace(family=family, address=address, netmask=None, broadcast=None, ptp=None)


def io(err: int = 0, drop: int = 0) -> Any:
    return SimpleNamespace(bytes_sent=0, bytes_recv=0, packets_sent=0, packets_recv=0,
                           errin=err, errout=0, dropin=drop, dropout=0)


class FakePsutil:
    """A phone on Wi-Fi: lo, wlan0 (up, v4+v6), rmnet0 (down)."""

    def __init__(self) -> None:
        self.addrs = {
            "lo": [addr(AF_INET, "127.0.0.1")],
            "wlan0": [addr(AF_INET, "192.0.2.10"), addr(AF_INET6, "2001:db8::10"),
                      addr(AF_INET6, "fe80::1")],
            "rmnet0": [],
        }
        self.stats = {
            "lo": SimpleNamespace(isup=True, mtu=65536),
            "wlan0": SimpleNamespace(isup=True, mtu=1500),
            "rmnet0": SimpleNamespace(isup=False, mtu=1400),
        }
        self.counters = [{"lo": io(), "wlan0": io()}]

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(psutil, "net_if_addrs", lambda: self.addrs)
        monkeypatch.setattr(psutil, "net_if_stats", lambda: self.stats)

        def counters(pernic: bool = False) -> Any:
            return self.counters.pop(0) if len(self.counters) > 1 else self.counters[0]

        monkeypatch.setattr(psutil, "net_io_counters", counters)


ROUTE_OK = {"ipv4": True, "ipv6": False, "interfaces": ["wlan0"], "method": "test"}


@pytest.fixture
def fake(monkeypatch) -> FakePsutil:
    f = FakePsutil()
    f.install(monkeypatch)
    monkeypatch.setattr(connectivity, "default_route", lambda ctx: dict(ROUTE_OK))
    # No termux-api here unless a test puts fake commands on PATH.
    monkeypatch.setenv("PATH", "/nonexistent-payprobe-path")
    return f


def run_check(urls: list[str], *, host: HostInfo = LINUX, budget_s: float = 8.0,
              **conn: Any) -> Outcome:
    settings = config.load(overrides={"connectivity": {"check_urls": urls, **conn}})
    return ConnectivityCheck().run(make_ctx(settings.connectivity, settings=settings,
                                            deadline_s=budget_s, host=host))


def internet(out: Outcome) -> Any:
    items = [e for e in out.evidence if e.get("what") == "internet"]
    assert len(items) == 1
    return items[0]["ok"]


def no_addresses_leak(out: Outcome) -> None:
    text = json.dumps({"m": [m.to_dict() for m in out.metrics],
                       "f": [f.to_dict() for f in out.findings], "s": out.summary})
    for secret in ("192.0.2.10", "2001:db8::10", "fe80::1", "HomeWifi", "aa:bb:cc"):
        assert secret not in text


# ---------------------------------------------------------------- pure helpers


def test_guess_type_when_common_names_gives_kind():
    assert guess_type("wlan0") == "wifi"
    assert guess_type("rmnet_data0") == "cellular"
    assert guess_type("ccmni1") == "cellular"
    assert guess_type("pdp_ip0") == "cellular"
    assert guess_type("eth0") == "ethernet"
    assert guess_type("enp3s0") == "ethernet"
    assert guess_type("tun0") == "vpn"
    assert guess_type("wg0") == "vpn"
    assert guess_type("utun3") == "vpn"
    assert guess_type("lo") == "loopback"
    assert guess_type("veth1") == "other"


# ---------------------------------------------------------------- captive portal / online


def test_connectivity_when_check_url_answers_204_reports_online(fake, http_base):
    out = run_check([f"{http_base}/generate_204"])
    assert codes(out) == set()
    assert internet(out) is True
    assert out.resolved_status() == "ok"
    m = [m for m in out.metrics if m.name == "captive_check_seconds"]
    assert [dict(x.labels) for x in m] == [{"url": f"{http_base}/generate_204"}]
    mtu = {m.labels["interface"]: m.value for m in out.metrics if m.name == "interface_mtu_bytes"}
    assert mtu == {"lo": 65536.0, "wlan0": 1500.0, "rmnet0": 1400.0}
    ifaces = {i["interface"]: i for i in [e for e in out.evidence
                                          if e.get("what") == "interfaces"][0]["interfaces"]}
    assert ifaces["wlan0"] == {"interface": "wlan0", "type": "wifi", "up": True, "mtu_bytes": 1500,
                               "ipv4": True, "ipv6": True}
    assert ifaces["rmnet0"]["type"] == "cellular" and ifaces["rmnet0"]["up"] is False
    no_addresses_leak(out)


def test_connectivity_when_200_with_empty_body_reports_online(fake, http_base):
    out = run_check([f"{http_base}/empty200"])
    assert codes(out) == set() and internet(out) is True


def test_connectivity_when_redirected_reports_captive_portal_with_location_host(fake, http_base):
    out = run_check([f"{http_base}/portal", f"{http_base}/body"])
    f = finding(out, "net.captive_portal")
    assert f.severity == "fail" and f.target == "127.0.0.1"
    assert f.data == {"status": 302, "portal_host": "login.portal.example"}
    assert internet(out) is False
    assert "net.offline" not in codes(out)


def test_connectivity_when_200_with_body_reports_captive_portal(fake, http_base):
    out = run_check([f"{http_base}/body"])
    f = finding(out, "net.captive_portal")
    assert f.data["status"] == 200


def test_connectivity_when_one_url_online_and_one_portal_like_reports_online(fake, http_base):
    out = run_check([f"{http_base}/generate_204", f"{http_base}/body"])
    assert "net.captive_portal" not in codes(out) and internet(out) is True


def test_connectivity_when_all_urls_refused_reports_no_internet_warning(fake, closed_url):
    out = run_check([closed_url])
    f = finding(out, "net.offline")
    assert f.severity == "warn" and f.data["reason"] == "all_failed"
    assert f.data["failures"] == {fc.CONNECTION_REFUSED: 1}
    assert internet(out) is False


# ---------------------------------------------------------------- offline


def test_connectivity_when_only_loopback_reports_offline_no_interface(fake, monkeypatch, closed_url):
    fake.addrs = {"lo": fake.addrs["lo"], "wlan0": [addr(AF_INET6, "fe80::1")]}
    out = run_check([closed_url])
    f = finding(out, "net.offline")
    assert f.severity == "fail" and f.data == {"reason": "no_interface"} and f.target == ""
    assert internet(out) is False


def test_connectivity_when_no_default_route_reports_offline_no_route(fake, monkeypatch, closed_url):
    monkeypatch.setattr(connectivity, "default_route",
                        lambda ctx: {"ipv4": False, "ipv6": False, "interfaces": [], "method": "t"})
    out = run_check([closed_url])
    assert finding(out, "net.offline").data == {"reason": "no_route"}
    assert out.resolved_status() == "fail"


def test_connectivity_when_no_route_but_url_answers_reports_online(fake, monkeypatch, http_base):
    # Android keeps default routes outside the main table: a real answer wins.
    monkeypatch.setattr(connectivity, "default_route",
                        lambda ctx: {"ipv4": False, "ipv6": False, "interfaces": [], "method": "t"})
    out = run_check([f"{http_base}/generate_204"])
    assert "net.offline" not in codes(out) and internet(out) is True


def test_connectivity_when_every_url_unreachable_reports_offline_all_unreachable(fake, monkeypatch):
    def unreachable(url: str, **kw: Any) -> Any:
        raise OSError(errno.ENETUNREACH, "Network is unreachable")

    monkeypatch.setattr(net, "fetch", unreachable)
    out = run_check(["http://a.invalid/generate_204", "http://b.invalid/generate_204"])
    f = finding(out, "net.offline")
    assert f.severity == "fail" and f.data == {"reason": "all_unreachable"}


# ---------------------------------------------------------------- link errors


def test_connectivity_when_error_counters_grow_reports_link_errors(fake, http_base):
    fake.counters = [{"lo": io(), "wlan0": io(err=3, drop=1)},
                     {"lo": io(err=50), "wlan0": io(err=10, drop=4)}]
    out = run_check([f"{http_base}/generate_204"])
    f = finding(out, "net.link_errors")
    assert f.target == "wlan0" and f.data == {"errors": 7, "drops": 3}
    assert [x.target for x in out.findings if x.code == "net.link_errors"] == ["wlan0"]  # not lo


def test_connectivity_when_counters_steady_reports_no_link_errors(fake, http_base):
    fake.counters = [{"wlan0": io(err=3, drop=1)}, {"wlan0": io(err=3, drop=1)}]
    out = run_check([f"{http_base}/generate_204"])
    assert "net.link_errors" not in codes(out)


def test_connectivity_link_counters_when_run_span_the_check_urls_in_one_window(
        fake, http_base, monkeypatch):
    # No fixed wait: the first reading comes before the check URLs are asked, the
    # second after they answered, and the window is what that took.
    events: list[str] = []
    monkeypatch.setattr(psutil, "net_io_counters",
                        lambda pernic=False: (events.append("counters"), {"wlan0": io()})[1])
    real_fetch = net.fetch
    monkeypatch.setattr(net, "fetch", lambda *a, **k: (events.append("fetch"), real_fetch(*a, **k))[1])
    out = run_check([f"{http_base}/generate_204"])
    assert events == ["counters", "fetch", "counters"]
    (window,) = [e for e in out.evidence if e.get("what") == "link_counters"]
    assert window["window_s"] >= 0 and window["deltas"] == [
        {"interface": "wlan0", "errors": 0, "drops": 0}]


class NoWaiting(threading.Event):
    """A cancel event that fails the test if the check sleeps on it."""

    def wait(self, timeout: float | None = None) -> bool:
        raise AssertionError(f"the check waited {timeout} s on its cancel event")


def test_connectivity_when_run_waits_on_nothing_between_counter_readings(fake, http_base, monkeypatch):
    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"the check slept {seconds} s")

    settings = config.load(overrides={"connectivity": {"check_urls": [f"{http_base}/generate_204"]}})
    ctx = make_ctx(settings.connectivity, settings=settings, cancelled=NoWaiting())
    monkeypatch.setattr(time, "sleep", no_sleep)
    out = ConnectivityCheck().run(ctx)
    assert internet(out) is True
    assert [e for e in out.evidence if e.get("what") == "link_counters"]


def test_connectivity_when_offline_keeps_link_counters_out_of_findings(fake, closed_url):
    # Taking a link down moves its counters: offline explains them, no link-error noise.
    fake.addrs = {"lo": fake.addrs["lo"], "wlan0": [addr(AF_INET6, "fe80::1")]}
    fake.counters = [{"wlan0": io()}, {"wlan0": io(err=5, drop=9)}]
    out = run_check([closed_url])
    assert finding(out, "net.offline").data == {"reason": "no_interface"}
    assert "net.link_errors" not in codes(out)
    (window,) = [e for e in out.evidence if e.get("what") == "link_counters"]
    assert window["deltas"] == [{"interface": "wlan0", "errors": 5, "drops": 9}]


# ---------------------------------------------------------------- AccessDenied (Android)


def deny(*a: Any, **kw: Any) -> Any:
    raise psutil.AccessDenied(pid=None, name="net", msg="permission denied")


def test_connectivity_when_psutil_access_denied_lists_skipped_sources(fake, monkeypatch, http_base):
    for fn in ("net_if_addrs", "net_if_stats", "net_io_counters"):
        monkeypatch.setattr(psutil, fn, deny)
    out = run_check([f"{http_base}/generate_204"])
    sources = [e for e in out.evidence if e.get("what") == "sources"][0]["sources"]
    for s in ("interfaces", "interface_stats", "link_counters"):
        assert sources[s].startswith("skipped: AccessDenied"), sources
    assert sources["check_urls"] == "ok"
    assert out.resolved_status() == "ok" and internet(out) is True
    assert "unreadable" in out.summary


def test_connectivity_when_nothing_readable_is_skipped(fake, monkeypatch):
    for fn in ("net_if_addrs", "net_if_stats", "net_io_counters"):
        monkeypatch.setattr(psutil, fn, deny)

    def route_denied(ctx: Any) -> Any:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(connectivity, "default_route", route_denied)
    out = run_check([])
    assert out.resolved_status() == "skipped"
    assert "AccessDenied" in out.summary


# ---------------------------------------------------------------- termux-api


@pytest.fixture
def termux_bin(tmp_path, monkeypatch, fake) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}/usr/bin{os.pathsep}/bin")
    return folder


def wifi_json(rssi: int, ssid: str = "HomeWifi", bssid: str = "aa:bb:cc:dd:ee:ff") -> str:
    return json.dumps({"bssid": bssid, "frequency_mhz": 5180, "ip": "192.0.2.10",
                       "link_speed_mbps": 433, "mac_address": "aa:bb:cc:00:11:22", "rssi": rssi,
                       "ssid": ssid, "ssid_hidden": False, "supplicant_state": "COMPLETED"})


TELEPHONY = json.dumps({"network_type": "lte", "network_operator_name": "CMCC",
                        "data_state": "connected", "network_roaming": False,
                        "sim_serial_number": None})


def test_connectivity_when_wifi_rssi_low_reports_weak_signal(termux_bin, http_base):
    put_command(termux_bin, "termux-wifi-connectioninfo", f"echo '{wifi_json(-82)}'")
    put_command(termux_bin, "termux-telephony-deviceinfo", f"echo '{TELEPHONY}'")
    out = run_check([f"{http_base}/generate_204"], host=TERMUX)
    f = finding(out, "net.weak_signal")
    assert f.target == "wifi" and f.data == {"rssi_dbm": -82.0, "threshold_dbm": -75.0}
    metrics = {m.name: m.value for m in out.metrics}
    assert metrics["wifi_rssi_dbm"] == -82.0
    assert metrics["wifi_link_speed_bits_per_second"] == 433e6
    cell = [e for e in out.evidence if e.get("what") == "cellular"][0]
    assert cell["network_type"] == "lte" and cell["operator"] == "CMCC"
    wifi = [e for e in out.evidence if e.get("what") == "wifi"][0]
    assert wifi["location_permission"] is True
    assert "ip" not in wifi and "mac_address" not in wifi
    no_addresses_leak(out)


def test_connectivity_when_wifi_rssi_good_reports_no_weak_signal(termux_bin, http_base):
    put_command(termux_bin, "termux-wifi-connectioninfo", f"echo '{wifi_json(-50)}'")
    out = run_check([f"{http_base}/generate_204"], host=TERMUX)
    assert "net.weak_signal" not in codes(out)
    assert {m.name: m.value for m in out.metrics}["wifi_rssi_dbm"] == -50.0


def test_connectivity_when_threshold_configured_uses_it(termux_bin, http_base):
    put_command(termux_bin, "termux-wifi-connectioninfo", f"echo '{wifi_json(-60)}'")
    out = run_check([f"{http_base}/generate_204"], host=TERMUX, weak_signal_dbm=-55.0)
    assert finding(out, "net.weak_signal").data["threshold_dbm"] == -55.0


def test_connectivity_when_no_location_permission_notes_placeholders(termux_bin, http_base):
    put_command(termux_bin, "termux-wifi-connectioninfo",
                f"echo '{wifi_json(-50, '<unknown ssid>', '02:00:00:00:00:00')}'")
    out = run_check([f"{http_base}/generate_204"], host=TERMUX)
    assert [e for e in out.evidence if e.get("what") == "wifi"][0]["location_permission"] is False


def test_connectivity_when_termux_command_missing_or_slow_lists_skipped(termux_bin, http_base):
    put_command(termux_bin, "termux-wifi-connectioninfo", "sleep 5")
    out = run_check([f"{http_base}/generate_204"], host=TERMUX, termux_api_timeout_s=0.3)
    sources = [e for e in out.evidence if e.get("what") == "sources"][0]["sources"]
    assert sources["wifi"].startswith("skipped: termux-wifi-connectioninfo did not answer in 0.3 s")
    assert "Termux:API app installed" in sources["wifi"]
    assert "not found" in sources["telephony"]
    assert internet(out) is True and "net.weak_signal" not in codes(out)


def test_connectivity_when_termux_command_fails_silently_lists_skipped_not_ok(termux_bin, http_base):
    put_command(termux_bin, "termux-wifi-connectioninfo", "exit 1")
    out = run_check([f"{http_base}/generate_204"], host=TERMUX)
    sources = [e for e in out.evidence if e.get("what") == "sources"][0]["sources"]
    assert sources["wifi"].startswith("skipped: termux-wifi-connectioninfo failed (exit 1)")
    assert not [e for e in out.evidence if e.get("what") == "wifi"]


def test_connectivity_when_termux_output_garbage_lists_skipped(termux_bin, http_base):
    put_command(termux_bin, "termux-wifi-connectioninfo", "echo 'not json'")
    out = run_check([f"{http_base}/generate_204"], host=TERMUX)
    sources = [e for e in out.evidence if e.get("what") == "sources"][0]["sources"]
    assert sources["wifi"].startswith("skipped: unreadable output")


# ---------------------------------------------------------------- through the runner


def test_connectivity_through_runner_reports_portal(fake, http_base):
    settings = config.load(overrides={"connectivity": {"check_urls": [f"{http_base}/portal"]}})
    loaded = LoadedCheck(name="connectivity", target="payprobe.checks.connectivity:ConnectivityCheck",
                         cls=ConnectivityCheck, builtin=True)
    result = Runner(settings, LINUX).run([loaded], deadline_s=8.0).results[0]
    assert result.status == "fail", result.summary
    assert [f.code for f in result.findings] == ["net.captive_portal"]
    assert {"what": "internet", "ok": False} in result.evidence
    assert "captive portal" in result.summary


def test_default_route_on_this_host_gives_booleans():
    # Real /proc (or the UDP-connect probe, which sends no packet) on the test host.
    ctx = make_ctx(None, name="connectivity", deadline_s=3.0)
    route = _route.default_route(ctx)
    assert isinstance(route["ipv4"], bool) and isinstance(route["ipv6"], bool)
    assert route["method"] in ("proc", "route_get", "udp_connect")


# ---------------------------------------------------------------- found in the network lab


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A check URL whose server accepts the connection and never speaks."""
    with idle_listener() as port:
        yield f"http://127.0.0.1:{port}/generate_204"


def test_connectivity_when_check_url_silent_until_deadline_reports_timeout_not_cancelled(
        fake, silent_url, monkeypatch):
    # Lab: every check URL blackholed gave "failures": {"cancelled": 3}, because the
    # fetch timed out exactly at the deadline and lost the race with parallel().
    # A busy device takes a moment to wake the thread after its timeout: emulated
    # here, so the race is lost every time unless the fetch stops early.
    real_fetch = net.fetch

    def slow_waking_fetch(*args: Any, **kwargs: Any) -> Any:
        try:
            return real_fetch(*args, **kwargs)
        except OSError:
            time.sleep(0.1)
            raise

    monkeypatch.setattr(net, "fetch", slow_waking_fetch)
    urls = [silent_url + f"?n={i}" for i in range(3)]
    out = run_check(urls, budget_s=1.0)
    f = finding(out, "net.offline")
    assert f.data["reason"] == "all_failed"
    assert f.data["failures"] == {fc.GENERIC_TIMEOUT: 3}
    items = [e for e in out.evidence if e.get("what") == "check_url"]
    assert [e["failure"] for e in items] == [fc.GENERIC_TIMEOUT] * 3
    # Each fetch ended on its own timeout, before the deadline: the evidence says
    # what the server did, not that the check ran out of time.
    assert all("CheckCancelled" not in e["error"] for e in items), items
