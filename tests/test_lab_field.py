"""Field truth in the lab (issue 12): a fault next to the ones the other lab tests
cover, the full default run of the real CLI, and who the diagnosis blames.

One test per row of the provider rule table that the lab can produce
(HACKING.md "Diagnosis rules"; the ``timeout`` row, a blackholed provider, is in
tests/test_lab_diagnosis.py), the converse of loss (a dead system resolver on a
working link), and a lossy link: random loss on all traffic, both directions,
at 10, 20 and 40 %, ten runs each, every one of which must put
``network_unstable`` first.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.lab.lab import IPTABLES
from tests.lab.results import all_codes

STRIPE = "api.stripe.com"
LOSSY_RUNS = 10
OTHERS_DOWN = {"offline", "dns_problem", "payment_service_outage", "captive_portal", "inconclusive"}


def _full_run(lab: Any, **overrides: Any) -> dict[str, Any]:
    """Every default check (bandwidth is opt-in), kept short; the report."""
    overrides.setdefault("deadline_s", 8.0)
    overrides.setdefault("latency", {"samples": 4, "icmp": False})
    result = lab.payprobe("run", config=lab.write_config(**overrides))
    assert result.report is not None, result.stderr
    return result.report


def _describe(report: dict[str, Any]) -> str:
    return (f"status {report['status']}, causes "
            f"{[(c['code'], c['severity'], c['confidence'], c.get('target')) for c in report['causes']]}, "
            f"findings {sorted(set(all_codes(report)))}")


def _outage(report: dict[str, Any], provider: str) -> dict[str, Any]:
    """The first cause, which must be the one outage, of ``provider``."""
    causes = report["causes"]
    outages = [c for c in causes if c["code"] == "payment_service_outage"]
    assert causes and causes[0]["code"] == "payment_service_outage", _describe(report)
    assert [c["target"] for c in outages] == [provider], _describe(report)
    assert report["summary"]["top_cause"] == "payment_service_outage"
    return causes[0]


def _replace(lab: Any, host: str, kind: str = "valid", **server: Any) -> None:
    """Point ``host`` at a new TLS server of ``kind`` (the lab CA unless mitm)."""
    lab.add_host(host, lab.tls_server(kind, hostname=host, **server))


def _drop_all(lab: Any, percent: float) -> None:
    """Random loss on every packet: on loopback each packet, either way, passes INPUT once."""
    lab.exec([IPTABLES, "-w", "-I", "INPUT", "-m", "statistic", "--mode", "random",
              "--probability", f"{percent / 100.0:.3f}", "-j", "DROP"], raw=True, check=True)


# ------------------------------------------------------------------ certificate rows


@pytest.mark.lab
def test_field_when_one_provider_cert_expired_and_clock_right_blames_its_certificate(lab):
    _replace(lab, STRIPE, "expired")
    report = _full_run(lab)
    print("\n" + _describe(report))
    cause = _outage(report, "stripe")
    assert cause["severity"] == "fail" and cause["confidence"] == "high"
    assert cause["title"] == "Stripe's server certificate is misconfigured"
    assert "expired" in cause["explanation"] and "clock is right" in cause["explanation"]
    assert not {"clock_wrong", "proxy_vpn_interference", "inconclusive"} & {c["code"] for c in report["causes"]}


@pytest.mark.lab
def test_field_when_one_provider_cert_names_other_hosts_blames_its_certificate(lab):
    _replace(lab, STRIPE, "wrong_host")
    report = _full_run(lab)
    print("\n" + _describe(report))
    cause = _outage(report, "stripe")
    assert "certificate for other names" in cause["explanation"]


@pytest.mark.lab
def test_field_when_one_provider_cert_from_unknown_ca_blames_its_certificate(lab):
    _replace(lab, STRIPE, "mitm")
    report = _full_run(lab)
    print("\n" + _describe(report))
    cause = _outage(report, "stripe")
    assert "Totally Legit MITM CA" in cause["explanation"]


# ------------------------------------------------------------------ slow rows


@pytest.mark.lab
def test_field_when_one_provider_first_byte_takes_1500ms_blames_it_slow(lab):
    _replace(lab, STRIPE, delay_ms=1500.0)
    report = _full_run(lab)
    print("\n" + _describe(report))
    cause = _outage(report, "stripe")
    assert cause["title"] == "Stripe is slow or overloaded" and cause["confidence"] == "high"
    assert "first byte after 15" in cause["explanation"]
    assert "network_unstable" not in {c["code"] for c in report["causes"]}


@pytest.mark.lab
def test_field_when_one_provider_answers_503_blames_it_overloaded(lab):
    _replace(lab, STRIPE, mode="slow503", delay_ms=1.0)
    report = _full_run(lab)
    print("\n" + _describe(report))
    cause = _outage(report, "stripe")
    assert cause["title"] == "Stripe is slow or overloaded" and "HTTP 503" in cause["explanation"]


# ------------------------------------------------------------------ down rows


@pytest.mark.lab
def test_field_when_one_provider_refuses_connections_blames_it_down(lab):
    lab.reject(lab.host_address(STRIPE))
    report = _full_run(lab)
    print("\n" + _describe(report))
    cause = _outage(report, "stripe")
    assert cause["title"] == "Stripe is not answering" and "connections refused" in cause["explanation"]


@pytest.mark.lab
def test_field_when_one_provider_resets_connections_blames_it_down(lab):
    # Reset on its first data (the TLS ClientHello), after the connection was accepted.
    lab.exec([IPTABLES, "-w", "-I", "INPUT", "-d", lab.host_address(STRIPE), "-p", "tcp",
              "--tcp-flags", "PSH", "PSH", "-j", "REJECT", "--reject-with", "tcp-reset"],
             raw=True, check=True)
    report = _full_run(lab)
    print("\n" + _describe(report))
    cause = _outage(report, "stripe")
    assert "connections cut off" in cause["explanation"]


@pytest.mark.lab
def test_field_when_one_provider_host_unreachable_blames_it_down(lab):
    lab.exec([IPTABLES, "-w", "-I", "OUTPUT", "-d", lab.host_address(STRIPE), "-j", "REJECT",
              "--reject-with", "icmp-host-unreachable"], raw=True, check=True)
    report = _full_run(lab)
    print("\n" + _describe(report))
    cause = _outage(report, "stripe")
    assert "no route to its servers" in cause["explanation"]


@pytest.mark.lab
def test_field_when_one_provider_accepts_but_never_answers_blames_it_down(lab):
    _replace(lab, STRIPE, delay_ms=60_000.0)
    report = _full_run(lab)
    print("\n" + _describe(report))
    cause = _outage(report, "stripe")
    assert cause["title"] == "Stripe is not answering"
    assert "never answers" in cause["explanation"] or "no answer in time" in cause["explanation"]


# ------------------------------------------------------------------ never the provider's


@pytest.mark.lab
def test_field_when_one_endpoint_name_does_not_exist_gives_dns_problem_not_outage(lab):
    endpoints = [{"name": "Typo Pay", "provider": "typopay", "url": "https://api.typo-pay.example/"},
                 {"name": "Alipay OpenAPI", "provider": "alipay", "url": "https://openapi.alipay.com/"},
                 {"name": "UnionPay Gateway", "provider": "unionpay", "url": "https://gateway.95516.com/"}]
    report = _full_run(lab, endpoints=endpoints)
    print("\n" + _describe(report))
    causes = report["causes"]
    assert causes and causes[0]["code"] == "dns_problem", _describe(report)
    assert "api.typo-pay.example" in causes[0]["explanation"]
    assert "payment_service_outage" not in {c["code"] for c in causes}
    assert report["status"] == "unhealthy"


@pytest.mark.lab
def test_field_when_path_to_one_provider_loses_half_its_packets_gives_no_outage(lab):
    lab.loss(lab.host_address(STRIPE), 50.0)
    report = _full_run(lab)
    print("\n" + _describe(report))
    assert "payment_service_outage" not in {c["code"] for c in report["causes"]}, _describe(report)


@pytest.mark.lab
def test_field_when_system_resolver_dead_and_alternates_answer_gives_dns_problem_not_offline(lab):
    lab.set_system_resolver(lab.dns("silent"))
    report = _full_run(lab)
    print("\n" + _describe(report))
    causes = report["causes"]
    assert causes and causes[0]["code"] == "dns_problem", _describe(report)
    assert causes[0]["severity"] == "fail" and causes[0]["confidence"] == "high"
    assert "Private DNS" in causes[0]["explanation"]
    assert "offline" not in {c["code"] for c in causes}


# ------------------------------------------------------------------ a lossy link


@pytest.mark.lab
@pytest.mark.parametrize("percent", [10.0, 20.0, 40.0])
def test_field_when_all_traffic_loses_packets_ten_runs_all_give_network_unstable_first(lab, percent):
    _drop_all(lab, percent)
    tops: list[str | None] = []
    seconds: list[float] = []
    for _ in range(LOSSY_RUNS):
        started = time.monotonic()
        report = _full_run(lab)
        seconds.append(time.monotonic() - started)
        causes = report["causes"]
        tops.append(causes[0]["code"] if causes else None)
        print(f"\n{percent:.0f} % loss, {seconds[-1]:.1f} s: {_describe(report)}")
        assert causes and causes[0]["code"] == "network_unstable", _describe(report)
        assert any("mobile data" in r for r in causes[0]["remedies"])
        assert not OTHERS_DOWN & {c["code"] for c in causes[:1]}
    print(f"\n{percent:.0f} % loss: {tops.count('network_unstable')}/{LOSSY_RUNS} network_unstable first; "
          f"{sum(seconds) / len(seconds):.1f} s per run (max {max(seconds):.1f} s)")
