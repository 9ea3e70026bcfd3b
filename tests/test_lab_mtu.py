"""Lab: a path MTU black hole (issue 16 item 2), told from a stalled server.

The path drops every packet over 600 bytes coming back from the TLS servers
(an iptables length match where they arrive), as a PPPoE link or a tunnel
does when the ICMP "fragmentation needed" that would say so is filtered. TCP
connects and the ClientHello gets through; the server's certificate flight
never does. Before issue 15/16 payprobe waited 14.7 s here and blamed every
payment endpoint. Now the tls check retries beside the stalled handshake with
a small MSS (536 bytes, TCP_MAXSEG), which goes through: ``net.mtu_blackhole``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.lab.lab import IPTABLES, PAYMENT_HOSTS
from tests.lab.results import evidence, findings

# Every TLS server of the lab (payment hosts and the clock's Date URL) is in 127.44.0.0/16.
TLS_RANGE = "127.44.0.0/16"
LIMIT_BYTES = 600


def drop_large_packets_from(lab: Any, source: str) -> None:
    """Packets over LIMIT_BYTES from ``source``'s port 443 are dropped on arrival."""
    lab.exec([IPTABLES, "-w", "-I", "INPUT", "-p", "tcp", "-s", source, "--sport", "443",
              "-m", "length", "--length", f"{LIMIT_BYTES + 1}:65535", "-j", "DROP"], check=True)


def run_tls_and_endpoints(lab: Any) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    result = lab.payprobe("run", "--only", "tls,endpoints",
                          config=lab.write_config(latency={"icmp": False}))
    return result, result.check("tls"), result.check("endpoints")


@pytest.mark.lab
def test_mtu_when_path_drops_large_packets_reports_mtu_blackhole_with_the_size_that_worked(lab):
    drop_large_packets_from(lab, TLS_RANGE)
    result, tls, endpoints = run_tls_and_endpoints(lab)
    print(f"\nMTU black hole: run took {result.report['duration_s']:.2f} s (14.7 s before issue 15)")
    (f,) = findings(tls, "net.mtu_blackhole")
    assert f["severity"] == "warn"
    assert sorted(f["data"]["targets"]) == sorted(PAYMENT_HOSTS)
    assert set(f["data"]["mss"].values()) == {536}
    # The path's fault, not each host's: no failed handshake is blamed on a host.
    assert findings(tls, "tls.handshake_failed") == []
    for item in evidence(tls, "tls"):
        assert item["stalled"] is True and item["small_mss"]["mss"] == 536
        assert item["chain"], item["target"]   # what each server presented, over the small MSS
    # Apps (full-size segments) still cannot reach any endpoint: that stays true.
    unreachable = findings(endpoints, "endpoint.unreachable")
    assert len(unreachable) == len(evidence(endpoints, "endpoint"))
    for item in evidence(endpoints, "endpoint_samples"):
        assert [(s["phase"], s.get("stalled")) for s in item["samples"]] == [("tls", True)]
        assert item["sampling"]["verdict"] == "stalled"


@pytest.mark.lab
def test_mtu_when_one_host_is_behind_the_black_hole_names_only_it(lab):
    host = "api.stripe.com"
    drop_large_packets_from(lab, lab.host_address(host))
    _, tls, endpoints = run_tls_and_endpoints(lab)
    (f,) = findings(tls, "net.mtu_blackhole")
    assert f["data"]["targets"] == [host]
    assert [x["target"] for x in tls["findings"]] == [""]
    assert [x["target"] for x in endpoints["findings"]] == ["Stripe API"]


@pytest.mark.lab
def test_mtu_when_server_accepts_and_never_answers_is_a_stall_not_an_mtu_black_hole(lab):
    silent = lab.http_server("silent", port=443)
    lab.add_host("api.stripe.com", silent)
    _, tls, _ = run_tls_and_endpoints(lab)
    assert findings(tls, "net.mtu_blackhole") == []
    (f,) = findings(tls, "tls.handshake_failed")
    assert f["target"] == "api.stripe.com" and f["data"]["failure"] == "generic_timeout"
    (item,) = [e for e in evidence(tls, "tls") if e["target"] == "api.stripe.com"]
    assert item["stalled"] is True and "small_mss" not in item
