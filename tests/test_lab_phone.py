"""A full payprobe run on the lab's phone emulation (lab.phone()): Termux
environment, no /etc/resolv.conf, termux-api scripts printing recorded JSON
(RSSI -86 dBm, battery 6 %, the "<unknown ssid>" / 02:00:00:00:00:00
placeholders Android gives without location permission).

Two things Android does that the lab's phone cannot show by itself are added
here with a ``sitecustomize`` module on the probe's PYTHONPATH (only in the
probe process under test):

- a guard on dnspython's default resolver configuration: reading
  /etc/resolv.conf (which Android does not have) is recorded, so the test can
  prove it never happens;
- psutil raising AccessDenied, as it does for much of /proc on Android.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from payprobe.reports import model

from tests.lab.lab import REPO_ROOT, TERMUX_WIFI, Lab, Result

DEADLINE_S = 8.0
PLACEHOLDERS = (TERMUX_WIFI["ssid"], TERMUX_WIFI["bssid"])   # "<unknown ssid>", "02:00:00:00:00:00"
assert PLACEHOLDERS == ("<unknown ssid>", "02:00:00:00:00:00")

_SITECUSTOMIZE = '''
import os

_marker = os.environ.get("PAYPROBE_LAB_MARKER")
if _marker:
    # dnspython's Resolver() reads /etc/resolv.conf; Android has none. Record any
    # attempt, then fail as dnspython itself would on a phone.
    import dns.resolver

    def _read_resolv_conf(self, f=None):
        with open(_marker, "a") as fh:
            fh.write("read_resolv_conf\\n")
        raise dns.resolver.NoResolverConfiguration("lab: no /etc/resolv.conf on Android")

    dns.resolver.Resolver.read_resolv_conf = _read_resolv_conf

if os.environ.get("PAYPROBE_LAB_PSUTIL_DENIED"):
    # Android (SELinux) denies much of /proc to apps: psutil raises AccessDenied.
    import psutil

    def _denied(*args, **kwargs):
        raise psutil.AccessDenied(pid=None, name=None, msg="lab: denied as on Android")

    for _name in ("net_if_addrs", "net_if_stats", "net_io_counters", "net_connections",
                  "process_iter", "getloadavg", "virtual_memory", "sensors_battery", "disk_usage"):
        if hasattr(psutil, _name):
            setattr(psutil, _name, _denied)
'''


def _site(lab: Lab) -> Path:
    site = lab.dir / "phone-site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    return site


def run_phone(lab: Lab, *, psutil_denied: bool = False, extra: tuple[str, ...] = ()) -> tuple[Result, Path]:
    """``payprobe run --skip bandwidth`` as the phone; returns (result, marker file)."""
    marker = lab.dir / "dnspython-default-config-used"
    env = {"PYTHONPATH": f"{_site(lab)}:{REPO_ROOT}", "PAYPROBE_LAB_MARKER": str(marker)}
    if psutil_denied:
        env["PAYPROBE_LAB_PSUTIL_DENIED"] = "1"
    cfg = lab.write_config(deadline_s=DEADLINE_S, tls={"slow_ms": 5000.0})
    result = lab.payprobe("run", "--skip", "bandwidth", *extra, config=cfg, env=env, timeout=60)
    assert result.report is not None, f"no report (exit {result.returncode}):\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 1, 2), result.stderr
    return result, marker


def codes(result: Result, check: str) -> set[str]:
    return {f["code"] for f in result.check(check)["findings"]}


def one(result: Result, check: str, code: str) -> dict[str, Any]:
    found = [f for f in result.check(check)["findings"] if f["code"] == code]
    assert len(found) == 1, (code, result.check(check)["findings"])
    return found[0]


def sources(result: Result, check: str) -> dict[str, str]:
    for e in result.check(check)["evidence"]:
        if e.get("what") == "sources":
            return e["sources"]
    raise AssertionError(f"{check}: no sources evidence")


# ---------------------------------------------------------------- the phone


@pytest.fixture
def phone_run(lab: Lab) -> tuple[Lab, Result, Path]:
    lab.phone()
    result, marker = run_phone(lab)
    return lab, result, marker


@pytest.mark.lab
def test_phone_full_run_when_emulated_completes_with_valid_report(phone_run):
    lab, result, _ = phone_run
    assert model.validate(result.report) == []
    names = {c["name"] for c in result.report["checks"]}
    assert {"connectivity", "dns", "tls", "clock", "endpoints", "device", "proxy"} <= names
    assert "bandwidth" not in names or result.check("bandwidth")["status"] == "skipped"
    # Nothing crashed: no check ended in "error".
    errors = {c["name"]: c.get("error") for c in result.report["checks"] if c["status"] == "error"}
    assert errors == {}, errors


@pytest.mark.lab
def test_phone_host_when_termux_env_is_android_and_termux(phone_run):
    _, result, _ = phone_run
    assert result.report["host"]["platform"] == "android"
    assert result.report["host"]["termux"] is True


@pytest.mark.lab
def test_phone_dns_when_no_resolv_conf_resolves_through_getaddrinfo(lab):
    lab.phone()
    # The premise: /etc/resolv.conf really is gone for processes on the phone.
    assert lab.exec(["test", "-e", "/etc/resolv.conf"]).returncode != 0
    result, marker = run_phone(lab, extra=("--only", "dns"))
    dns_check = result.check("dns")
    assert dns_check["status"] == "ok", dns_check["findings"]
    system = {e["name"]: e["answers"] for e in dns_check["evidence"]
              if e.get("what") == "dns_query" and e["resolver"] == "system"}
    assert system["api.stripe.com"] == [lab.host_address("api.stripe.com")]
    assert system["openapi.alipay.com"] == [lab.host_address("openapi.alipay.com")]
    assert not codes(result, "dns") & {"dns.system_failure", "dns.resolver_unreachable"}
    # dnspython's default configuration (/etc/resolv.conf) was never asked for.
    assert not marker.exists(), marker.read_text()


@pytest.mark.lab
def test_phone_full_run_never_reads_dnspython_default_resolver_config(phone_run):
    _, result, marker = phone_run
    assert not marker.exists(), marker.read_text()
    # The guard is live: the same interpreter setup does record a Resolver().
    lab = phone_run[0]
    probe = lab.exec([sys.executable, "-c", "import dns.resolver\ntry:\n dns.resolver.Resolver()\n"
                      "except Exception as e:\n print(type(e).__name__)"],
                     env={"PYTHONPATH": f"{_site(lab)}:{REPO_ROOT}",
                          "PAYPROBE_LAB_MARKER": str(marker)})
    assert probe.stdout.strip() == "NoResolverConfiguration", probe.stderr
    assert marker.read_text() == "read_resolv_conf\n"


@pytest.mark.lab
def test_phone_wifi_when_rssi_minus_86_reports_weak_signal(phone_run):
    _, result, _ = phone_run
    f = one(result, "connectivity", "net.weak_signal")
    assert f["target"] == "wifi" and f["severity"] == "warn"
    assert f["data"] == {"rssi_dbm": -86.0, "threshold_dbm": -75.0}
    wifi = [e for e in result.check("connectivity")["evidence"] if e.get("what") == "wifi"]
    assert wifi and wifi[0]["location_permission"] is False


@pytest.mark.lab
def test_phone_battery_when_6_percent_unplugged_reports_low_battery(phone_run):
    _, result, _ = phone_run
    f = one(result, "device", "device.low_battery")
    assert f["severity"] == "warn" and f["target"] == ""
    assert f["data"]["percent"] == 6.0 and f["data"]["threshold_percent"] == 15.0
    assert f["data"]["plugged"] is False


@pytest.mark.lab
@pytest.mark.parametrize("fmt", ["json", "text", "markdown", "html", "prometheus"])
def test_phone_report_in_every_format_never_shows_ssid_bssid_placeholders(phone_run, fmt):
    lab, result, _ = phone_run
    # The recorded SSID/BSSID did reach the probe (else this test proves nothing).
    assert any(e.get("what") == "wifi" for e in result.check("connectivity")["evidence"])
    assert result.report["redacted"] is True
    path = lab.dir / "phone-report.json"
    path.write_text(result.stdout)
    shown = lab.payprobe("show", "--format", fmt, str(path))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip()
    text = shown.stdout + shown.stderr
    for raw in PLACEHOLDERS:
        for form in (raw, raw.replace("<", "&lt;").replace(">", "&gt;"), json.dumps(raw)[1:-1],
                     raw.replace(":", "")):
            assert form not in text, f"{fmt}: {form!r} in the output"
    assert "unknown ssid" not in text.lower()


@pytest.mark.lab
def test_phone_run_stdout_and_saved_report_never_show_placeholders(phone_run):
    lab, result, _ = phone_run
    saved = list((lab.dir / "payprobe-data").rglob("*.json"))
    assert saved, "the run saved no report"
    for raw in PLACEHOLDERS:
        assert raw not in result.stdout and raw not in result.stderr
        for path in saved:
            assert raw not in path.read_text(errors="replace"), path
    # They were replaced by the redactor's tokens, not dropped silently.
    (wifi,) = [e for e in result.check("connectivity")["evidence"] if e.get("what") == "wifi"]
    assert wifi["ssid"].startswith("ssid-") and wifi["bssid"].startswith("mac-")


@pytest.mark.lab
def test_phone_when_psutil_access_denied_degrades_to_skipped_sources(lab):
    lab.phone()
    result, _ = run_phone(lab, psutil_denied=True)
    assert model.validate(result.report) == []
    statuses = {c["name"]: c["status"] for c in result.report["checks"]}
    assert "error" not in statuses.values(), {c["name"]: c.get("error") for c in result.report["checks"]}
    conn = sources(result, "connectivity")
    for source in ("interfaces", "interface_stats", "link_counters"):
        assert conn[source].startswith("skipped: AccessDenied"), conn
    # What could still be read still counts: the check URLs answered, the Wi-Fi
    # RSSI came from termux-api.
    assert statuses["connectivity"] != "skipped"
    assert {"what": "internet", "ok": True} in result.check("connectivity")["evidence"]
    assert "net.weak_signal" in codes(result, "connectivity")
    assert "net.offline" not in codes(result, "connectivity")
    # The battery comes from termux-api, not psutil.
    assert "device.low_battery" in codes(result, "device")
