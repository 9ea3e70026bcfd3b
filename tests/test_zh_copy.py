"""The Chinese copy reads like a payment app's help text (issue 14, item 3): full-width
punctuation, 您, one term per thing, bank and wallet words, settings paths that exist
on Chinese phones; and both catalogs have the same keys."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from payprobe.reports import catalog
from payprobe.reports.diagnosis import diagnose

from tests.test_render import _check

ZH = catalog.load("zh")
EN = catalog.load("en")

# Code-like tokens that keep their ASCII punctuation inside Chinese text.
ALLOWED = [
    r"\{[a-z_]+\}",                     # placeholders
    r"`[^`]+`",                         # commands
    r"https?://\S+",                    # URLs
    r"Termux:API",
    r"\d+(?:\.\d+){1,3}(?:/\d+)?",      # addresses, versions, prefixes: 223.5.5.5, 198.18.0.0/15
    r"198\.18\.x\.x",
    r"[a-z0-9-]+(?:\.[a-z0-9-]+)+",     # host names: dns.alidns.com
    r"HTTP_PROXY",
]
_ALLOWED = re.compile("|".join(ALLOWED))
_HALF_WIDTH = re.compile(r"[,:;()]")
_CJK = re.compile(r"[\u3400-\u9fff]")
# Words that say the same thing as the chosen term, and the term.
TERMS = {
    "你": "您",
    "手机流量": "移动数据",
    "蜂窝": "移动数据",
    "每日支付限额": "单日限额",
    "每日": "单日",
    "中置信度": "置信度：中",
    "高置信度": "置信度：高",
    "低置信度": "置信度：低",
    "私人 DNS": "私人DNS",
}
_WIFI_MISSPELT = re.compile(r"(?<![A-Za-z])(?!Wi-Fi)(?:wi-?fi|WiFi|WIFI|wlan|WLAN)(?![A-Za-z])", re.IGNORECASE)
# 设备 only for the network's devices, never for the phone.
_DEVICE_OK = ("中间设备", "过滤设备")


def strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from strings(value, f"{path}/{key}")
    elif isinstance(node, str):
        yield path, node


ZH_STRINGS = [(p, s) for p, s in strings(ZH) if not p.startswith("/endpoints/")]


def _shape(node: Any, path: str = "") -> set[str]:
    if isinstance(node, dict):
        return {path} | {k for key, v in node.items() for k in _shape(v, f"{path}/{key}")}
    return {path}


def test_catalogs_when_compared_have_every_key_in_both_languages() -> None:
    en, zh = _shape(EN), _shape(ZH)
    assert sorted(en - zh) == [] and sorted(zh - en) == []


@pytest.mark.parametrize("path,text", ZH_STRINGS, ids=[p for p, _ in ZH_STRINGS])
def test_zh_string_when_read_uses_full_width_punctuation_in_chinese_text(path: str, text: str) -> None:
    if not _CJK.search(text):
        return   # a code-like value ("Wi-Fi", "{failures}", a separator)
    stripped = _ALLOWED.sub("", text)
    assert not _HALF_WIDTH.search(stripped), f"{path}: half-width {_HALF_WIDTH.findall(stripped)} in {text!r}"
    assert not re.search(r"[\u3400-\u9fff]\.(?!\w)", stripped), f"{path}: ends a sentence with '.'"
    assert not re.search(r"\d\.0(?!\d)", stripped), f"{path}: a needless decimal"


@pytest.mark.parametrize("path,text", ZH_STRINGS, ids=[p for p, _ in ZH_STRINGS])
def test_zh_string_when_read_uses_one_term_per_thing(path: str, text: str) -> None:
    for wrong, right in TERMS.items():
        assert wrong not in text, f"{path}: {wrong!r} where the copy says {right!r}"
    assert not _WIFI_MISSPELT.search(text.replace("Wi-Fi", "")), f"{path}: write Wi-Fi"
    rest = text
    for ok in _DEVICE_OK:
        rest = rest.replace(ok, "")
    assert "设备" not in rest, f"{path}: the phone is 手机"


def test_zh_contact_lists_when_they_name_wallets_include_douyin_pay() -> None:
    for path, text in ZH_STRINGS:
        if "支付宝" in text and "微信支付" in text and "银行" in text:
            assert "抖音支付" in text, path
    for path, text in strings(EN):
        if "Alipay" in text and "WeChat Pay" in text and "bank" in text:
            assert "Douyin Pay" in text, path


def test_zh_private_dns_advice_when_given_works_on_chinese_phones() -> None:
    advice = ZH["remedies"]["set_dns"]
    assert "在设置中搜索「私人DNS」" in advice
    assert "连接与共享 > 私人DNS" in advice          # MIUI and ColorOS
    assert "设置 > 网络 > 私人" not in advice        # no such path on those phones


def test_zh_wording_when_read_uses_bank_and_wallet_words() -> None:
    text = " ".join(s for _, s in ZH_STRINGS)
    for word in ("实名认证", "单日限额", "风控", "置信度：中", "报告编号"):
        assert word in text, word
    assert ZH["ui"]["run"] == "报告编号"


def test_zh_offline_explanation_when_the_link_is_up_does_not_contradict_itself() -> None:
    offline = ZH["causes"]["offline"]
    assert "{detail}" in offline["explanation"]
    for key in ("offline.no_interface", "offline.no_route", "offline.all_unreachable"):
        assert "已连接" not in ZH["detail"][key]
    link_up = offline["variants"]["link_up"]["explanation"]
    assert "没有可用的网络连接" not in link_up and "已连接网络" in link_up


def test_zh_lists_when_joined_use_the_chinese_enumeration_comma() -> None:
    assert ZH["detail"]["list_sep"] == "、" and ZH["detail"]["list_sep_outer"] == "；"
    checks = [_check("proxy", "ok", "no proxy"), _check("device", "ok", "fine")]
    _, summary = diagnose(checks, lang="zh", settings=None)  # type: ignore[arg-type]
    assert "已运行的检查（代理和 VPN、手机状态）" in summary["verdict"], summary["verdict"]
    assert ", " not in summary["verdict"]


def test_zh_numbers_when_measured_have_no_needless_decimals() -> None:
    checks = [_check("connectivity", "warn", "", findings=[
        {"code": "net.weak_signal", "severity": "warn", "message": "weak", "target": "wifi",
         "data": {"rssi_dbm": -78.0}}], evidence=[{"what": "internet", "ok": True}]),
        _check("device", "warn", "", findings=[
            {"code": "device.low_battery", "severity": "warn", "message": "low", "target": "",
             "data": {"percent": 12.0}}])]
    causes, _ = diagnose(checks, lang="zh", settings=None)  # type: ignore[arg-type]
    text = " ".join(c["explanation"] for c in causes)
    assert "Wi-Fi 信号弱（-78 dBm）" in text and "电量低（12%）" in text, text
    assert ".0" not in text


def test_zh_catalog_when_rendered_for_a_cause_spaces_latin_names_from_chinese() -> None:
    assert catalog.fill("{provider}的服务器证书配置有误", {"provider": "Stripe"}, "zh") == "Stripe 的服务器证书配置有误"
    assert catalog.fill("{provider}的服务器证书配置有误", {"provider": "支付宝"}, "zh") == "支付宝的服务器证书配置有误"
    assert catalog.fill("有{count}次", {"count": 3}, "zh") == "有 3 次"
    assert catalog.fill("{a} and {b}", {"a": "x", "b": "y"}, "en") == "x and y"
