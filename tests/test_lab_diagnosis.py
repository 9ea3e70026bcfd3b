"""End to end in the lab (issue 6): a fault in the network, the full default
run of the real CLI, and the diagnosis it gives: the first cause, the verdict,
the status and the exit code (0 healthy, 1 degraded, 2 unhealthy)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.lab.lab import PAYMENT_HOSTS
from tests.lab.results import SCENARIO_CODES, all_codes

WECHAT_HOSTS = ("api.mch.weixin.qq.com", "api.wechatpay.cn")


def _full_run(lab: Any, *, env: dict[str, str] | None = None, **overrides: Any) -> Any:
    """Every default check (bandwidth is opt-in), kept short."""
    overrides.setdefault("deadline_s", 6.0)
    overrides.setdefault("latency", {"samples": 2, "icmp": False})
    result = lab.payprobe("run", config=lab.write_config(**overrides), env=env)
    assert result.report is not None, result.stderr
    return result


def _causes(result: Any) -> list[dict[str, Any]]:
    return result.report["causes"]


def _describe(result: Any) -> str:
    report = result.report
    return (f"status {report['status']}, exit {result.returncode}, causes "
            f"{[(c['code'], c['severity'], c['confidence'], c.get('target')) for c in report['causes']]}, "
            f"findings {sorted(set(all_codes(report)))}")


@pytest.mark.lab
def test_diagnosis_when_clock_behind_and_tls_not_yet_valid_gives_clock_wrong_first(lab):
    lab.move_world(2 * 86400.0)   # the device is 2 days behind the world
    result = _full_run(lab)
    print("\n" + _describe(result))
    first = _causes(result)[0]
    assert first["code"] == "clock_wrong", _describe(result)
    assert first["severity"] == "fail" and first["confidence"] == "high"
    assert {"clock.skew", "tls.not_yet_valid"} <= set(first["findings"])
    assert "behind" in first["explanation"]
    # It is the clock, not an attack and not an outage.
    assert not {"proxy_vpn_interference", "payment_service_outage"} & {c["code"] for c in _causes(result)}
    assert result.report["summary"]["top_cause"] == "clock_wrong"
    assert result.report["status"] == "unhealthy" and result.returncode == 2


@pytest.mark.lab
def test_diagnosis_when_mitm_proxy_intercepts_payment_hosts_gives_proxy_vpn_interference(lab):
    # A packet-capture "VPN" app: the default route through tun0, a local proxy
    # port, and the payment hosts answered with certificates of its own CA.
    for host in PAYMENT_HOSTS:
        lab.add_host(host, lab.rogue_address)
    lab.vpn(name="tun0")
    lab.proxy(port=7890, user=None, password=None)
    result = _full_run(lab)
    print("\n" + _describe(result))
    first = _causes(result)[0]
    assert first["code"] == "proxy_vpn_interference", _describe(result)
    assert first["severity"] == "fail" and first["confidence"] == "high"
    assert {"tls.untrusted_issuer", "vpn.interface", "proxy.local_listener"} <= set(first["findings"])
    assert "Totally Legit MITM CA" in first["explanation"]
    assert "payment_service_outage" not in {c["code"] for c in _causes(result)}
    assert result.report["status"] == "unhealthy" and result.returncode == 2


@pytest.mark.lab
def test_diagnosis_when_one_provider_blackholed_gives_payment_service_outage_naming_it(lab):
    for host in WECHAT_HOSTS:
        lab.blackhole(lab.host_address(host))
    result = _full_run(lab)
    print("\n" + _describe(result))
    outages = [c for c in _causes(result) if c["code"] == "payment_service_outage"]
    assert len(outages) == 1, _describe(result)
    outage = outages[0]
    assert outage["target"] == "wechatpay"
    assert "WeChat Pay" in outage["title"]
    assert outage["confidence"] == "high"   # two endpoints down, the rest of the internet up
    assert _causes(result)[0]["code"] == "payment_service_outage", _describe(result)
    assert not {"offline", "network_unstable", "dns_problem"} & {c["code"] for c in _causes(result)}
    assert result.report["status"] == "unhealthy" and result.returncode == 2


@pytest.mark.lab
def test_diagnosis_when_namespace_offline_gives_offline_first(lab):
    lab.offline()
    result = _full_run(lab)
    print("\n" + _describe(result))
    causes = _causes(result)
    assert causes[0]["code"] == "offline", _describe(result)
    assert causes[0]["severity"] == "fail" and causes[0]["confidence"] == "high"
    # Offline explains everything that needs a network.
    assert not {"payment_service_outage", "dns_problem", "network_unstable", "captive_portal",
                "proxy_vpn_interference"} & {c["code"] for c in causes}
    assert result.report["status"] == "unhealthy" and result.returncode == 2


@pytest.mark.lab
def test_diagnosis_when_clock_45s_behind_only_gives_degraded_clock_wrong_warn(lab):
    lab.ntp(45.0, name="ntp.skewed.lab.example")
    result = _full_run(lab, clock={"ntp_servers": ["ntp.skewed.lab.example"]})
    print("\n" + _describe(result))
    first = _causes(result)[0]
    assert first["code"] == "clock_wrong" and first["severity"] == "warn", _describe(result)
    assert first["findings"] == ["clock.skew"]
    assert result.report["status"] == "degraded" and result.returncode == 1


@pytest.mark.lab
def test_diagnosis_when_lab_healthy_says_network_is_fine_and_lists_what_to_check_next(lab):
    result = _full_run(lab)
    print("\n" + _describe(result))
    report = result.report
    assert report["status"] == "healthy" and result.returncode == 0, _describe(result)
    assert report["causes"] == []
    assert not set(SCENARIO_CODES) & set(all_codes(report))
    assert [c["status"] for c in report["checks"]] == ["ok"] * len(report["checks"])
    summary = report["summary"]
    assert summary["verdict_code"] == "network_ok" and summary["network_ok"] is True
    assert summary["verdict"].startswith("Your network is fine")
    assert summary["top_cause"] is None
    assert len(summary["ruled_out"]) >= 6
    steps = " ".join(summary["next_steps"])
    for words in ("Real-name", "实名认证", "daily limits", "restricted", "risk control",
                  "outdated app", "cache"):
        assert words in steps, words
    # The text rendering says it plainly too.
    text = lab.payprobe("run", "--format", "text", config=lab.write_config(
        deadline_s=6.0, latency={"samples": 1, "icmp": False}))
    assert text.returncode == 0
    assert "Your network is fine" in text.stdout
    assert "实名认证" in text.stdout
