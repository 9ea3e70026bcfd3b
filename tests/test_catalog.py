"""Message catalogs and `payprobe explain`."""

from __future__ import annotations

import io
import json
import re
import string

import pytest
from payprobe.reports import catalog

DESIGN_FINDINGS = [
    "net.offline", "net.captive_portal", "net.link_errors", "net.weak_signal",
    "dns.system_failure", "dns.resolver_unreachable", "dns.hijack", "dns.nxdomain_rewrite", "dns.fake_ip",
    "dns.slow", "tls.untrusted_issuer", "tls.hostname_mismatch", "tls.expired", "tls.not_yet_valid",
    "tls.handshake_failed", "tls.slow", "clock.skew", "clock.ntp_blocked", "clock.unknown",
    "proxy.env", "proxy.system", "proxy.local_listener", "vpn.interface",
    "endpoint.unreachable", "endpoint.slow", "endpoint.loss", "endpoint.http_error",
    "bandwidth.low", "bandwidth.unavailable",
    "device.low_memory", "device.low_storage", "device.low_battery", "device.high_load",
    # added later (DESIGN §5, same contract)
    "net.ipv6_broken", "net.ipv6_slow", "net.mtu_blackhole", "net.bufferbloat", "path.loss_at_hop",
]
DESIGN_CAUSES = ["offline", "captive_portal", "network_unstable", "dns_problem", "proxy_vpn_interference",
                 "clock_wrong", "payment_service_outage", "device_resources"]


def _shape(obj: object, prefix: str = "") -> set[str]:
    if isinstance(obj, dict):
        return {k for key, v in obj.items() for k in _shape(v, f"{prefix}/{key}")} | {prefix}
    return {prefix}


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_catalogs_have_the_same_keys_and_placeholders() -> None:
    en, zh = catalog.load("en"), catalog.load("zh")
    assert _shape(en) == _shape(zh)

    def walk(a: object, b: object, where: str) -> None:
        if isinstance(a, dict):
            for k in a:
                walk(a[k], b[k], f"{where}/{k}")  # type: ignore[index]
        elif isinstance(a, str):
            assert _placeholders(a) == _placeholders(str(b)), where
        elif isinstance(a, list):
            assert a == b, where  # remedy key lists are language independent

    walk(en, zh, "")


def test_every_design_code_is_in_the_catalog() -> None:
    assert set(DESIGN_FINDINGS) <= set(catalog.finding_codes())
    assert set(DESIGN_CAUSES) <= set(catalog.cause_codes())


def test_every_remedy_key_exists() -> None:
    en = catalog.load("en")
    used = {k for section in ("causes", "findings") for e in en[section].values() for k in e["remedies"]}
    used |= {k for e in en["causes"].values() for v in e.get("variants", {}).values() for k in v["remedies"]}
    assert used <= set(en["remedies"])


def test_outage_variants_when_listed_tell_down_slow_certificate_and_edge_loss_apart_in_both_languages() -> None:
    for lang, words in (("en", ("not answering", "slow or overloaded", "certificate", "losing packets")),
                        ("zh", ("无法访问", "响应慢或过载", "证书", "丢包"))):
        variants = catalog.cause_entry("payment_service_outage", lang)["variants"]  # type: ignore[index]
        assert list(variants) == ["down", "slow", "certificate", "edge_loss"]
        for variant, word in zip(variants.values(), words, strict=True):
            assert word in variant["title"] and "{provider}" in variant["title"]
            assert "{detail}" in variant["explanation"] and variant["remedies"]


def test_ipv6_broken_remedies_when_explained_cover_router_switching_and_why_slow() -> None:
    en = catalog.explain("net.ipv6_broken", "en") or ""
    assert "router" in en and "IPv6 off" in en and "mobile data" in en and "feel slow" in en
    zh = catalog.explain("net.ipv6_broken", "zh") or ""
    assert "路由器" in zh and "关闭 IPv6" in zh and "移动数据" in zh and "变慢" in zh
    assert "IPv4" in (catalog.explain("net.ipv6_slow", "en") or "")


def test_cli_explain_lists_the_new_ipv6_codes() -> None:
    from payprobe.cli.main import main
    for code in ("net.ipv6_broken", "net.ipv6_slow"):
        out = io.StringIO()
        assert main(["explain", code, "--lang", "zh"], stdout=out, stderr=io.StringIO()) == 0
        assert out.getvalue().startswith(code) and "IPv6" in out.getvalue()


def test_remedies_carry_the_support_staff_advice() -> None:
    en = " ".join(catalog.load("en")["remedies"].values())
    zh = " ".join(catalog.load("zh")["remedies"].values())
    for needle in ("223.5.5.5", "dns.alidns.com", "automatic date and time", "sign-in page", "VPN",
                   "daily limits", "clear its cache", "Alipay, WeChat Pay, Douyin Pay", "wait a few minutes",
                   "mobile data"):
        assert needle in en, needle
    for needle in ("223.5.5.5", "dns.alidns.com", "自动设置日期和时间", "登录", "VPN", "单日限额", "清理缓存",
                   "支付宝、微信支付、抖音支付", "等几分钟", "移动数据", "私人DNS", "连接与共享"):
        assert needle in zh, needle


def test_catalog_files_are_valid_utf8_json() -> None:
    for lang in catalog.LANGS:
        json.loads((catalog.I18N_DIR / f"{lang}.json").read_bytes().decode("utf-8"))


@pytest.mark.parametrize("code", DESIGN_FINDINGS + DESIGN_CAUSES)
def test_explain_every_code_in_both_languages(code: str) -> None:
    for lang in ("en", "zh"):
        text = catalog.explain(code, lang)
        assert text and text.startswith(code)
        assert "{" not in text and "}" not in text
        assert not re.search(r"\(\s*\)|\uff08\s*\uff09|: \.|:\u3002", text)


def test_explain_gives_remedies_in_chinese() -> None:
    text = catalog.explain("clock_wrong", "zh")
    assert text is not None and "怎么办" in text and "自动设置日期和时间" in text


def test_explain_unknown_code_is_none() -> None:
    assert catalog.explain("no.such_code", "en") is None


def test_cli_explain_prints_the_explanation() -> None:
    from payprobe.cli.main import main
    out, err = io.StringIO(), io.StringIO()
    assert main(["explain", "dns.hijack", "--lang", "en"], stdout=out, stderr=err) == 0
    assert "223.5.5.5" in out.getvalue()
    assert main(["explain", "bogus.code"], stdout=io.StringIO(), stderr=err) == 64


def test_missing_key_falls_back_to_the_key_itself() -> None:
    assert catalog.ui("no-such-key", "zh") == "no-such-key"
    assert catalog.provider_name("wechatpay", "zh") == "微信支付"
    assert catalog.provider_name("acmepay", "zh") == "acmepay"


def test_every_finding_code_a_check_can_emit_has_a_catalog_entry_in_both_languages():
    import re
    from pathlib import Path

    from payprobe.reports import catalog
    not_codes = {"clock.offset_s", "dns.system_answers", "dns.query"}  # blackboard keys, a module
    source = "".join(p.read_text() for p in (Path(__file__).parents[1] / "checks").glob("*.py"))
    codes = set(re.findall(r'"((?:net|dns|tls|clock|proxy|vpn|endpoint|bandwidth|device)\.[a-z_]+)"',
                           source)) - not_codes
    assert len(codes) >= 35
    for lang in ("en", "zh"):
        missing = sorted(c for c in codes if catalog.explain(c, lang) is None)
        assert missing == [], f"{lang}: no catalog entry for {missing}"
