"""Redaction: known secrets planted everywhere a check could put them must not
appear in any rendering of the redacted report."""

from __future__ import annotations

import copy
import getpass
import os
import socket
import stat
from collections import namedtuple
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from payprobe.reports.redact import Secrets, make_redactor, redact_report
from payprobe.reports.render import FORMATS, render

from tests.security.test_redaction import SALT, planted_secrets
from tests.test_render import _finding, _metric, sample_report

HOSTNAME = "pixel-7-alice"
USER = "alice_w"
HOME = "/home/alice_w"
MAC = "3c:22:fb:12:34:56"
SSID = "Alice Home 5G"
BSSID = "a4:2b:b0:de:ad:01"
PROXY_USER, PROXY_PASS = "proxyuser", "S3cretPass"
IFACE_V4 = "192.168.31.77"
IFACE_V6 = "fe80::1c2d:3eff:fe4f:5a6b"
PUBLIC_IP = "36.112.45.67"
SECRETS = [HOSTNAME, USER, HOME, MAC, MAC.upper(), SSID, BSSID, PROXY_USER, PROXY_PASS, IFACE_V4,
           IFACE_V6, PUBLIC_IP]

_Addr = namedtuple("_Addr", "family address netmask broadcast ptp")


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> None:
    """This 'device' has the secrets above as its hostname, user, home, NICs and proxy."""
    import psutil
    monkeypatch.setattr(socket, "gethostname", lambda: HOSTNAME)
    monkeypatch.setattr(getpass, "getuser", lambda: USER)
    monkeypatch.setenv("HOME", HOME)
    monkeypatch.setenv("HTTP_PROXY", f"http://{PROXY_USER}:{PROXY_PASS}@10.1.2.3:3128")
    monkeypatch.setattr(psutil, "net_if_addrs", lambda: {
        "wlan0": [_Addr(socket.AF_INET, IFACE_V4, None, None, None),
                  _Addr(socket.AF_INET6, IFACE_V6 + "%wlan0", None, None, None),
                  _Addr(psutil.AF_LINK, MAC, None, None, None)]})


def report_with_secrets() -> dict[str, Any]:
    report = sample_report()
    checks = {c["name"]: c for c in report["checks"]}
    checks["connectivity"]["summary"] = f"on Wi-Fi {SSID} ({BSSID}) as {USER}@{HOSTNAME}"
    checks["connectivity"]["evidence"].append({"what": "wifi", "ssid": SSID, "bssid": BSSID.upper(),
                                               "ip": IFACE_V4, "public_ip": PUBLIC_IP})
    checks["connectivity"]["findings"].append(_finding(
        "net.weak_signal", "warn", f"weak signal on {SSID}; interface {IFACE_V6}%wlan0 mac {MAC.upper()}",
        "wifi", rssi_dbm=-80, ssid=SSID))
    checks["proxy"]["findings"].append(_finding(
        "proxy.env", "warn", f"HTTP_PROXY=http://{PROXY_USER}:{PROXY_PASS}@10.1.2.3:3128 set",
        "HTTP_PROXY", scheme="http", has_credentials=True))
    checks["dns"]["metrics"].append(_metric("dns_query_seconds", 0.02, resolver=f"router {IFACE_V4}",
                                            name=f"{HOSTNAME}.lan"))
    checks["dns"]["findings"].append(_finding(
        "dns.system_failure", "warn", f"config {HOME}/.config/payprobe/config.toml; public {PUBLIC_IP}",
        "openapi.alipay.com", system_answers={f"{HOSTNAME}.lan": [IFACE_V4]},
        resolver_answers={"AliDNS": ["110.75.139.5"]}))
    checks["device"]["evidence"].append({"what": "path", f"{HOME}/storage": f"{MAC}", "user": USER})
    checks["endpoints"]["evidence"].append({"what": "note", "text": f"{PUBLIC_IP}:443 via {IFACE_V4}"})
    return report


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_secret_appears_in_any_rendering_of_a_redacted_report(planted: None, fmt: str) -> None:
    report = report_with_secrets()
    raw = render(report, fmt)
    assert any(s in raw for s in SECRETS), "the test plants nothing?"
    redacted = redact_report(report)
    assert redacted["redacted"] is True
    for lang in ("en", "zh"):
        out = render(redacted, fmt, lang=lang)
        found = [s for s in SECRETS if s.lower() in out.lower()]
        assert found == [], f"{fmt}/{lang} leaks {found}"


def test_redaction_keeps_well_known_and_configured_addresses(planted: None) -> None:
    report = report_with_secrets()
    report["checks"][1]["summary"] = "AliDNS 223.5.5.5, DNSPod 119.29.29.29, loopback 127.0.0.1, fake 198.18.0.9"
    out = redact_report(report)
    assert out["checks"][1]["summary"] == report["checks"][1]["summary"]


def test_redaction_tokens_are_stable_and_keep_correlation(planted: None) -> None:
    from payprobe.engine.secrets import redaction_salt
    first = redact_report(report_with_secrets(), salt=redaction_salt())
    second = redact_report(report_with_secrets(), salt=redaction_salt())
    assert first == second
    answers = next(f for f in first["checks"][1]["findings"] if f["code"] == "dns.system_failure")["data"]
    [(name, addrs)] = answers["system_answers"].items()
    assert name == "<hostname>.lan" and addrs[0].startswith("lan-")
    # The same address gets the same token wherever it appears.
    assert addrs[0] in first["checks"][0]["summary"] + str(first["checks"][0]["evidence"]) + str(
        first["checks"][1]["metrics"])
    assert answers["resolver_answers"]["AliDNS"][0].startswith("addr-")


def test_salt_file_is_private_and_reused(planted: None) -> None:
    from payprobe.engine import paths
    from payprobe.engine.secrets import redaction_salt
    first = redaction_salt()
    salt = paths.data_dir() / "redact-salt"
    assert stat.S_IMODE(os.stat(salt).st_mode) == 0o600
    before = salt.read_text()
    assert redaction_salt() == first and len(first) == 16
    assert salt.read_text() == before


def test_credentials_keys_and_userinfo_are_removed() -> None:
    r = make_redactor(None, secrets=Secrets(), settings=None)
    assert r.value({"password": "hunter2", "has_credentials": True}) == {"password": "***",
                                                                        "has_credentials": True}
    assert r.text("socks5://bob:pw@127.0.0.1:1080") == "socks5://***@127.0.0.1:1080"
    assert r.text("bob:pw@proxy.example:8080") == "***@proxy.example:8080"


def test_times_versions_and_plain_text_are_left_alone() -> None:
    r = make_redactor(None, secrets=Secrets(), settings=None)
    for text in ("2026-11-26T01:02:03.123Z", "python 3.11.7", "took 12:34:56", "HTTP/1.1 503"):
        assert r.text(text) == text


def test_redact_does_not_modify_its_input(planted: None) -> None:
    report = report_with_secrets()
    before = copy.deepcopy(report)
    redact_report(report)
    assert report == before


def test_a_twelve_digit_number_is_not_taken_for_a_mac() -> None:
    r = make_redactor(None, secrets=Secrets(), settings=None)
    assert r.text("received 123456789012 bytes") == "received 123456789012 bytes"


def test_a_twelve_digit_number_that_is_this_devices_mac_is_removed() -> None:
    r = make_redactor(None, secrets=Secrets(macs={"12:34:56:78:90:12"}), settings=None)
    assert "123456789012" not in r.text("station 123456789012 seen")


def test_redacting_a_redacted_report_changes_nothing(planted: None) -> None:
    # A bundle always redacts again: the redactor's own tokens must survive it.
    from payprobe.engine.secrets import redaction_salt
    salt = redaction_salt()
    once = redact_report(report_with_secrets(), salt=salt)
    assert redact_report(once, salt=salt) == once


def test_fingerprint_record_round_trips_and_names_its_salt() -> None:
    from payprobe.reports.redact import fingerprint_record, recorded_fingerprints
    from payprobe.reports.redact_match import Hasher
    record = fingerprint_record(secrets=Secrets(hostname={"Alices-Phone"}), salt=b"a" * 16)
    fingerprints = recorded_fingerprints({"redaction_fingerprints": record})
    assert fingerprints is not None and fingerprints.check == Hasher(b"a" * 16).check
    assert fingerprints.check != Hasher(b"b" * 16).check
    assert recorded_fingerprints({"redaction_fingerprints": {"format": "x"}}) is None


def test_configured_address_in_a_mapped_form_is_kept() -> None:
    import dataclasses

    from payprobe.settings import DnsConfig, Resolver, Settings
    settings = dataclasses.replace(Settings(), dns=DnsConfig(resolvers=[Resolver(name="r", address="36.112.1.1")]))
    r = make_redactor(None, secrets=Secrets(), settings=settings)
    assert r.text("asked 36.112.1.1 and ::ffff:36.112.1.1") == "asked 36.112.1.1 and ::ffff:36.112.1.1"
    assert r.text("asked 36.112.1.2").startswith("asked addr-")


def test_interface_address_in_a_kept_range_is_still_tokenised() -> None:
    # An address of this device is the device, even in a documentation range.
    r = make_redactor(None, secrets=Secrets(addresses={"203.0.113.66"}), settings=None)
    assert "203.0.113.66" not in r.text("bound to 203.0.113.66, peer 203.0.113.1")
    assert "203.0.113.1" in r.text("bound to 203.0.113.66, peer 203.0.113.1")


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(text=st.text(max_size=80))
def test_fuzz_redacting_any_text_twice_changes_nothing_more(text: str) -> None:
    # A bundle redacts a redacted report again: its tokens and masks must be fixed points.
    redactor = make_redactor(None, secrets=planted_secrets(), salt=SALT)
    once = redactor.text(text)
    assert redactor.text(once) == once


@pytest.mark.parametrize("text", ["Bearer ::ffff:a", "Bearer ::ffff:a/home/", "/home//home/a", "Bearer mac-::ffff:a"])
def test_redacting_twice_changes_nothing_where_tokens_meet_masks(text: str) -> None:
    # Found by fuzzing: a token next to a value pattern was masked again on the second pass.
    r = make_redactor(None, secrets=Secrets(), settings=None, salt=b"s" * 16)
    once = r.text(text)
    assert r.text(once) == once
