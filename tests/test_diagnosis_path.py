"""The opt-in measurements in the diagnosis (issue 14): where on the way packets start
to be lost (``path.loss_at_hop``: the Wi-Fi router, the internet provider, or one payment
provider's own edge), bufferbloat and a path that drops large packets; in English and
Chinese, and the same words again when a report is shown in the other language."""

from __future__ import annotations

from typing import Any

import pytest
from payprobe.reports import catalog
from payprobe.reports.diagnosis import diagnose
from payprobe.reports.wording import in_language

from tests.diagnosis_runs import HOST, SETTINGS, Run, finding

ADDRESS = {"local": "192.168.1.1", "isp": "203.0.113.9", "provider_edge": "198.51.100.7"}


def hop(endpoint: str, segment: str, number: int = 4, loss_pct: float = 40.0) -> dict[str, Any]:
    return finding("path.loss_at_hop", "warn", endpoint, hop=number, address=ADDRESS[segment],
                   address_kind="private" if segment == "local" else "public", loss_pct=loss_pct,
                   path_loss_pct=loss_pct, segment=segment, endpoint=endpoint, ip_family="ipv4")


def path_check(findings: list[dict[str, Any]], clean: tuple[str, ...] = ()) -> dict[str, Any]:
    """The path check: the findings, and a traced route with no loss to each of ``clean``."""
    evidence: list[dict[str, Any]] = [
        {"what": "path", "endpoints": [name], "ip_family": "ipv4", "loss_onset": None} for name in clean]
    for f in findings:
        evidence.append({"what": "path", "endpoints": [f["target"]], "ip_family": "ipv4",
                         "loss_onset": {k: f["data"][k] for k in ("hop", "address", "segment", "loss_pct")}})
    return {"name": "path", "version": "1", "status": "warn" if findings else "ok", "duration_s": 2.0,
            "summary": "", "metrics": [], "findings": findings, "evidence": evidence, "error": None}


def bandwidth_check(idle_ms: float = 30.0, loaded_ms: float = 900.0) -> dict[str, Any]:
    bloat = finding("net.bufferbloat", "warn", "download", idle_rtt_ms=idle_ms, loaded_rtt_ms=loaded_ms,
                    increase_ms=loaded_ms - idle_ms, rpm=66, grade="F", threshold_ms=200.0, source="DSLReports")
    return {"name": "bandwidth", "version": "1", "status": "warn", "duration_s": 9.0, "summary": "",
            "metrics": [], "findings": [bloat], "evidence": [], "error": None}


def mtu_finding(*names: str) -> dict[str, Any]:
    hosts = [HOST[n] for n in names]
    return finding("net.mtu_blackhole", "warn", "", targets=hosts, mss=dict.fromkeys(hosts, 1240), stall_s=3.0)


def with_checks(*extra: dict[str, Any]) -> Run:
    run = Run()
    run.other_checks += list(extra)
    return run


def only(run: Run, lang: str = "en") -> dict[str, Any]:
    causes, summary = run.diagnose(lang)
    assert len(causes) == 1, [c["code"] for c in causes]
    assert summary["top_cause"] == causes[0]["code"]
    return causes[0]


# ------------------------------------------------------------------ path.loss_at_hop


def test_network_unstable_when_loss_starts_at_the_wifi_router_says_so_with_router_remedies() -> None:
    run = with_checks(path_check([hop("Alipay OpenAPI", "local", 1), hop("UnionPay Gateway", "local", 1)]))
    cause = only(run)
    assert cause["code"] == "network_unstable" and cause["severity"] == "warn"
    assert "at your own Wi-Fi router (hop 1, 192.168.1.1: 40% lost there)" in cause["explanation"]
    assert cause["explanation"].count("hop 1") == 1          # one router, said once
    assert cause["remedy_keys"][:2] == ["wifi_router", "switch_network"]
    assert "restart it" in cause["remedies"][0] and "mobile data" in cause["remedies"][1]
    assert "path.loss_at_hop" in cause["findings"]
    zh = only(run, "zh")
    assert "从您自己的 Wi-Fi 路由器开始丢包（第 1 跳，192.168.1.1：该处丢包 40%）" in zh["explanation"]
    assert "重启路由器" in zh["remedies"][0]


def test_network_unstable_when_loss_starts_in_the_isp_network_asks_to_call_the_provider() -> None:
    cause = only(with_checks(path_check([hop("WeChat Pay API", "isp", 5, 25.0)])))
    assert cause["code"] == "network_unstable"
    assert "inside your internet provider's network, past your router (hop 5, 203.0.113.9" in cause["explanation"]
    assert cause["remedy_keys"][:2] == ["switch_network", "call_isp"]
    assert "tell them packets start to be lost at the hop" in cause["remedies"][1]
    zh = only(with_checks(path_check([hop("WeChat Pay API", "isp", 5, 25.0)])), "zh")
    assert "网络运营商的网络内开始（第 5 跳，203.0.113.9：从该处起丢包 25%）" in zh["explanation"]
    assert "联系您的网络运营商" in zh["remedies"][1]


def test_outage_when_loss_starts_at_one_provider_edge_while_it_answers_blames_that_provider() -> None:
    run = with_checks(path_check([hop("Alipay OpenAPI", "provider_edge", 9, 30.0)],
                                 clean=("WeChat Pay API", "UnionPay Gateway")))
    cause = only(run)
    assert cause["code"] == "payment_service_outage" and cause["target"] == "alipay"
    assert cause["variant"] == "edge_loss" and cause["severity"] == "warn"
    assert cause["title"] == "Alipay's network is losing packets"
    assert "Alipay OpenAPI: loss starts at hop 9 (198.51.100.7), 30% lost there" in cause["explanation"]
    assert "not your network" in cause["explanation"]
    assert cause["remedy_keys"] == ["wait_notice", "other_method", "contact_support"]
    zh = only(run, "zh")
    assert zh["title"] == "支付宝的网络在丢包"
    assert "支付宝开放平台：从第 9 跳（198.51.100.7）开始丢包，该处丢包 30%" in zh["explanation"]


def test_outage_when_provider_edge_loses_and_its_endpoints_fail_joins_the_down_outage() -> None:
    run = Run().down("Stripe API", "generic_timeout")
    run.other_checks.append(path_check([hop("Stripe API", "provider_edge", 11, 100.0)]))
    causes, _ = run.diagnose()
    outages = [c for c in causes if c["code"] == "payment_service_outage"]
    assert len(outages) == 1 and outages[0]["target"] == "stripe" and outages[0]["variant"] == "down"
    assert "path.loss_at_hop" in outages[0]["findings"]
    assert "loss starts at hop 11 (198.51.100.7), 100% lost there" in outages[0]["explanation"]


def test_network_unstable_when_loss_starts_at_every_provider_edge_blames_the_way_not_them() -> None:
    edges = [hop(name, "provider_edge", 8) for name in ("Alipay OpenAPI", "WeChat Pay API", "UnionPay Gateway")]
    cause = only(with_checks(path_check(edges)))
    assert cause["code"] == "network_unstable"
    assert "several payment services at once (Alipay, UnionPay, WeChat Pay)" in cause["explanation"]
    assert "call_isp" in cause["remedy_keys"]
    zh = only(with_checks(path_check(edges)), "zh")
    assert "支付宝、银联、微信支付" in zh["explanation"]


def test_outage_when_loss_at_one_provider_edge_and_no_other_provider_seen_blames_no_one() -> None:
    run = Run()
    checks = [run.checks()[0], path_check([hop("Alipay OpenAPI", "provider_edge")])]
    causes, summary = diagnose(checks, lang="en", settings=SETTINGS)  # type: ignore[arg-type]
    assert "payment_service_outage" not in [c["code"] for c in causes]
    assert summary["verdict_code"] in ("minor", "nothing_found")


# ------------------------------------------------------------------ net.bufferbloat


def test_network_unstable_when_bufferbloat_names_the_delay_and_the_queue_remedies() -> None:
    run = with_checks(bandwidth_check(28.0, 940.0))
    cause = only(run)
    assert cause["code"] == "network_unstable" and cause["severity"] == "warn"
    assert "grows from 28 ms to 940 ms while the connection is busy (bufferbloat)" in cause["explanation"]
    assert cause["remedy_keys"][:3] == ["pause_traffic", "router_sqm", "switch_network"]
    assert "QoS or SQM" in cause["remedies"][1]
    zh = only(run, "zh")
    assert "网络繁忙时延迟从 28 ms 增加到 940 ms（缓冲膨胀）" in zh["explanation"]
    assert "智能队列" in zh["remedies"][1]


# ------------------------------------------------------------------ net.mtu_blackhole


def test_network_unstable_when_only_large_packets_are_lost_uses_its_own_wording() -> None:
    run = Run()
    run.tls_findings.append(mtu_finding("Alipay OpenAPI", "UnionPay Gateway"))
    cause = only(run)
    assert cause["code"] == "network_unstable" and cause["variant"] == "mtu"
    assert cause["title"] == "This network drops large packets"
    assert "openapi.alipay.com, gateway.95516.com" in cause["explanation"] and "1240 bytes" in cause["explanation"]
    assert cause["remedy_keys"][:3] == ["mtu_router", "vpn_off", "switch_network"]
    assert "1492" in cause["remedies"][0]
    zh = only(run, "zh")
    assert zh["title"] == "这个网络会丢弃大数据包"
    assert "openapi.alipay.com、gateway.95516.com" in zh["explanation"] and "1240 字节" in zh["explanation"]


def test_network_unstable_when_large_packets_lost_with_bufferbloat_lists_both() -> None:
    run = with_checks(bandwidth_check())
    run.tls_findings.append(mtu_finding("Stripe API"))
    cause = only(run)
    assert cause.get("variant", "") == "" and cause["title"] == "The connection is slow or unstable"
    assert "bufferbloat" in cause["explanation"] and "large packets are lost" in cause["explanation"]
    assert cause["confidence"] == "high"
    assert {"mtu_router", "pause_traffic"} <= set(cause["remedy_keys"])


# ------------------------------------------------------------------ both languages, any time


CASES = {
    "local": lambda: with_checks(path_check([hop("Alipay OpenAPI", "local", 1)])),
    "isp": lambda: with_checks(path_check([hop("Alipay OpenAPI", "isp")])),
    "edge": lambda: with_checks(path_check([hop("Alipay OpenAPI", "provider_edge")], clean=("Stripe API",))),
    "bufferbloat": lambda: with_checks(bandwidth_check()),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_diagnosis_when_shown_in_the_other_language_says_what_that_language_run_says(case: str) -> None:
    en_causes, en_summary = CASES[case]().diagnose("en")
    zh_causes, zh_summary = CASES[case]().diagnose("zh")
    report: dict[str, Any] = {"causes": en_causes, "summary": en_summary, "lang": "en"}
    remade = in_language(report, "zh")  # type: ignore[arg-type]
    assert remade["causes"] == zh_causes and remade["summary"] == zh_summary


@pytest.mark.parametrize("code", ["path.loss_at_hop", "net.bufferbloat", "net.mtu_blackhole"])
def test_new_finding_codes_when_explained_have_titles_and_remedies_in_both_languages(code: str) -> None:
    for lang in ("en", "zh"):
        text = catalog.explain(code, lang) or ""
        assert text.startswith(code) and "{" not in text
        assert len((catalog.finding_entry(code, lang) or {}).get("remedies", [])) == 3
    assert catalog.finding_title(code, "en").isascii() and not catalog.finding_title(code, "zh").isascii()
