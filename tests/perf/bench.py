#!/usr/bin/env python3
"""payprobe against peer tools, in the network lab (issue 8; accuracy of issues 4 and 5).

    python3 tests/perf/bench.py [--quick] [--update-readme] [--sections accuracy,speed,worst,cost,verdict]

Needs root on Linux and the lab's packages (``scripts/test`` installs them),
plus curl, dig, sntp, openssl, prometheus-blackbox-exporter, speedtest-cli and,
when installed, dnsdiag's ``dnseval``. Prints one table per section:

1. Accuracy: the error in ms against the injected truth, next to curl -w,
   blackbox_exporter, dig, dnseval, sntp and speedtest-cli on the same servers.
2. Speed: a full diagnosis with 40 ms of RTT on every service, against the serial
   shell script a support engineer would run and blackbox_exporter in sequence.
3. Worst case: everything blackholed; wall time against the deadline; the report
   is complete and valid.
4. Cost: peak RSS, CPU seconds, start-up time and bytes on the wire.
5. Time to verdict (issue 15, tests/perf/_bench_verdict.py): healthy, offline,
   one provider down, stalled or slow, and 1,000 endpoints, payprobe against
   the script and blackbox_exporter; and where payprobe's time goes, check by
   check. Not in ``--quick`` unless asked for with ``--sections``.

``--quick`` (CI, through tests/test_bench_quick.py) takes fewer samples and
finishes in under 3 minutes on 2 cores. ``--update-readme`` rewrites the README
section between ``<!-- perf:begin`` and ``<!-- perf:end -->``. Exit status: 0
when every measurement ran (targets missed are reported, not failed: the figures
are for people to read), 1 when a measurement could not be made.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import site
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.perf import _bench_lab as bl  # noqa: E402 - needs ROOT on sys.path
from tests.perf import _bench_verdict as bv  # noqa: E402
from tests.perf._bench_common import (  # noqa: E402
    Bench,
    FullLab,
    Plan,
    Table,
    bb_value,
    blackbox_for,
    build_full_lab,
    err_ms,
    http_module,
    log,
    med,
    ms,
    serial_script,
    verdict,
)

README = ROOT / "README.md"
BEGIN_MARK = "<!-- perf:begin"
END_MARK = "<!-- perf:end -->"
DEFAULT_CHECKS = ("connectivity", "dns", "tls", "clock", "proxy", "endpoints", "device")
RESULT_STATUSES = {"ok", "warn", "fail", "error", "timeout", "skipped"}


def curl_times(lab: Any, host: str, addr: str, n: int) -> list[tuple[float, float, float]]:
    """n HEAD requests with curl -w; (connect, tls, ttfb) seconds each, DNS excluded."""
    fmt = "%{time_namelookup} %{time_connect} %{time_appconnect} %{time_pretransfer} %{time_starttransfer}"
    script = (f'for i in $(seq {n}); do curl -sS -I --http1.1 -o /dev/null --resolve {host}:443:{addr} '
              f'--cacert "$1" --max-time 10 -w "{fmt}\\n" https://{host}/; done')
    proc = lab.exec(["bash", "-c", script, "bench", str(lab.ca_file)], timeout=60 + 10 * n)
    out = []
    for line in proc.stdout.splitlines():
        dns_s, conn, app, pre, start = map(float, line.split())
        out.append((conn - dns_s, app - conn, start - pre))
    return out


# ------------------------------------------------------------------ 1. accuracy


def measure_http(b: Bench, lab: Any, bb: bl.Blackbox, host: str, addr: str, delay_ms: float
                 ) -> tuple[dict[str, list[float]], dict[str, float | None], dict[str, float | None], int]:
    """payprobe, curl and blackbox on one HTTPS server behind a path delay."""
    plan = b.plan
    cfg = lab.write_config(
        deadline_s=60.0, endpoints=[{"name": "Bench", "provider": "bench", "url": f"https://{host}/"}],
        latency={"samples": plan.http_samples, "icmp": False})
    with bl.path_delay(lab, [addr], delay_ms):
        pp: dict[str, list[float]] = {"connect": [], "tls": [], "ttfb": [], "tlscheck": []}
        for _ in range(plan.http_runs):
            _, report = bl.run_payprobe(lab, cfg, "--only", "endpoints,tls")
            for key, metric in (("connect", "tcp_connect_seconds"), ("tls", "tls_handshake_seconds"),
                                ("ttfb", "http_ttfb_seconds")):
                pp[key] += [m["value"] for m in bl.metrics(report, "endpoints", metric)
                            if m["labels"].get("stat") == "p50"]
            pp["tlscheck"] += [m["value"] for m in bl.metrics(report, "tls", "tls_handshake_seconds")]
        if not pp["connect"]:
            b.problem(f"payprobe endpoints gave no tcp_connect_seconds p50 for {host}")
        n = plan.http_samples * plan.http_runs
        curl = curl_times(lab, host, addr, n)
        _, bodies = bb.probe_many([(f"https://{host}/", "http_lab")] * n)
    cu = {"connect": med([c[0] for c in curl]), "tls": med([c[1] for c in curl]),
          "ttfb": med([c[2] for c in curl])}
    phase = {"connect": "connect", "tls": "tls", "ttfb": "processing"}
    bbm = {k: med([v for body in bodies if (v := bb_value(body, "probe_http_duration_seconds", phase=p))
                   is not None]) for k, p in phase.items()}
    failed = sum(1 for body in bodies if body.get("probe_success") != 1.0)
    if failed:
        b.problem(f"blackbox http probes of {host} failed: {failed}/{len(bodies)}")
    return pp, cu, bbm, n


def accuracy_http(b: Bench, lab: Any) -> None:
    plan = b.plan
    delay_ms = 35.0
    truth = delay_ms / 1000.0
    host = "api.stripe.com"
    bb = bl.Blackbox(lab, {"http_lab": http_module(str(lab.ca_file))}, port=9115)
    try:
        pp, cu, bbm, n = measure_http(b, lab, bb, host, lab.host_address(host), delay_ms)
    finally:
        bb.close()
    t = Table(f"Accuracy: TCP connect, TLS handshake, TTFB (ms, median; {delay_ms:g} ms path delay)",
              ["measure", "injected", "payprobe (err)", "curl -w (err)", "blackbox (err)",
               "payprobe - curl", "target", ""])
    rows = [("connect", "TCP connect", "connect", pp, cu, bbm, True),
            ("tls", "TLS handshake (endpoints)", "tls", pp, cu, bbm, True),
            ("tls", "TLS handshake (tls check)", "tlscheck", pp, cu, bbm, True),
            ("ttfb", "HTTP TTFB", "ttfb", pp, cu, bbm, True)]
    for key, label, pkey, d_pp, d_cu, d_bb, scored in rows:
        p = med(d_pp[pkey])
        diff = None if p is None or d_cu[key] is None else p - d_cu[key]
        ok = None if diff is None or not scored else abs(diff) <= 0.003
        t.add(label, f"{delay_ms:g}", f"{ms(p)} ({err_ms(p, truth)})",
              f"{ms(d_cu[key])} ({err_ms(d_cu[key], truth)})", f"{ms(d_bb[key])} ({err_ms(d_bb[key], truth)})",
              err_ms(p, d_cu[key]), "|Δ curl| <= 3 ms" if scored else "(artifact)", verdict(ok))
        if scored:
            b.target(f"{label} within 3 ms of curl", ok)
    p_conn = med(pp["connect"])
    ok = None if p_conn is None else abs(p_conn - truth) <= 0.003
    b.target("tcp_connect p50 within 3 ms of the injected delay", ok)
    t.notes += [
        f"payprobe: {plan.http_runs} run(s) of `--only endpoints,tls`, latency.samples={plan.http_samples} "
        f"(p50 per run, median over runs); curl and blackbox: {n} HEAD requests each, one at a time.",
        "Delay: every packet to the server held for exactly the delay (NFQUEUE), so each round trip "
        "(SYN, TLS 1.3 flight, request) costs it once; TLS and TTFB also include the server's own work.",
        "Server: the lab's HTTPS server, with TCP_NODELAY on both ends (as nginx, curl and Go).",
        "curl: connect = time_connect - time_namelookup (--resolve), TLS = time_appconnect - time_connect, "
        "TTFB = time_starttransfer - time_pretransfer; blackbox: probe_http_duration_seconds "
        "phase=connect|tls|processing.",
    ]
    b.emit(t)


def accuracy_dns(b: Bench, lab: Any) -> None:
    from tests.lab.lab import PAYMENT_HOSTS

    plan = b.plan
    delay_ms = 40.0
    truth = delay_ms / 1000.0
    addr = lab.resolvers[0][1]
    names = list(PAYMENT_HOSTS[: plan.dns_names])
    cfg = lab.write_config(deadline_s=30.0, dns={"names": names,
                                                 "resolvers": [{"name": "Lab DNS", "address": addr}]})
    fault = lab.delay(addr, delay_ms, proto="udp", port=53)
    try:
        pp: list[float] = []
        system: list[float] = []
        for _ in range(plan.dns_runs):
            _, report = bl.run_payprobe(lab, cfg, "--only", "dns")
            for m in bl.metrics(report, "dns", "dns_query_seconds"):
                if m["labels"].get("resolver") == "Lab DNS":
                    pp.append(m["value"])
                elif m["labels"].get("resolver") == "system":
                    system.append(m["value"])
        if not pp:
            b.problem("payprobe dns gave no dns_query_seconds for the lab resolver")
        count = max(len(pp), 8)
        script = (f'for i in $(seq {math.ceil(count / len(names))}); do for n in {" ".join(names)}; do '
                  f'dig @{addr} $n A +tries=1 +time=2 +noall +stats; done; done')
        out = lab.exec(["bash", "-c", script], timeout=120).stdout
        dig = [int(x) / 1000.0 for x in re.findall(r"Query time: (\d+) msec", out)]
        de: list[float] = []
        de_min: list[float] = []
        if shutil.which("dnseval"):
            servers = Path(lab.dir) / "dnseval-servers.txt"
            servers.write_text(addr + "\n")
            per_name = max(2, math.ceil(count / len(names)))
            for name in names:
                jpath = Path(lab.dir) / f"dnseval-{name}.json"
                lab.exec(["dnseval", "-f", str(servers), "-c", str(per_name), "-w", "2", "-j", str(jpath), name],
                         timeout=60)
                if jpath.exists():
                    for line in jpath.read_text().splitlines():
                        data = json.loads(line).get("data", {})
                        if data.get("r_avg") is not None:
                            de.append(data["r_avg"] / 1000.0)
                            de_min.append(data["r_min"] / 1000.0)
            if not de:
                b.problem("dnseval gave no result")
    finally:
        fault.remove()
    t = Table(f"Accuracy: DNS query time (ms; {delay_ms:g} ms UDP/53 delay on the resolver)",
              ["tool", "queries", "median (err)", "min", "max", "payprobe - tool", "target", ""])
    p = med(pp)
    d = med(dig)
    ok = None if p is None or d is None else abs(p - d) <= 0.003
    b.target("dns_query_seconds within 3 ms of dig", ok)
    t.add("payprobe dns_query_seconds", len(pp), f"{ms(p)} ({err_ms(p, truth)})", ms(min(pp, default=None)),
          ms(max(pp, default=None)), "", "", "")
    t.add("dig Query time", len(dig), f"{ms(d)} ({err_ms(d, truth)})", ms(min(dig, default=None)),
          ms(max(dig, default=None)), err_ms(p, d), "|Δ dig| <= 3 ms", verdict(ok))
    if shutil.which("dnseval"):
        e = med(de)
        t.add("dnseval (avg per name)", f"{len(de)} names", f"{ms(e)} ({err_ms(e, truth)})",
              ms(min(de_min, default=None)), ms(max(de, default=None)), err_ms(p, e), "", "")
    else:
        t.add("dnseval", "-", "not installed (pip install dnsdiag)", "", "", "", "", "")
    s = med(system)
    t.add("payprobe system (getaddrinfo)", len(system), f"{ms(s)} ({err_ms(s, truth)})",
          ms(min(system, default=None)), ms(max(system, default=None)), "", "", "")
    t.notes += [
        f"payprobe: {plan.dns_runs} run(s) of `--only dns`, {len(names)} names, A and AAAA over UDP, "
        "queries in parallel as in a real run; dig: 1 ms resolution.",
        "getaddrinfo goes through the same (delayed) resolver; glibc asks A and AAAA, so it is not "
        "the same measure as one query.",
    ]
    b.emit(t)


def accuracy_clock(b: Bench, lab: Any) -> None:
    plan = b.plan
    t = Table("Accuracy: clock offset (ms error against the injected skew)",
              ["injected skew", "tool", "runs", "median error", "max |error|", "payprobe - sntp", "target", ""])
    for skew in plan.clock_skews_s:
        addr = lab.ntp(skew_s=skew)
        cfg = lab.write_config(clock={"ntp_servers": [addr]})
        pp: list[float] = []
        for _ in range(plan.clock_runs):
            _, report = bl.run_payprobe(lab, cfg, "--only", "clock")
            pp += [m["value"] for m in bl.metrics(report, "clock", "clock_offset_seconds")
                   if m["labels"].get("source") == "best"]
        sn: list[float] = []
        for _ in range(plan.clock_runs):
            out = lab.exec(["sntp", "-t", "2", addr], timeout=30).stdout
            match = re.search(r"\)\s+([+-]\d+\.\d+)\s+\+/-", out)
            if match:
                sn.append(float(match.group(1)))
        if not pp or not sn:
            b.problem(f"clock: no offset (payprobe {len(pp)}, sntp {len(sn)})")
        pe = [v - skew for v in pp]
        se = [v - skew for v in sn]
        p, s = med(pp), med(sn)
        ok = None if not pe else max(abs(e) for e in pe) <= 0.010
        ok_s = None if p is None or s is None else abs(p - s) <= 0.010
        b.target(f"clock_offset within 10 ms of the injected skew ({skew:+g} s)", ok)
        b.target(f"clock_offset within 10 ms of sntp ({skew:+g} s)", ok_s)
        t.add(f"{skew:+g} s", "payprobe best", len(pp), err_ms(p, skew), ms(max(map(abs, pe), default=None), 2),
              err_ms(p, s), "<= 10 ms", verdict(None if ok is None or ok_s is None else ok and ok_s))
        t.add("", "sntp", len(sn), err_ms(s, skew), ms(max(map(abs, se), default=None), 2), "", "", "")
    t.notes.append("chronyd under libfaketime serves the skew; payprobe: `--only clock` with that one server.")
    b.emit(t)


def accuracy_loss(b: Bench, lab: Any) -> None:
    from tests.lab.lab import PAYMENT_HOSTS

    plan = b.plan
    percent = 30.0
    p = percent / 100.0
    hosts = list(PAYMENT_HOSTS[: plan.loss_endpoints])
    faults = [lab.loss(lab.host_address(h), percent, proto="tcp") for h in hosts]
    try:
        cfg = lab.write_config(
            deadline_s=120.0, latency={"samples": plan.loss_samples, "icmp": False},
            endpoints=[{"name": h, "provider": h, "url": f"https://{h}/"} for h in hosts])
        _, report = bl.run_payprobe(lab, cfg, "--only", "endpoints", timeout_s=200)
    finally:
        for f in faults:
            f.remove()
    ratios = [m["value"] for m in bl.metrics(report, "endpoints", "loss_ratio")]
    maxes = [m["value"] for m in bl.metrics(report, "endpoints", "tcp_connect_seconds")
             if m["labels"].get("stat") == "max"]
    if len(ratios) != len(hosts):
        b.problem(f"loss: {len(ratios)} loss_ratio metrics for {len(hosts)} endpoints")
    n = plan.loss_samples * len(hosts)
    pooled = statistics.fmean(ratios) if ratios else None
    sd = math.sqrt(p * (1 - p) / n)
    z = None if pooled is None else (pooled - p) / sd
    ok = None if z is None else abs(z) <= 3.0
    b.target("loss_ratio consistent with the injected loss (|z| <= 3)", ok)
    sd1 = math.sqrt(p * (1 - p) / plan.loss_samples)
    t = Table(f"Accuracy: loss_ratio with {percent:g} % random TCP packet loss",
              ["endpoints x samples", "expected", "binomial sd", "payprobe pooled", "z", "per endpoint",
               "slowest connect kept", "target", ""])
    t.add(f"{len(hosts)} x {plan.loss_samples}", f"{p:.3f}", f"{sd:.3f} (one endpoint {sd1:.3f})",
          "n/a" if pooled is None else f"{pooled:.3f}", "n/a" if z is None else f"{z:+.2f}",
          ", ".join(f"{r:.2f}" for r in ratios), f"{ms(max(maxes, default=None), 0)} ms", "|z| <= 3", verdict(ok))
    t.notes += [
        "A sample is lost when its first SYN is dropped (the connect cap is the 1 s SYN retransmission "
        "timeout); later drops are retransmitted within the sample's budget, so the expected per-sample "
        "loss is the packet loss p, with binomial spread sqrt(p(1-p)/n).",
    ]
    b.emit(t)


def accuracy_bandwidth(b: Bench, lab: Any) -> None:
    plan = b.plan
    rate = 16_000_000.0
    url = lab.speedtest_mini()
    cfg = lab.write_config(deadline_s=90.0, bandwidth={"enabled": True, "mini_server": url})
    fault = lab.rate_limit(rate)
    pp_dl: list[float] = []
    pp_ul: list[float] = []
    st_dl: list[float] = []
    st_ul: list[float] = []
    try:
        for _ in range(plan.bw_runs):
            _, report = bl.run_payprobe(lab, cfg, "--only", "bandwidth", "--bandwidth", timeout_s=150)
            pp_dl += [m["value"] for m in bl.metrics(report, "bandwidth", "download_bits_per_second")]
            pp_ul += [m["value"] for m in bl.metrics(report, "bandwidth", "upload_bits_per_second")]
            proc = lab.exec([sys.executable, "-m", "speedtest", "--mini", url, "--json"], timeout=150)
            try:
                data = json.loads(proc.stdout)
                st_dl.append(float(data["download"]))
                st_ul.append(float(data["upload"]))
            except (ValueError, KeyError):
                b.problem(f"speedtest-cli: {proc.stderr.strip()[-300:]}")
    finally:
        fault.remove()
    if not pp_dl:
        b.problem("payprobe bandwidth gave no download_bits_per_second")
    pd, sd, pu, su = med(pp_dl), med(st_dl), med(pp_ul), med(st_ul)

    def pct(x: float | None, ref: float | None) -> str:
        return "n/a" if x is None or not ref else f"{(x / ref - 1) * 100:+.1f} %"

    ok_rate = None if pd is None else abs(pd / rate - 1) <= 0.15
    ok_st = None if pd is None or sd is None else abs(pd / sd - 1) <= 0.15
    b.target("download within 15 % of the tbf rate", ok_rate)
    b.target("download within 15 % of speedtest-cli", ok_st)
    t = Table(f"Accuracy: bandwidth (Mbit/s; tbf {rate / 1e6:g} Mbit/s on lo, both directions)",
              ["tool", "runs", "download (vs tbf)", "upload (vs tbf)", "payprobe vs speedtest-cli", "target", ""])
    t.add("payprobe bandwidth", len(pp_dl), f"{(pd or 0) / 1e6:.2f} ({pct(pd, rate)})",
          f"{(pu or 0) / 1e6:.2f} ({pct(pu, rate)})", f"dl {pct(pd, sd)}, ul {pct(pu, su)}",
          "within 15 %", verdict(None if ok_rate is None or ok_st is None else ok_rate and ok_st))
    t.add("speedtest-cli --mini --json", len(st_dl), f"{(sd or 0) / 1e6:.2f} ({pct(sd, rate)})",
          f"{(su or 0) / 1e6:.2f} ({pct(su, rate)})", "", "", "")
    t.notes.append("Same Speedtest Mini server in the lab; tbf counts IP packets, the tools count payload, "
                   "so ~3-5 % below the rate is the protocol overhead.")
    b.emit(t)


def speed(b: Bench, fl: FullLab) -> None:
    plan = b.plan
    rtt_ms = 40.0
    lab = fl.lab
    script = serial_script(fl)
    bb, pairs = blackbox_for(fl)
    pp: list[float] = []
    pp_inner: list[float] = []
    se: list[float] = []
    bbw: list[float] = []
    statuses: list[str] = []
    try:
        with bl.path_delay(lab, fl.service_addresses, rtt_ms):
            for _ in range(plan.speed_runs):
                m, report = bl.run_payprobe(lab, fl.config)
                pp.append(m.wall_s)
                if report:
                    pp_inner.append(report.get("duration_s", 0.0))
                    statuses.append(report.get("status", "?"))
                else:
                    b.problem(f"speed: payprobe gave no report: {m.stderr[-300:]}")
                s = bl.run_measured(lab, ["bash", str(script)], timeout_s=600)
                se.append(s.wall_s)
                wall, bodies = bb.probe_many(pairs)
                bbw.append(wall)
                failed = sum(1 for body in bodies if body.get("probe_success") != 1.0)
                if failed:
                    b.problem(f"speed: {failed}/{len(bodies)} blackbox probes failed")
    finally:
        bb.close()
    p, s, w = med(pp), med(se), med(bbw)
    ratio = None if not p or s is None else s / p
    ok = None if ratio is None else ratio >= 3.0
    b.target("payprobe >= 3x faster than the serial script", ok)
    t = Table(f"Speed: full diagnosis, {rtt_ms:g} ms RTT on every service "
              f"({len(fl.names)} endpoints, {len(fl.resolvers)} resolvers, {len(fl.ntp_servers)} NTP servers)",
              ["tool", "runs", "wall time (median)", "vs payprobe", "what it covers"])
    t.add("payprobe run (default checks)", len(pp), f"{p:.2f} s (report duration_s {med(pp_inner) or 0:.2f} s)",
          "1.0x", f"all 7 checks; {len(fl.names)} endpoints x 5 samples; A+AAAA per resolver; status "
          f"{', '.join(sorted(set(statuses)))}")
    t.add("serial shell script", len(se), f"{s:.2f} s", f"{ratio:.1f}x slower" if ratio else "n/a",
          f"{len(fl.check_urls)} curl (204), dig A+AAAA per resolver per name, sntp per server, "
          "curl + openssl s_client per endpoint (1 sample each)")
    t.add("blackbox_exporter, in sequence", len(bbw), f"{w:.2f} s",
          f"{w / p:.1f}x slower" if p and w else "n/a",
          f"{len(pairs)} probes: 204 URLs, dns A+AAAA per resolver per name, http per endpoint; no NTP prober")
    t.notes += [f"Goal: payprobe >= 3x faster than the serial script: {verdict(ok)} "
                f"({'n/a' if ratio is None else f'{ratio:.1f}x'}).",
                "Delay: every packet to each service address held 40 ms (NFQUEUE), so every round trip "
                "(TCP, TLS, HTTP, DNS, NTP) costs 40 ms as on a 40 ms path.",
                "Wall times are measured from outside the namespace, start-up included, for all three."]
    b.emit(t)


def worst_case(b: Bench, fl: FullLab) -> None:
    from payprobe.reports.model import validate

    lab = fl.lab
    deadline = b.plan.worst_deadline_s
    faults = [lab.blackhole(a) for a in fl.service_addresses]
    try:
        m, report = bl.run_payprobe(lab, fl.config, "--deadline", f"{deadline:g}", timeout_s=deadline + 60)
    finally:
        for f in faults:
            f.remove()
    errors = validate(report) if report else ["no JSON report"]
    checks = {c.get("name"): c.get("status") for c in (report or {}).get("checks", [])}
    missing = [c for c in DEFAULT_CHECKS if c not in checks]
    bad = [f"{n}={s}" for n, s in checks.items() if s not in RESULT_STATUSES]
    in_time = m.wall_s <= deadline + 0.5
    complete = not errors and not missing and not bad
    b.target("worst case: wall <= deadline + 0.5 s", in_time)
    b.target("worst case: complete, valid report", complete)
    t = Table(f"Worst case: every service address blackholed ({len(fl.service_addresses)} addresses)",
              ["deadline", "wall (outside)", "report duration_s", "exit", "run status", "checks (status)",
               "schema", "target", ""])
    t.add(f"{deadline:g} s", f"{m.wall_s:.2f} s", f"{(report or {}).get('duration_s', 'n/a')}", m.returncode,
          (report or {}).get("status", "n/a"), ", ".join(f"{k}={v}" for k, v in checks.items()),
          "valid" if not errors else f"{len(errors)} error(s): {errors[0][:80]}",
          "wall <= deadline + 0.5 s; all checks", verdict(in_time and complete))
    if missing:
        t.notes.append("missing checks: " + ", ".join(missing))
    t.notes.append("Wall time from outside the namespace (interpreter start-up included), "
                   "`payprobe run --deadline D` with the full lab config.")
    b.emit(t)


def _proc_cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _proc_hwm_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def startup(argv: list[str], runs: int) -> float:
    env = bl.clean_env()   # as the measured runs: with bytecode
    subprocess.run(argv, capture_output=True, check=False, env=env)  # warm the page cache
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=False, env=env)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def cost(b: Bench, fl: FullLab) -> None:
    from tests.lab.lab import _RANGES

    plan = b.plan
    lab = fl.lab
    counter = bl.ByteCounter(lab, list(_RANGES.values()))
    script = serial_script(fl)
    bb, pairs = blackbox_for(fl)
    rows: dict[str, dict[str, list[float]]] = {}

    def note(tool: str, **values: float) -> None:
        for k, v in values.items():
            rows.setdefault(tool, {}).setdefault(k, []).append(v)

    try:
        for _ in range(plan.cost_runs):
            counter.reset()
            m, report = bl.run_payprobe(lab, fl.config)
            sent, recv = counter.read()
            if not report:
                b.problem("cost: payprobe gave no report")
            note("payprobe run", rss=m.peak_rss_mb, cpu=m.cpu_s, wall=m.wall_s, sent=sent, recv=recv)
            counter.reset()
            s = bl.run_measured(lab, ["bash", str(script)], timeout_s=300)
            sent, recv = counter.read()
            note("serial shell script", rss=s.peak_rss_mb, cpu=s.cpu_s, wall=s.wall_s, sent=sent, recv=recv)
            counter.reset()
            cpu0 = _proc_cpu_s(bb.proc.pid)
            wall, _ = bb.probe_many(pairs)
            sent, recv = counter.read()
            note("blackbox_exporter sweep", rss=_proc_hwm_mb(bb.proc.pid), cpu=_proc_cpu_s(bb.proc.pid) - cpu0,
                 wall=wall, sent=sent, recv=recv)
    finally:
        bb.close()
    for _ in range(plan.cost_runs):
        m, report, sent, recv = default_shape_run(fl, counter)
        note(DEFAULT_SHAPE, rss=m.peak_rss_mb, cpu=m.cpu_s, wall=m.wall_s, sent=sent, recv=recv)
        if not report or report.get("status") != "healthy":
            b.problem(f"cost: {DEFAULT_SHAPE}: {(report or {}).get('status', 'no report')}")
    exe = shutil.which("payprobe")
    starts = {
        "payprobe run": startup([exe, "--version"] if exe else [sys.executable, "-m", "payprobe", "--version"],
                                plan.startup_runs),
        "serial shell script": startup(["curl", "--version"], plan.startup_runs),
        "blackbox_exporter sweep": startup([bl.Blackbox.BINARY, "--version"], plan.startup_runs),
    }
    starts[DEFAULT_SHAPE] = starts["payprobe run"]
    start_what = {"payprobe run": "payprobe --version", "serial shell script": "curl --version",
                  "blackbox_exporter sweep": "blackbox_exporter --version",
                  DEFAULT_SHAPE: "payprobe --version"}
    pp_cost = rows.get("payprobe run", {})
    rss, cpu = med(pp_cost.get("rss", [])), med(pp_cost.get("cpu", []))
    b.target("cost: default run peak RSS <= 40 MB", None if rss is None else rss <= 40.0)
    b.target("cost: default run CPU <= 0.3 s", None if cpu is None else cpu <= 0.3)
    b.target("cost: payprobe --version <= 40 ms", starts["payprobe run"] <= 0.040)
    t = Table("Cost: one healthy run without the bandwidth test (median over runs)",
              ["tool", "peak RSS", "CPU (user+sys)", "wall", "start-up", "bytes sent", "bytes received"])
    for tool, v in rows.items():
        t.add(tool, f"{med(v['rss']):.0f} MB", f"{med(v['cpu']):.2f} s", f"{med(v['wall']):.2f} s",
              f"{starts[tool] * 1000:.0f} ms ({start_what[tool]})", f"{med(v['sent']):,.0f}",
              f"{med(v['recv']):,.0f}")
    t.notes += [
        "Peak RSS and CPU from os.wait4() rusage of the child (for the script: the largest of its "
        "commands, CPU summed over all), the peak RSS through GNU time (`time -f %M`): a child forked "
        "straight from the bench would report at least the bench's own peak RSS (Linux keeps the "
        "pre-exec memory's high-water mark; `true` read 43 MB); blackbox_exporter: the long-running exporter's VmHWM and its "
        "CPU during the sweep (it is a daemon; its start-up is not paid per sweep).",
        "Bytes: iptables-legacy counters inside the namespace, one rule per lab service range "
        "(-d RANGE: sent, -s RANGE: received), inserted first in OUTPUT, through which every packet on "
        "lo passes once. They count IP packets with headers, as a metered plan bills; /proc/net/dev of lo "
        "would count every packet as both sent and received, add link-layer headers and include "
        "traffic outside the lab services (the bench talking to the exporter).",
        "payprobe takes 5 samples per endpoint plus system-resolver, NXDOMAIN-rewrite and TLS checks; "
        "the script and blackbox take one each.",
        f"{DEFAULT_SHAPE}: the resolvers of the built-in defaults in kind and number (2 over UDP, 1 "
        "DoH server in the lab; the other rows: 4 over UDP) and a ca_file as large as a system's CA "
        "store (Debian's ca-certificates.crt, 144 roots, plus the lab's CAs; the other rows: the "
        "lab's CA alone). The CPU target is judged on the first row.",
    ]
    b.emit(t)


DEFAULT_SHAPE = "payprobe run, default resolvers and CA store"
SYSTEM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def default_shape_run(fl: FullLab, counter: Any) -> tuple[Any, dict[str, Any] | None, float, float]:
    """One healthy run shaped as the built-in defaults: 2 UDP resolvers and a DoH one,
    and a CA file of a system store's size: (measured, report, bytes sent, received)."""
    import trustme

    from tests.lab.doh import DOH_NAME, DOH_URL, LabDoh

    lab = fl.lab
    ca = trustme.CA(organization_name="Lab DoH CA")
    doh = LabDoh(lab, {name: [addr] for name, addr in lab.hosts.items()}, ca.issue_cert(DOH_NAME))
    try:
        bundle = Path(lab.dir) / "system-size-ca.pem"
        system = SYSTEM_CA_BUNDLE.read_bytes() if SYSTEM_CA_BUNDLE.is_file() else b""
        bundle.write_bytes(system + Path(lab.ca_file).read_bytes() + ca.cert_pem.bytes())
        resolvers = [{"name": f"Lab DNS {i + 1}", "address": a} for i, a in enumerate(fl.resolvers[:2])]
        resolvers.append({"name": "Lab DoH", "protocol": "doh", "url": DOH_URL, "address": doh.address})
        config = lab.write_config(deadline_s=15.0, ca_file=str(bundle), dns={"resolvers": resolvers},
                                  clock={"ntp_servers": fl.ntp_servers})
        counter.reset()
        m, report = bl.run_payprobe(lab, config)
        sent, recv = counter.read()
        return m, report, sent, recv
    finally:
        doh.close()


# ------------------------------------------------------------------ machine and README


def machine() -> list[tuple[str, str]]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    tools = []
    for argv in (["curl", "--version"], ["dig", "-v"], ["openssl", "version"],
                 [bl.Blackbox.BINARY, "--version"]):
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
            first = ((proc.stdout or proc.stderr).splitlines() or ["?"])[0].strip()
            tools.append(" ".join(first.split()[:3]).rstrip(","))
        except OSError:
            pass
    return [("CPUs", str(os.cpu_count())), ("CPU model", model), ("memory", mem),
            ("kernel", platform.release()), ("Python", platform.python_version()),
            ("payprobe's Python", _interpreter()), ("peer tools", "; ".join(tools))]


def _interpreter() -> str:
    """Which interpreter ran payprobe: a venv's start-up differs from a system Python's
    with extra .pth files by tens of milliseconds."""
    venv = sys.prefix != sys.base_prefix
    pths = sorted(p.name for d in site.getsitepackages() for p in Path(d).glob("*.pth")
                  if not p.name.startswith(("distutils-precedence", "__editable__")))
    kind = "a venv" if venv else "the system Python"
    return f"{sys.executable} ({kind}; .pth files at start-up: {', '.join(pths) or 'none'})"


def machine_table() -> Table:
    t = Table("Machine", ["", ""])
    for k, v in machine():
        t.add(k, v)
    return t


def update_readme(b: Bench, mode: str, elapsed_s: float) -> None:
    text = README.read_text()
    start = text.find(BEGIN_MARK)
    end = text.find(END_MARK)
    if start < 0 or end < start:
        raise SystemExit(f"{README}: markers {BEGIN_MARK!r} ... {END_MARK!r} not found")
    start = text.index("\n", start) + 1
    parts = [f"Measured {time.strftime('%Y-%m-%d')} by `python3 tests/perf/bench.py` ({mode}, "
             f"{elapsed_s:.0f} s). Every figure comes from one run in the network lab "
             "(`tests/lab/`), payprobe and the peer tools side by side on the same servers with the same "
             "injected faults.", ""]
    parts += ["**Targets:**", ""] + [f"- {what}: **{v}**" for what, v in b.targets] + [""]
    parts += [t.markdown() + "\n" for t in b.tables]
    parts += ["**Reproduce:** as root on Linux, after `scripts/test` installed the lab packages "
              "(and `pip install dnsdiag` for dnseval): `python3 tests/perf/bench.py` (full, a few "
              "minutes) or `--quick` (CI, under 3 minutes); `--update-readme` rewrites this section.", ""]
    new = text[:start] + "\n".join(parts) + "\n" + text[end:]
    README.write_text(new)
    log(f"README section rewritten ({README})")


# ------------------------------------------------------------------ main




def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer samples (CI): under 3 minutes on 2 cores")
    ap.add_argument("--update-readme", action="store_true", help="rewrite the README Performance section")
    ap.add_argument("--sections", default=None,
                    help="comma-separated subset of accuracy,speed,worst,cost,verdict (default: all; "
                         "--quick leaves out verdict, which takes minutes)")
    args = ap.parse_args(argv)

    from tests.lab.lab import lab_unavailable_reason, running_lab, sweep_stale_namespaces

    reason = lab_unavailable_reason()
    if reason:
        print(f"bench: {reason}", file=sys.stderr)
        return 2
    sweep_stale_namespaces()
    bl.warm_bytecode()
    sections = args.sections or ("accuracy,speed,worst,cost" if args.quick else "accuracy,speed,worst,cost,verdict")
    wanted = {s.strip() for s in sections.split(",") if s.strip()}
    plan = Plan.make(args.quick)
    b = Bench(plan)
    started = time.monotonic()
    mode = "quick" if args.quick else "full"
    print(f"payprobe benchmark ({mode}) in the network lab\n", flush=True)

    def step(name: str, fn: Callable[..., None], *fargs: Any) -> None:
        log(f"{name} ...")
        t0 = time.monotonic()
        try:
            fn(b, *fargs)
        except Exception as exc:  # noqa: BLE001 - one failed measurement must not hide the others
            import traceback
            traceback.print_exc()
            b.problem(f"{name}: {type(exc).__name__}: {exc}")
        log(f"{name} done in {time.monotonic() - t0:.1f} s")

    try:
        if "accuracy" in wanted:
            with running_lab() as lab:
                step("accuracy: tcp/tls/ttfb", accuracy_http, lab)
                step("accuracy: dns", accuracy_dns, lab)
                step("accuracy: clock", accuracy_clock, lab)
                step("accuracy: loss", accuracy_loss, lab)
                step("accuracy: bandwidth", accuracy_bandwidth, lab)
        if wanted & {"speed", "worst", "cost"}:
            with running_lab() as lab:
                fl = build_full_lab(lab)
                if "speed" in wanted:
                    step("speed", speed, fl)
                if "worst" in wanted:
                    step("worst case", worst_case, fl)
                if "cost" in wanted:
                    step("cost", cost, fl)
        if "verdict" in wanted:
            # A lab of its own: its last scenario (offline) cannot be undone.
            with running_lab() as lab:
                step("time to verdict", bv.time_to_verdict, build_full_lab(lab))
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    elapsed = time.monotonic() - started

    targets = Table("Targets", ["target", ""])
    for what, v in b.targets:
        targets.add(what, v)
    print(targets.text() + "\n")
    mt = machine_table()
    print(mt.text())
    print(f"\nbench: {mode} mode, {elapsed:.1f} s, {len(b.problems)} problem(s)")
    for p in b.problems:
        print(f"bench: problem: {p}")
    if args.update_readme:
        b.tables.append(mt)
        update_readme(b, mode, elapsed)
    return 1 if b.problems else 0


if __name__ == "__main__":
    sys.exit(main())
