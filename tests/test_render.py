"""Renderers: golden files from a fixed synthetic report, escaping of hostile
values in every format, and a strict check of the Prometheus exposition.

UPDATE_GOLDEN=1 python3 -m pytest tests/test_render.py  regenerates tests/golden/.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from payprobe.reports.diagnosis import diagnose
from payprobe.reports.render import render

GOLDEN = Path(__file__).parent / "golden"
HOSTILE_TTY = "\x1b]0;pwned\x07\x1b[31mRED\x1b[0m"
HOSTILE_HTML = "<script>alert(1)</script><img src=x onerror=alert(2)>"
HOSTILE_MD = "[click me](http://evil.example/) ![img](http://evil.example/x.png) | ## heading"


def _check(name: str, status: str, summary: str = "", metrics: list[dict[str, Any]] | None = None,
           findings: list[dict[str, Any]] | None = None, evidence: list[dict[str, Any]] | None = None,
           duration_s: float = 0.25, error: str | None = None) -> dict[str, Any]:
    return {"name": name, "version": "1", "status": status, "duration_s": duration_s, "summary": summary,
            "metrics": metrics or [], "findings": findings or [], "evidence": evidence or [], "error": error}


def _finding(code: str, severity: str, message: str, target: str = "", **data: Any) -> dict[str, Any]:
    return {"code": code, "severity": severity, "message": message, "target": target, "data": data}


def _metric(metric_name: str, value: float, unit: str = "s", **labels: str) -> dict[str, Any]:
    return {"name": metric_name, "value": value, "unit": unit, "labels": labels}


def _latency(endpoint: str, base_s: float) -> list[dict[str, Any]]:
    out = []
    for i, phase in enumerate(("tcp_connect_seconds", "tls_handshake_seconds", "http_ttfb_seconds")):
        scale = base_s * (i + 1)
        for stat, factor in (("min", 0.8), ("p50", 1.0), ("p95", 1.4), ("max", 1.6)):
            out.append(_metric(phase, round(scale * factor, 4), endpoint=endpoint, stat=stat))
    out.append(_metric("loss_ratio", 0.0, "ratio", endpoint=endpoint))
    out.append(_metric("jitter_seconds", round(base_s / 10, 4), endpoint=endpoint))
    return out


def sample_checks() -> list[dict[str, Any]]:
    """A run where the clock is 2 h behind so certificates look not yet valid,
    with hostile strings where the network could have put them."""
    ep = [("Alipay OpenAPI", "alipay", 0.031), ("WeChat Pay API", "wechatpay", 0.045),
          ("UnionPay Gateway", "unionpay", 0.052)]
    endpoint_metrics = [m for name, _, base in ep for m in _latency(name, base)]
    evidence = [{"what": "endpoint", "endpoint": name, "provider": prov, "group": "cn", "ok": name != "UnionPay Gateway",
                 "failure": None if name != "UnionPay Gateway" else "tls_cert_not_yet_valid",
                 "http_status": 200 if name != "UnionPay Gateway" else None} for name, prov, _ in ep]
    return [
        _check("connectivity", "ok", "2 of 2 check URLs answered 204",
               evidence=[{"what": "internet", "ok": True}], duration_s=0.12),
        _check("dns", "ok", "all names resolve; resolvers agree",
               metrics=[_metric("dns_query_seconds", 0.012, resolver="AliDNS", name="openapi.alipay.com"),
                        _metric("dns_query_seconds", 0.019, resolver="system", name="openapi.alipay.com")]),
        _check("tls", "fail", "1 of 3 certificates not yet valid " + HOSTILE_TTY,
               metrics=[_metric("tls_handshake_seconds", 0.08, target="gateway.95516.com"),
                        _metric("tls_cert_days_left", 120.0, "d", target="openapi.alipay.com")],
               findings=[_finding("tls.not_yet_valid", "fail",
                                  "certificate not valid before 2026-11-26T03:00:00Z " + HOSTILE_HTML,
                                  "gateway.95516.com", failure="tls_cert_not_yet_valid",
                                  issuer="CN=Evil " + HOSTILE_MD, not_before="2026-11-26T03:00:00Z")]),
        _check("clock", "fail", "device clock is 2.0 h behind",
               metrics=[_metric("clock_offset_seconds", 7200.0, source="best"),
                        _metric("clock_offset_seconds", 7200.2, source="ntp.aliyun.com")],
               findings=[_finding("clock.skew", "fail", "clock differs by 7200 s from ntp.aliyun.com",
                                  "ntp.aliyun.com", offset_s=7200.0, source="ntp.aliyun.com")]),
        _check("proxy", "ok", "no proxy or VPN"),
        _check("endpoints", "fail", "2 of 3 endpoints answer", metrics=endpoint_metrics,
               findings=[_finding("endpoint.unreachable", "fail", "TLS: certificate not yet valid",
                                  "UnionPay Gateway", provider="unionpay", group="cn",
                                  failure="tls_cert_not_yet_valid", http_status=None)],
               evidence=evidence, duration_s=1.5),
        _check("bandwidth", "skipped", "opt-in: run with --bandwidth", duration_s=0.0),
        _check("device", "ok", "memory, storage and battery are fine", duration_s=0.05),
    ]


def sample_report(lang: str = "en") -> dict[str, Any]:
    from payprobe.reports.model import overall_status
    checks = sample_checks()
    causes, summary = diagnose(checks, lang=lang, settings=None)
    return {
        "schema_version": 1, "tool": {"name": "payprobe", "version": "0.1.0"},
        "run_id": "3f9a2c1d-0000-4000-8000-000000000001", "started_at": "2026-11-26T01:02:03.123Z",
        "duration_s": 3.21, "trigger": "test", "partial": False, "redacted": True,
        "host": {"platform": "linux", "termux": False, "os": "Linux-6.1", "python": "3.11.2"},
        "status": overall_status(checks, causes), "causes": causes, "checks": checks,
        "lang": lang, "summary": summary,
    }


FORMATS = {"text": "txt", "markdown": "md", "html": "html", "prometheus": "prom"}


@pytest.mark.parametrize("fmt,lang", [(f, "en") for f in FORMATS] + [("text", "zh"), ("html", "zh")])
def test_render_sample_report_matches_golden_file(fmt: str, lang: str) -> None:
    out = render(sample_report(lang), fmt, lang=lang, colour=False)
    path = GOLDEN / f"report.{lang}.{FORMATS[fmt]}"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(out, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; run with UPDATE_GOLDEN=1"
    assert out == path.read_text(encoding="utf-8")


def test_sample_report_validates_against_the_schema() -> None:
    from payprobe.reports.model import validate
    assert validate(sample_report()) == []


def test_text_without_colour_has_no_escape_sequences() -> None:
    out = render(sample_report(), "text", colour=False)
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b]0;pwned\\x07" in out  # shown inert, not dropped


def test_text_with_colour_only_emits_sgr_sequences() -> None:
    out = render(sample_report(), "text", colour=True)
    # Our own colour codes are SGR (ESC [ n m); the hostile OSC (ESC ]) never passes.
    assert re.findall(r"\x1b[^\[]", out) == []
    assert "\x1b[31m" in out
    assert "\x07" not in out


def test_text_puts_verdict_before_causes_and_checks() -> None:
    out = render(sample_report(), "text")
    verdict = out.index("Most likely cause: The phone's clock is wrong.")
    assert verdict < out.index("Causes") < out.index("Turn on automatic date and time") < out.index("Checks")


def test_markdown_escapes_links_images_and_html() -> None:
    out = render(sample_report(), "markdown")
    assert "<script>" not in out and "<img" not in out
    assert "](http" not in out and "![" not in out
    assert "&lt;script&gt;" in out
    # No value can open a new heading: every '#' from the report is escaped.
    assert "| ## heading" not in out


def test_html_escapes_everything_and_has_no_external_assets() -> None:
    out = render(sample_report(), "html")
    assert "<script" not in out and "<img" not in out and "onerror=alert" not in out.replace(
        "onerror=alert(2)&gt;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", out)
    assert "default-src 'none'" in out
    assert out.count("<svg") == 3  # one latency chart per endpoint
    assert out.count("<details") == len(sample_checks())


def test_html_chart_skips_nan_and_negative_values() -> None:
    report = sample_report()
    endpoints = next(c for c in report["checks"] if c["name"] == "endpoints")
    endpoints["metrics"] = [_metric("tcp_connect_seconds", float("nan"), endpoint="X", stat="p50"),
                            _metric("tcp_connect_seconds", -1.0, endpoint="Y", stat="p50")]
    out = render(report, "html")
    assert "<svg" not in out and "nan ms" not in out.lower()


# ------------------------------------------------------------------ prometheus


_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
_SAMPLE = re.compile(rf"^({_NAME})(\{{(?:{_LABEL})(?:,{_LABEL})*\}})? (NaN|[+-]Inf|-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)$")


def strict_parse(text: str) -> dict[str, list[str]]:
    """A strict reader of the text format: HELP/TYPE once per family, before its
    samples; samples of a family contiguous; no duplicate series; valid escapes."""
    assert text.endswith("\n")
    families: dict[str, list[str]] = {}
    typed: set[str] = set()
    current = None
    seen: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            assert name not in families, f"family {name} split or repeated"
            families[name] = []
            current = name
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name == current and kind in ("gauge", "counter", "untyped") and name not in typed
            typed.add(name)
        else:
            m = _SAMPLE.match(line)
            assert m, f"bad sample line: {line!r}"
            assert m.group(1) == current, f"sample {m.group(1)} outside its family"
            assert line.rsplit(" ", 1)[0] not in seen, f"duplicate series {line}"
            seen.add(line.rsplit(" ", 1)[0])
            families[current].append(line)
    return families


def test_prometheus_output_passes_the_strict_parser() -> None:
    report = sample_report()
    report["checks"][1]["metrics"].append(_metric("dns_query_seconds", 0.5, resolver='we"ird\\\nname',
                                                  name="x"))
    families = strict_parse(render(report, "prometheus"))
    assert 'payprobe_check_status{check="clock",status="fail"} 1' in families["payprobe_check_status"]
    assert 'payprobe_check_status{check="clock",status="ok"} 0' in families["payprobe_check_status"]
    assert any('resolver="we\\"ird\\\\\\nname"' in s for s in families["payprobe_dns_query_seconds"])
    assert "payprobe_check_duration_seconds" in families
    assert any(s.startswith("payprobe_tcp_connect_seconds{check=\"endpoints\",endpoint=\"Alipay OpenAPI\"")
               for s in families["payprobe_tcp_connect_seconds"])


def test_prometheus_output_passes_promtool_when_available(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian package prometheus)")
    text = render(sample_report(), "prometheus")
    proc = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_markdown_escape_keeps_versions_plain_and_defuses_list_markers():
    from payprobe.reports.render.markdown import esc
    assert esc("0.1.0") == "0.1.0"            # no stray backslash shows in the ticket
    assert esc("1. first") == "1\\. first"    # would start an ordered list
    assert esc("- item") == "\\- item"
    assert esc("a|b*c") == "a\\|b\\*c"
