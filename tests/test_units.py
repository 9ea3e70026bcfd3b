"""Values in units people read (reports/units.py), as the HTML report shows them."""

from __future__ import annotations

import pytest
from payprobe.reports import units
from payprobe.reports.render import render


@pytest.mark.parametrize(("name", "value", "text"), [
    ("download_bits_per_second", 4.33e8, "433 Mbit/s"),
    ("upload_bits_per_second", 950.0, "950 bit/s"),
    ("wifi_frequency_hertz", 5.745e9, "5.745 GHz"),
    ("tcp_connect_seconds", 0.008095, "8.1 ms"),
    ("http_ttfb_seconds", 1.5, "1.5 s"),
    ("clock_offset_seconds", -0.0004, "-0.4 ms"),
    ("loss_ratio", 0.2, "20 %"),
    ("battery_percent", 12.0, "12 %"),
    ("wifi_rssi_dbm", -78.0, "-78 dBm"),
    ("memory_available_bytes", 2.5e9, "2.5 GB"),
    ("http_status", 200, "200"),
    ("load_per_cpu", 0.1234567, "0.1235"),
    ("tcp_connect_seconds", 0.0, "0 ms"),
])
def test_human_when_given_a_metric_writes_plain_units(name, value, text):
    assert units.human(name, value) == text


def test_human_when_values_are_huge_or_tiny_never_uses_scientific_notation():
    for value in (1e-9, 3.3e-7, 1e15, 7.1e21):
        for name in ("x_seconds", "x_bits_per_second", "x_bytes", "plain"):
            assert "e" not in units.human(name, value).split()[0].lower()


def test_html_metrics_when_rendered_use_human_units_and_break_names_only_at_underscores():
    report = {"schema_version": 1, "status": "healthy", "checks": [{
        "name": "bandwidth", "status": "ok", "duration_s": 1.0, "findings": [], "evidence": [],
        "metrics": [{"name": "download_bits_per_second", "value": 4.33e8, "unit": "bit/s", "labels": {}},
                    {"name": "wifi_frequency_hertz", "value": 5.745e9, "unit": "Hz", "labels": {}}]}],
        "causes": []}
    page = render(report, "html", lang="zh")
    assert "433 Mbit/s" in page and "5.745 GHz" in page
    assert "e+08" not in page and "e+09" not in page
    assert "download_<wbr>bits_<wbr>per_<wbr>second" in page
