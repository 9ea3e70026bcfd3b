from __future__ import annotations

from pathlib import Path

import pytest
from payprobe.engine import config
from payprobe.engine.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "payprobe.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_load_when_no_file_is_given():
    s = config.load()
    assert s.deadline_s == 20.0
    hosts = {e.url.split("/")[2] for e in s.endpoints}
    assert {"openapi.alipay.com", "api.mch.weixin.qq.com", "api.wechatpay.cn", "api.douyinpay.com",
            "www.douyin.com", "gateway.95516.com", "api.stripe.com", "api-m.paypal.com"} <= hosts
    assert {e.group for e in s.endpoints if e.provider in ("stripe", "paypal")} == {"intl"}
    assert [r.name for r in s.dns.resolvers] == ["AliDNS", "DNSPod", "AliDNS DoH"]
    assert s.clock.ntp_servers[0] == "ntp.aliyun.com"


def test_user_file_overrides_key_by_key(tmp_path):
    s = config.load(write(tmp_path, "[latency]\nsamples = 9\n"))
    assert s.latency.samples == 9
    assert s.latency.warn_ms == 300        # untouched sibling key keeps its default
    assert s.source.endswith("payprobe.toml")


def test_arrays_replace_the_default_whole(tmp_path):
    s = config.load(write(tmp_path, '[[endpoints]]\nname = "Lab"\nurl = "https://lab.test/"\n'))
    assert [e.name for e in s.endpoints] == ["Lab"]


@pytest.mark.parametrize("text, needle", [
    ("deadline_s = \"soon\"\n", "deadline_s: expected a number, got 'soon'"),
    ("deadline_s = -1\n", "deadline_s: expected a number >= 0.5, got -1"),
    ("[dns]\nslow_ms = true\n", "dns.slow_ms: expected a number, got true"),
    ("[latency]\nsamples = 2.5\n", "latency.samples: expected an integer"),
    ("[dns]\nresolvers = [{ name = \"x\", address = \"1.2.3.4\", protocol = \"quic\" }]\n",
     "dns.resolvers[0].protocol: expected one of udp, tcp, dot, doh"),
    ("[clock]\nntp_server = [\"a\"]\n", 'clock.ntp_server: unknown key (did you mean "ntp_servers"?)'),
    ("dedline_s = 3\n", 'dedline_s: unknown key (did you mean "deadline_s"?)'),
    ("[connectivity]\ncheck_urls = [\"https://x.test/\"]\n", "expected a plain http:// URL"),
    ("[[endpoints]]\nname = \"a\"\nurl = \"ftp://x\"\n", "endpoints[0].url: expected a http:// or https:// URL, got 'ftp://x'"),
    ("[[endpoints]]\nurl = \"https://x.test/\"\n", "endpoints[0].name: missing required key"),
    ("lang = \"fr\"\n", "lang: expected one of auto, en, zh"),
    ("[dns]\nresolvers = [{ name = \"d\", protocol = \"doh\" }]\n", "dns.resolvers[0].url: expected a https:// URL, got ''"),
    ("[clock]\nwarn_s = 100\nfail_s = 10\n", "clock.fail_s: expected a value >= clock.warn_s"),
    ("dns = 3\n", "dns: expected a table, got 3"),
])
def test_bad_values_name_the_file_the_key_and_what_was_expected(tmp_path, text, needle):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        config.load(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert needle in message


def test_malformed_toml_is_one_clear_error(tmp_path):
    path = write(tmp_path, "[dns\nslow_ms = 3\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        config.load(path)


@pytest.mark.parametrize("content", [b"\xff\xfe\x00garbage", b""])
def test_binary_or_empty_files(tmp_path, content):
    path = tmp_path / "c.toml"
    path.write_bytes(content)
    if content:
        with pytest.raises(ConfigError, match="not UTF-8"):
            config.load(path)
    else:
        assert config.load(path).deadline_s == 20.0   # an empty file is a valid, empty config


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ConfigError, match="no such file, expected a TOML config file"):
        config.load(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="is a directory"):
        config.load(tmp_path)


def test_settings_are_frozen():
    s = config.load()
    with pytest.raises(AttributeError):
        s.deadline_s = 1.0  # type: ignore[misc]


def test_plugin_sections_are_free_form(tmp_path):
    s = config.load(write(tmp_path, "[plugins.hello]\ngreeting = \"hi\"\n"))
    assert s.section("hello")["greeting"] == "hi"
    assert s.section("endpoints") is s.latency
