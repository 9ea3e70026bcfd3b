"""Time to verdict, IPv6 broken (issue 15, item 5), in the dual-stack lab.

The full lab (tests/lab/) is IPv4 only, so this row uses the namespace of
tests/test_lab_dualstack.py: the phone's Wi-Fi with an address and a default
route in each family, dnsmasq answering A and AAAA for two payment names, and one
TLS server listening on both families. IPv6 is broken the common home way:
ip6tables drops every TCP packet to the server's IPv6 address, while IPv4 works
(with the same 40 ms of RTT as the other rows, held by NFQUEUE).

Each tool is asked what a support engineer needs: is the service reachable, and
is IPv6 the problem?

- payprobe: ``run --only endpoints,tls`` (the default run's other checks would
  go to the real internet, which this namespace cannot reach), latency.samples
  = 5 as by default;
- the serial script: per name ``curl -4`` and ``curl -6``, each with
  ``--max-time 5`` (plain curl falls back to IPv4 by Happy Eyeballs and never
  shows the fault);
- blackbox_exporter: per name an ``ip4`` and an ``ip6`` http module without
  fallback, 5 s timeout, in sequence.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from tests.perf import _bench_lab as bl
from tests.perf._bench_common import Bench, http_module, log
from tests.perf._bench_verdict import Runs, note_payprobe

PEER_TIMEOUT_S = 5.0
RTT_MS = 40.0
LABEL = "IPv6 broken (dual-stack lab: IPv6 to the servers dropped, IPv4 works)"


def _script(net: Any, hosts: list[str]) -> Path:
    lines = ["#!/bin/bash", "# IPv4 and IPv6 to each payment name, one after another (bench.py writes this file)."]
    for host in hosts:
        for flag in ("-4", "-6"):
            lines.append(f"curl {flag} -sS -I -o /dev/null --cacert {net.ca_file} --max-time {PEER_TIMEOUT_S:g} "
                         f"-w '%{{http_code}} {flag} %{{time_total}}\\n' https://{host}/")
    path = Path(net.dir) / "serial-ipv6.sh"
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o755)
    return path


def run_ipv6_broken(b: Bench) -> Runs:
    """The IPv6-broken row's runs: payprobe every run, the peers once (their time is their timeouts)."""
    from tests.test_lab_dualstack import HOSTS, SERVER_V4, DualStackNet, unavailable_reason

    runs = Runs(LABEL)
    reason = unavailable_reason()
    if reason:
        b.problem(f"verdict ipv6: {reason}")
        return runs
    log("verdict: IPv6 broken (dual-stack lab)")
    tmp = Path(tempfile.mkdtemp(prefix="payprobe-bench-ipv6-"))
    net = DualStackNet(tmp)
    bb = None
    try:
        net.start()
        net.drop_ipv6()
        hosts = sorted(HOSTS)
        config = net.write_config(samples=5)
        script = _script(net, hosts)
        bb = bl.Blackbox(net, {f"http_{family}": http_module(str(net.ca_file), timeout=f"{PEER_TIMEOUT_S:g}s",
                                                             family=family) for family in ("ip4", "ip6")},
                         port=9119)
        pairs = [(f"https://{h}/", m) for h in hosts for m in ("http_ip4", "http_ip6")]
        with bl.path_delay(net, [SERVER_V4], RTT_MS):
            for i in range(b.plan.verdict_runs):
                m, report = bl.run_payprobe(net, config, "--only", "endpoints,tls", timeout_s=120,
                                            redact=True)
                if not report:
                    b.problem(f"verdict ipv6: payprobe gave no report: {m.stderr[-300:]}")
                elif not _names_ipv6(report):
                    b.problem("verdict ipv6: payprobe did not report net.ipv6_broken")
                note_payprobe(runs, m, report)
                if i == 0:
                    runs.script.append(bl.run_measured(net, ["bash", str(script)], timeout_s=120).wall_s)
                    runs.blackbox.append(bb.probe_many(pairs)[0])
    finally:
        if bb is not None:
            bb.close()
        net.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return runs


def _names_ipv6(report: dict[str, Any]) -> bool:
    return any(f.get("code") == "net.ipv6_broken" for c in report.get("checks", [])
               for f in c.get("findings", []))


NOTE = (f"IPv6 broken: the dual-stack lab of tests/test_lab_dualstack.py (the full lab is IPv4 only): "
        f"two payment names with A and AAAA, one TLS server on both families, every TCP packet to its "
        f"IPv6 address dropped, {RTT_MS:g} ms RTT on IPv4. payprobe: `run --only endpoints,tls`, "
        f"5 samples (the other checks would go to the real internet); script: `curl -4` and `curl -6` "
        f"per name (plain curl falls back to IPv4 and hides the fault); blackbox_exporter: an ip4 and "
        f"an ip6 http module per name, no fallback; peers {PEER_TIMEOUT_S:g} s timeouts. No target "
        f"in issue 15 for this row.")
