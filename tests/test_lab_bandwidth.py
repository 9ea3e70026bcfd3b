"""Lab scenarios for the bandwidth check (issue 5): a Speedtest Mini server
behind a tbf rate limit, run with ``--bandwidth`` and [bandwidth].mini_server."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from tests.lab.results import codes, finding, metric

# The accuracy target for the download figure against the tbf rate.
RATE_TOLERANCE = 0.15
# The bandwidth check runs alone after the others with its own budget; a few
# seconds keep the test short and are enough for a steady rate on loopback.
BANDWIDTH_BUDGET_S = 6.0


def _bandwidth(lab: Any, url: str, **bandwidth: Any) -> tuple[Any, dict[str, Any]]:
    cfg = lab.write_config(deadline_s=4.0, bandwidth={"mini_server": url, "timeout_s": BANDWIDTH_BUDGET_S,
                                                      **bandwidth})
    result = lab.payprobe("run", "--only", "bandwidth", "--bandwidth", config=cfg)
    return result, result.check("bandwidth")


@pytest.mark.lab
def test_bandwidth_when_tbf_limits_to_1_5_mbit_reports_low_with_download_near_the_rate(lab):
    rate_bps = 1_500_000.0
    url = lab.speedtest_mini()
    lab.rate_limit(rate_bps)
    result, check = _bandwidth(lab, url)
    download = metric(check, "download_bits_per_second")
    print(f"\ntbf {rate_bps / 1e6:.1f} Mbit/s: download {download / 1e6:.3f} Mbit/s "
          f"({download / rate_bps:.3f} of the rate); {check['summary']}")
    # It ended by itself (not stopped by the runner) within its budget.
    assert check["status"] == "warn", check["summary"]
    assert check["duration_s"] < BANDWIDTH_BUDGET_S
    assert abs(download / rate_bps - 1.0) <= RATE_TOLERANCE
    low = finding(check, "bandwidth.low")
    assert low["severity"] == "warn" and low["target"] == url
    assert low["data"]["download_bps"] == download
    assert "download 1." in low["message"] and "below 2.0 Mbit/s" in low["message"]
    assert metric(check, "bandwidth_bytes_total") <= 25_000_000
    assert result.returncode == 1


@pytest.mark.lab
def test_bandwidth_when_tbf_allows_16_mbit_reports_no_finding_and_agrees_with_speedtest_cli(lab):
    rate_bps = 16_000_000.0
    url = lab.speedtest_mini()
    lab.rate_limit(rate_bps)
    result, check = _bandwidth(lab, url)
    download = metric(check, "download_bits_per_second")
    upload = metric(check, "upload_bits_per_second")
    cli = lab.exec([sys.executable, "-m", "speedtest", "--mini", url, "--json", "--no-upload"], timeout=60)
    cli_download = float(json.loads(cli.stdout)["download"])
    print(f"\ntbf {rate_bps / 1e6:.0f} Mbit/s: download {download / 1e6:.2f} Mbit/s "
          f"({download / rate_bps:.3f}), upload {upload / 1e6:.2f} Mbit/s ({upload / rate_bps:.3f}); "
          f"speedtest-cli --mini: {cli_download / 1e6:.2f} Mbit/s ({cli_download / rate_bps:.3f})")
    assert abs(download / rate_bps - 1.0) <= RATE_TOLERANCE
    assert abs(download / cli_download - 1.0) <= RATE_TOLERANCE
    assert codes(check) == []
    assert check["status"] == "ok" and result.returncode == 0


@pytest.mark.lab
def test_bandwidth_when_not_asked_for_does_not_run(lab):
    url = lab.speedtest_mini()
    cfg = lab.write_config(deadline_s=4.0, bandwidth={"mini_server": url})
    # A default selection (minus the slow checks) without --bandwidth: no data spent.
    result = lab.payprobe("run", "--skip", "connectivity,dns,tls,clock,endpoints,device", config=cfg)
    assert [c["name"] for c in result.report["checks"]] == ["proxy"]
