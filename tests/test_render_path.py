"""The path check in the renderers (issue 16, item 5): a compact table per traced route in
text, Markdown and HTML with the hop where loss starts marked and its segment named, a
small SVG in the HTML, hostile addresses shown inert, and Prometheus per-hop series whose
labels stay bounded."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from payprobe.reports.phrase import Voice
from payprobe.reports.render import path_view, render
from payprobe.reports.render.prometheus import MAX_HOPS

from tests.test_render import _check, _finding, _metric, sample_report, strict_parse

HOSTILE_ADDRESS = "<script>alert(1)</script>|x"
SVG_NS = "{http://www.w3.org/2000/svg}"


def _hop(n: int, address: str | None, sent: int, answered: int, note: str = "", rtt_ms: float | None = 5.0,
         destination: bool = False) -> dict[str, Any]:
    hop: dict[str, Any] = {"hop": n, "address": address, "address_kind": "public", "destination": destination,
                           "sent": sent, "answered": answered, "pattern": "1" * answered + "0" * (sent - answered),
                           "loss_pct": round(100.0 * (sent - answered) / sent, 1), "responders": [], "note": note}
    if answered and rtt_ms is not None:
        hop["rtt_ms"] = {"min": rtt_ms * 0.8, "p50": rtt_ms, "max": rtt_ms * 1.5}
    return hop


def path_check() -> dict[str, Any]:
    """Alipay over IPv4: a silent hop 2, a rate-limited hop 3, loss from hop 4 (the ISP) to the
    server; WeChat Pay over IPv6: the trace stops at hop 2."""
    v4 = [_hop(1, "192.168.1.1", 10, 10, rtt_ms=1.2), _hop(2, None, 10, 0),
          _hop(3, "203.0.113.9", 10, 5, "rate_limited"),
          _hop(4, HOSTILE_ADDRESS, 10, 6, "persistent_loss", 9.8),
          _hop(5, "198.51.100.7", 20, 12, "persistent_loss", 12.0, destination=True)]
    v6 = [_hop(1, "fe80::1", 10, 10, rtt_ms=0.9), _hop(2, "2001:db8::2", 10, 10, rtt_ms=7.5)]
    evidence = [
        {"what": "path", "endpoints": ["Alipay OpenAPI"], "ip_family": "ipv4", "reached": True,
         "destination_hop": 5, "hops": v4,
         "loss_onset": {"hop": 4, "address": HOSTILE_ADDRESS, "segment": "isp", "loss_pct": 40.0}},
        {"what": "path", "endpoints": ["WeChat Pay API"], "ip_family": "ipv6", "reached": False,
         "destination_hop": None, "hops": v6, "loss_onset": None},
        {"what": "path_timing", "targets": 2},
    ]
    finding = _finding("path.loss_at_hop", "warn", "packets to Alipay OpenAPI start to be lost at hop 4",
                       "Alipay OpenAPI", hop=4, address=HOSTILE_ADDRESS, address_kind="public", loss_pct=40.0,
                       path_loss_pct=40.0, segment="isp", endpoint="Alipay OpenAPI", ip_family="ipv4")
    metrics = [_metric("path_hops", 5, "", endpoint="Alipay OpenAPI", ip_family="ipv4")]
    for hop in v4:
        labels = {"endpoint": "Alipay OpenAPI", "ip_family": "ipv4", "hop": str(hop["hop"])}
        metrics.append(_metric("path_hop_loss_ratio", hop["loss_pct"] / 100, "ratio", **labels))
        if "rtt_ms" in hop:
            metrics.append(_metric("path_hop_rtt_seconds", hop["rtt_ms"]["p50"] / 1000, **labels))
    return _check("path", "warn", "traced 2 path(s)", metrics=metrics, findings=[finding], evidence=evidence)


def path_report(lang: str = "en") -> dict[str, Any]:
    report = sample_report(lang)
    report["checks"].append(path_check())
    return report


def _row(text: str, hop: int) -> str:
    """The text table's line for ``hop`` (its number is the first field after the marker)."""
    return next(line for line in text.splitlines() if re.match(rf"^\s+>?\s+{hop}\s", line))


# ------------------------------------------------------------------ text


def test_text_when_path_traced_shows_a_row_per_hop_and_marks_the_onset() -> None:
    out = render(path_report(), "text")
    assert "Path to the payment servers" in out
    assert "Alipay OpenAPI (IPv4): reached the server at hop 5 · loss starts at hop 4: your internet provider" in out
    onset = _row(out, 4)
    assert onset.lstrip().startswith(">") and "40%" in onset and "9.8 ms" in onset
    assert "loss starts here (your internet provider)" in onset
    assert "router slow to answer, not loss" in _row(out, 3) and not _row(out, 3).lstrip().startswith(">")
    assert "*" in _row(out, 2) and "no reply" in _row(out, 2)
    assert "WeChat Pay API (IPv6): did not reach the server" in out


def test_text_when_address_holds_escapes_shows_them_inert() -> None:
    report = path_report()
    report["checks"][-1]["evidence"][0]["hops"][0]["address"] = "\x1b]0;pwned\x07"
    out = render(report, "text")
    assert "\x1b" not in out and "\\x1b]0;pwned\\x07" in out


def test_text_with_colour_when_path_traced_emits_only_sgr_sequences() -> None:
    out = render(path_report(), "text", colour=True)
    assert "\x1b[1mPath to the payment servers\x1b[0m" in out
    assert re.findall(r"\x1b[^\[]", out) == []


def test_text_when_report_has_no_path_check_has_no_path_section() -> None:
    assert "Path to the payment servers" not in render(sample_report(), "text")


def test_text_in_chinese_when_path_traced_has_chinese_headings() -> None:
    out = render(path_report("zh"), "text", lang="zh")
    assert "到支付服务器的网络路径" in out
    assert re.search(r"跳\s+地址\s+丢包\s+延迟\s+说明", out)
    assert "从这里开始丢包（您的网络运营商）" in _row(out, 4)
    assert "支付宝开放平台（IPv4）：在第 5 跳到达服务器 · 从第 4 跳开始丢包：您的网络运营商" in out


# ------------------------------------------------------------------ markdown


def test_markdown_when_path_traced_has_a_table_with_the_onset_in_bold() -> None:
    out = render(path_report(), "markdown")
    assert "## Path to the payment servers" in out
    assert "### Alipay OpenAPI (IPv4)" in out
    assert "| Hop | Address | Loss | RTT | Note |" in out
    assert "| 1 | 192.168.1.1 | 0% | 1.2 ms |  |" in out
    onset = next(line for line in out.splitlines() if line.startswith("| **4**"))
    assert "**40%**" in onset and "**loss starts here (your internet provider)**" in onset


def test_markdown_when_address_is_hostile_escapes_the_pipe_and_the_markup() -> None:
    out = render(path_report(), "markdown")
    onset = next(line for line in out.splitlines() if line.startswith("| **4**"))
    assert "<script>" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\\|x" in onset
    # The escaped pipe keeps the row at five cells.
    assert len(re.split(r"(?<!\\)\|", onset)) == 7


# ------------------------------------------------------------------ html


def _svgs(out: str) -> list[ET.Element]:
    blocks = re.findall(r"<svg .*?</svg>", out, flags=re.S)
    return [ET.fromstring(b) for b in blocks]


def test_html_when_path_traced_has_a_card_with_table_and_well_formed_svg_per_route() -> None:
    out = render(path_report(), "html")
    assert "<h2>Path to the payment servers</h2>" in out
    path_svgs = [s for s in _svgs(out) if s.find(f"{SVG_NS}circle") is not None]
    assert len(path_svgs) == 2
    alipay = path_svgs[0]
    assert alipay.get("width") == "100%" and alipay.get("viewBox") == "0 0 320 60"
    assert alipay.find(f".//{SVG_NS}script") is None
    tips = [t.text or "" for t in alipay.iter(f"{SVG_NS}title")]
    assert any(HOSTILE_ADDRESS in tip for tip in tips)   # escaped in the markup, whole when parsed
    rings = [c for c in alipay.iter(f"{SVG_NS}circle") if c.get("fill") == "none"]
    assert len(rings) == 1    # one ring: the onset
    texts = [t.text for t in alipay.iter(f"{SVG_NS}text")]
    assert "loss starts here" in texts
    assert "did not reach the server" in out


def test_html_when_path_traced_marks_the_onset_row() -> None:
    out = render(path_report(), "html")
    onset = re.search(r'<tr style="background:#fce8e6[^"]*">(.*?)</tr>', out)
    assert onset is not None and re.match(r"<td[^>]*>4</td>", onset.group(1))
    assert "loss starts here (your internet provider)" in onset.group(1)


def test_html_when_address_is_hostile_escapes_it_everywhere() -> None:
    out = render(path_report(), "html")
    assert "<script" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;|x" in out


def test_html_svg_when_dots_are_coloured_follows_the_loss_judgement() -> None:
    table = path_view.path_tables([path_check()], Voice())[0]
    fills = {row.hop: path_view._dot_colour(row) for row in table.rows}
    assert fills[1] == path_view._GREEN
    assert fills[2] == fills[3] == path_view._GREY        # silent, rate-limited: not loss
    assert fills[4] == fills[5] == path_view._RED


def test_html_in_chinese_when_path_traced_has_chinese_headings() -> None:
    out = render(path_report("zh"), "html", lang="zh")
    assert "<h2>到支付服务器的网络路径</h2>" in out
    for heading in ("跳", "地址", "丢包", "延迟"):
        assert re.search(rf"<th[^>]*>{heading}</th>", out), heading


def test_html_when_report_has_no_path_check_has_no_path_svg() -> None:
    out = render(sample_report(), "html")
    assert "Path to the payment servers" not in out and out.count("<svg") == 3


def test_path_tables_when_evidence_is_malformed_skip_what_they_cannot_read() -> None:
    check = _check("path", "ok", evidence=[
        {"what": "path", "endpoints": ["x"], "ip_family": "ipv4", "reached": True, "hops": [
            {"hop": "one"}, "junk", {"hop": 1, "loss_pct": float("nan"), "rtt_ms": "fast"}]},
        {"what": "path", "hops": None}],
        findings=[{"code": "path.loss_at_hop", "severity": "warn", "message": "", "target": "x", "data": None}])
    tables = path_view.path_tables([check], Voice())
    assert len(tables) == 1 and [r.hop for r in tables[0].rows] == [1]
    assert tables[0].rows[0].loss == "" and tables[0].rows[0].rtt == ""


# ------------------------------------------------------------------ prometheus


def test_prometheus_when_path_traced_exports_per_hop_loss_and_rtt() -> None:
    families = strict_parse(render(path_report(), "prometheus"))
    loss = families["payprobe_path_hop_loss_ratio"]
    assert ('payprobe_path_hop_loss_ratio{check="path",endpoint="Alipay OpenAPI",hop="4",ip_family="ipv4"} 0.4'
            in loss)
    assert len(loss) == 5 and len(families["payprobe_path_hop_rtt_seconds"]) == 4


@pytest.mark.parametrize("extra,kept", [
    ({"address": HOSTILE_ADDRESS}, True),          # an unbounded label is dropped, the sample kept
    ({"hop": str(MAX_HOPS + 1)}, False),
    ({"hop": "0"}, False),
    ({"hop": "²"}, False),
    ({"ip_family": "ipx"}, False),
])
def test_prometheus_when_path_labels_are_unbounded_drops_them(extra: dict[str, str], kept: bool) -> None:
    report = path_report()
    labels = {"endpoint": "Alipay OpenAPI", "ip_family": "ipv4", "hop": "7", **extra}
    report["checks"][-1]["metrics"] = [_metric("path_hop_loss_ratio", 0.5, "ratio", **labels)]
    text = render(report, "prometheus")
    samples = strict_parse(text).get("payprobe_path_hop_loss_ratio", [])
    assert "address=" not in text and "script" not in text
    assert len(samples) == (1 if kept else 0)
    for sample in samples:
        assert set(re.findall(r'(\w+)="', sample)) <= {"check", "endpoint", "ip_family", "hop"}


def test_prometheus_when_path_traced_passes_promtool_when_available() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian package prometheus)")
    proc = subprocess.run([promtool, "check", "metrics"], input=render(path_report(), "prometheus"),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_prometheus_max_hops_when_read_is_the_config_ceiling() -> None:
    assert MAX_HOPS == 64


def test_html_svg_when_path_has_max_hops_numbers_never_overlap() -> None:
    hops = [_hop(n, f"198.51.100.{n}", 10, 10 if n < 60 else 5, "" if n < 60 else "persistent_loss",
                 destination=n == MAX_HOPS) for n in range(1, MAX_HOPS + 1)]
    check = _check("path", "warn", evidence=[{"what": "path", "endpoints": ["x"], "ip_family": "ipv4",
                                              "reached": True, "hops": hops,
                                              "loss_onset": {"hop": 60, "segment": "provider_edge"}}])
    table = path_view.path_tables([check], Voice())[0]
    drawing = ET.fromstring(path_view.svg(table, str))
    numbers = [t for t in drawing.iter(f"{SVG_NS}text") if (t.text or "").isdigit()]
    xs = sorted(float(t.get("x") or 0) for t in numbers)
    assert {"1", "60"} <= {t.text for t in numbers}
    assert all(b - a >= 20 for a, b in zip(xs, xs[1:], strict=False))
    assert len(list(drawing.iter(f"{SVG_NS}circle"))) == MAX_HOPS + 1   # a dot per hop, a ring at 60
