"""Lab scenarios for responsiveness under load (issue 16, item 3): the bandwidth
check against a Speedtest Mini server behind a 2 Mbit/s bottleneck with a deep
and a shallow queue, while it probes the lab's payment endpoints.

The lab's services all live on ``lo``, so the bottleneck is there, for the load
and the probes in both directions, as a phone's radio link is. It is a tbf on
lo's *ingress* (redirected through an ifb device), not on its egress as
``lab.rate_limit()`` puts it: on egress the senders' own qdisc is the queue, and
Linux's TCP Small Queues lets each flow keep only about a millisecond of data
there, so no queue ever builds (a 1000 ms tbf measured +190 ms). Past loopback's
transmit the packets no longer count against their sockets, as in a router
upstream, and the queue fills to what tbf allows. tbf's ``latency`` is the
queue's depth. lo's MTU is 1500, as on a real link: at 65536 every packet would
be one 64 KiB segment that alone waits 260 ms at 2 Mbit/s.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.lab.results import codes, evidence, finding, metric

RATE = "2mbit"
IFB = "ifb-bloat"
# The bandwidth check's own budget: idle probes (about 1.5 s), then the download
# and the upload, each a few seconds long, so the queue has time to fill.
BANDWIDTH_BUDGET_S = 14.0


def _bottleneck(lab: Any, queue_ms: int) -> None:
    """tbf at RATE on everything lo delivers; its queue holds ``queue_ms`` of traffic."""
    for argv in (["ip", "link", "set", "lo", "mtu", "1500"],
                 ["ip", "link", "add", IFB, "type", "ifb"],
                 ["ip", "link", "set", IFB, "up"],
                 ["tc", "qdisc", "add", "dev", "lo", "handle", "ffff:", "ingress"],
                 ["tc", "filter", "add", "dev", "lo", "parent", "ffff:", "protocol", "all", "u32",
                  "match", "u32", "0", "0", "action", "mirred", "egress", "redirect", "dev", IFB],
                 ["tc", "qdisc", "add", "dev", IFB, "root", "tbf", "rate", RATE, "burst", "32kbit",
                  "latency", f"{queue_ms}ms"]):
        lab.exec(argv, raw=True, check=True)


def _run(lab: Any, queue_ms: int) -> dict[str, Any]:
    url = lab.speedtest_mini()
    _bottleneck(lab, queue_ms)
    cfg = lab.write_config(deadline_s=4.0, bandwidth={"mini_server": url, "timeout_s": BANDWIDTH_BUDGET_S,
                                                      "low_download_bps": 0.0, "low_upload_bps": 0.0})
    result = lab.payprobe("run", "--only", "bandwidth", "--bandwidth", config=cfg, timeout=90)
    check = result.check("bandwidth")
    (resp,) = evidence(check, "responsiveness")
    phases = {p["phase"]: p for p in resp["phases"]}
    print(f"\ntbf {RATE} latency {queue_ms}ms: " + "; ".join(
        f"{name} rtt {p['rtt_ms']} ms (tcp {p['tcp_ms']}, tls {p['tls_ms']}) {p['rpm']} RPM "
        f"[{p['answered']}/{p['probes']} answered, {p['timeouts']} timeouts]"
        for name, p in phases.items()) + f"; grade {resp.get('grade')}; {check['summary']}")
    return check


@pytest.mark.lab
def test_bufferbloat_when_the_queue_holds_a_second_reports_net_bufferbloat(lab):
    check = _run(lab, 1000)
    bloat = finding(check, "net.bufferbloat")
    assert bloat["severity"] == "warn"
    data = bloat["data"]
    assert data["increase_ms"] >= data["threshold_ms"] == 200.0
    assert data["loaded_rtt_ms"] - data["idle_rtt_ms"] == pytest.approx(data["increase_ms"], abs=0.2)
    assert data["grade"] in ("D", "F") and data["responsiveness"] == "poor"
    assert data["rpm"] == round(60_000 / data["loaded_rtt_ms"])
    assert "dslreports.com/faq/17930" in data["source"]
    assert metric(check, "responsiveness_rpm", phase="idle") > metric(check, "responsiveness_rpm",
                                                                    phase=data["phase"])
    assert metric(check, "latency_increase_seconds", phase=data["phase"]) >= 0.2
    assert check["status"] == "warn"


@pytest.mark.lab
def test_bufferbloat_when_the_queue_holds_20_ms_reports_no_finding(lab):
    check = _run(lab, 20)
    assert "net.bufferbloat" not in codes(check)
    increase_s = max(metric(check, "latency_increase_seconds", phase=p) for p in ("download", "upload"))
    assert increase_s < 0.2
    assert metric(check, "responsiveness_rpm", phase="download") > 0
    assert check["status"] == "ok", check["summary"]
