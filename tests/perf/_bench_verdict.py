"""Time to verdict (issue 15): how long each tool takes to say what is wrong.

One section of tests/perf/bench.py (``--sections verdict``). In one lab, with
40 ms of RTT on every service (as in the speed table), the full default run of
payprobe, the serial dig/sntp/curl/openssl script and blackbox_exporter probing
in sequence meet each scenario in turn:

============  ================================================================
healthy       nothing wrong
down          one provider (WeChat Pay: two endpoints) blackholed
stalled       one provider accepts TCP and never answers the TLS ClientHello
slow          one provider answers after 1.5 s (application delay: TTFB)
1,000         1,000 endpoints, latency.samples = 1, ``--deadline 5``
offline       ``lab.offline()``: no interface, no route, every address unreachable
============  ================================================================

"IPv6 broken" needs a second address family, which this lab does not have: its
row comes from the dual-stack lab of tests/test_lab_dualstack.py
(tests/perf/_bench_ipv6.py).

Offline runs last: ``lab.offline()`` flushes routes and takes wlan0 down, which
nothing undoes. The peers get the same 5 s per probe that payprobe's endpoint
probes get (curl --max-time, ``timeout`` around openssl, blackbox module
timeout), so a blackholed server costs each of them the same.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.lab.lab import CHECK_HOSTS
from tests.perf import _bench_lab as bl
from tests.perf._bench_common import (
    Bench,
    FullLab,
    Table,
    blackbox_for,
    http_module,
    log,
    med,
    serial_script,
    verdict,
)

RTT_MS = 40.0
PEER_TIMEOUT_S = 5.0
WECHAT_HOSTS = ("api.mch.weixin.qq.com", "api.wechatpay.cn")
SLOW_TTFB_MS = 1500.0
SCALE_ENDPOINTS = 1000
SCALE_DEADLINE_S = 5.0
CHECK_ORDER = ("connectivity", "dns", "tls", "clock", "proxy", "endpoints", "device")
# Issue 15's targets, seconds of wall time from process start to exit.
TARGET_S = {"healthy": 0.6, "offline": 1.5, "offline_dns": 1.5, "down": 3.5, "stalled": 3.5, "slow": 4.0}
SCALE_RSS_MB = 120.0
SCALE_REPORT_BYTES = 1_500_000
DEFAULT_REPORT_BYTES = 30_000


@dataclass
class Runs:
    """What one scenario's runs measured, per tool."""

    label: str
    pp_wall: list[float] = field(default_factory=list)
    pp_inner: list[float] = field(default_factory=list)
    pp_rss: list[float] = field(default_factory=list)
    report_bytes: list[float] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)
    checks: dict[str, list[tuple[float, str]]] = field(default_factory=dict)
    script: list[float] = field(default_factory=list)
    blackbox: list[float] = field(default_factory=list)
    script_done: list[float] = field(default_factory=list)
    blackbox_done: list[float] = field(default_factory=list)


def first_verdict(report: dict[str, Any] | None) -> str:
    if not report:
        return "no report"
    causes = report.get("causes") or []
    if not causes:
        return str(report.get("status", "?"))
    top = causes[0]
    target = f" ({top['target']})" if top.get("target") else ""
    return f"{report.get('status', '?')}: {top.get('code')}{target}"


def note_payprobe(runs: Runs, m: bl.Measured, report: dict[str, Any] | None) -> None:
    runs.pp_wall.append(m.wall_s)
    runs.pp_rss.append(m.peak_rss_mb)
    runs.report_bytes.append(float(len(m.stdout.encode())))
    runs.verdicts.append(first_verdict(report))
    if report:
        runs.pp_inner.append(float(report.get("duration_s", 0.0)))
        for check in report.get("checks", []):
            runs.checks.setdefault(check["name"], []).append(
                (float(check.get("duration_s", 0.0)), str(check.get("status"))))


# ------------------------------------------------------------------ scenarios


Undo = Callable[[], None]


def _restore_hosts(lab: Any, hosts: dict[str, str]) -> Undo:
    def undo() -> None:
        for host, addr in hosts.items():
            lab.add_host(host, addr)
    return undo


def provider_down(fl: FullLab) -> tuple[Undo, list[str]]:
    faults = [fl.lab.blackhole(fl.lab.host_address(h)) for h in WECHAT_HOSTS]

    def undo() -> None:
        for fault in faults:
            fault.remove()

    return undo, []


def provider_stalled(fl: FullLab) -> tuple[Undo, list[str]]:
    lab = fl.lab
    before = {h: lab.host_address(h) for h in WECHAT_HOSTS}
    silent = lab.http_server("silent", port=443)
    for host in WECHAT_HOSTS:
        lab.add_host(host, silent)
    return _restore_hosts(lab, before), []


def provider_slow(fl: FullLab) -> tuple[Undo, list[str]]:
    lab = fl.lab
    before = {h: lab.host_address(h) for h in WECHAT_HOSTS}
    slow = []
    for host in WECHAT_HOSTS:
        addr = lab.tls_server("valid", hostname=host, delay_ms=SLOW_TTFB_MS)
        lab.add_host(host, addr)
        slow.append(addr)
    return _restore_hosts(lab, before), slow


def nothing(fl: FullLab) -> tuple[Undo, list[str]]:
    return (lambda: None), []


def offline(fl: FullLab) -> tuple[Undo, list[str]]:
    # Not undone: nothing restores wlan0 and the routes, and the scenario after
    # this one (a silent local resolver) needs the device still offline.
    fl.lab.offline()
    return (lambda: None), []


def silent_local_resolver(fl: FullLab) -> tuple[Undo, list[str]]:
    """Still offline (the scenario before this one), and a local resolver that never answers.

    resolv.conf names none, so glibc asks 127.0.0.1:53: every lookup waits out
    its timeouts, as behind a stuck local DNS proxy. Not undone: offline is last.
    """
    fl.lab.dns("silent", address="127.0.0.1")
    return (lambda: None), []


def full_overrides(fl: FullLab) -> dict[str, Any]:
    """The full lab's config overrides (as build_full_lab writes them)."""
    return {"dns": {"resolvers": [{"name": f"Lab DNS {i + 1}", "address": a}
                                  for i, a in enumerate(fl.resolvers)]},
            "clock": {"ntp_servers": fl.ntp_servers}}


def ip_check_urls_config(fl: FullLab) -> Path:
    """The full lab config with the check URLs by address: fetching them needs no lookup."""
    urls = [f"http://{fl.lab.host_address(h)}/generate_204" for h in CHECK_HOSTS]
    return fl.lab.write_config(deadline_s=15.0, connectivity={"check_urls": urls}, **full_overrides(fl))


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    setup: Callable[[FullLab], tuple[Undo, list[str]]]
    delayed: bool = True   # offline: a queued packet would be accepted past the REJECT rules
    # Under a fault the peers' time is their timeouts, the same every run: one run of
    # each is enough (the offline script alone takes minutes). Healthy: every run.
    peers_every_run: bool = False
    peers: bool = True
    config: Callable[[FullLab], Path] | None = None   # None: the full lab config


SCENARIOS = (
    Scenario("healthy", "healthy", nothing, peers_every_run=True),
    Scenario("down", "one provider down (blackholed)", provider_down),
    Scenario("stalled", "one provider stalled (TCP accepted, TLS never answered)", provider_stalled),
    Scenario("slow", f"one provider slow ({SLOW_TTFB_MS / 1000:g} s TTFB)", provider_slow),
)
OFFLINE = Scenario("offline", "offline (no interface, no route)", offline, delayed=False)
OFFLINE_SILENT_DNS = Scenario("offline_dns", "offline, local resolver silent (check URLs by address)",
                              silent_local_resolver, delayed=False, peers=False, config=ip_check_urls_config)


@contextlib.contextmanager
def scenario_network(fl: FullLab, sc: Scenario) -> Iterator[None]:
    undo, extra = sc.setup(fl)
    try:
        if sc.delayed:
            with bl.path_delay(fl.lab, [*fl.service_addresses, *extra], RTT_MS):
                yield
        else:
            yield
    finally:
        undo()


def run_scenario(b: Bench, fl: FullLab, sc: Scenario, script: Path, bb: bl.Blackbox,
                 pairs: list[tuple[str, str]]) -> Runs:
    runs = Runs(sc.label)
    with scenario_network(fl, sc):
        config = sc.config(fl) if sc.config is not None else fl.config
        for i in range(b.plan.verdict_runs):
            m, report = bl.run_payprobe(fl.lab, config, timeout_s=120, redact=True)
            if not report:
                b.problem(f"verdict {sc.key}: payprobe gave no report: {m.stderr[-300:]}")
            note_payprobe(runs, m, report)
            if sc.peers and (i == 0 or sc.peers_every_run):
                runs.script.append(bl.run_measured(fl.lab, ["bash", str(script)], timeout_s=600).wall_s)
                runs.blackbox.append(bb.probe_many(pairs)[0])
    return runs


# ------------------------------------------------------------------ 1,000 endpoints


def scale_endpoints(fl: FullLab) -> list[dict[str, str]]:
    hosts = fl.names
    return [{"name": f"Endpoint {i:04d}", "provider": f"provider{i % 50:02d}",
             "url": f"https://{hosts[i % len(hosts)]}/e{i}"} for i in range(SCALE_ENDPOINTS)]


def scale_script(fl: FullLab, endpoints: list[dict[str, str]]) -> Path:
    """curl per endpoint, one after another: the serial sweep of 1,000 endpoints."""
    ca = fl.lab.ca_file
    lines = ["#!/bin/bash"] + [
        f"curl -sS -I -o /dev/null --cacert {ca} --max-time {PEER_TIMEOUT_S:g} -w '%{{http_code}}\\n' {e['url']}"
        for e in endpoints]
    path = Path(fl.lab.dir) / "serial-1000.sh"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_scale(b: Bench, fl: FullLab, bb: bl.Blackbox) -> Runs:
    lab = fl.lab
    endpoints = scale_endpoints(fl)
    cfg = lab.write_config(deadline_s=SCALE_DEADLINE_S, endpoints=endpoints, latency={"samples": 1},
                           **full_overrides(fl))
    script = scale_script(fl, endpoints)
    pairs = [(e["url"], "http_lab") for e in endpoints]
    runs = Runs(f"{SCALE_ENDPOINTS:,} endpoints, samples=1, --deadline {SCALE_DEADLINE_S:g}")
    with bl.path_delay(lab, fl.service_addresses, RTT_MS):
        for _ in range(b.plan.verdict_runs):
            m, report = bl.run_payprobe(lab, cfg, "--deadline", f"{SCALE_DEADLINE_S:g}", timeout_s=120,
                                        redact=True)
            if not report:
                b.problem(f"verdict 1000: payprobe gave no report: {m.stderr[-300:]}")
            note_payprobe(runs, m, report)
            s = bl.run_measured(lab, ["timeout", f"{SCALE_DEADLINE_S:g}", "bash", str(script)], timeout_s=60)
            runs.script.append(s.wall_s)
            runs.script_done.append(float(len(s.stdout.split())))
            wall, bodies = bb.probe_many(pairs, budget_s=SCALE_DEADLINE_S)
            runs.blackbox.append(wall)
            runs.blackbox_done.append(float(len(bodies)))
    return runs


# ------------------------------------------------------------------ the tables


def _s(values: list[float]) -> str:
    v = med(values)
    return "n/a" if v is None else f"{v:.2f} s"


def _runs(runs: Runs) -> str:
    peers = len(runs.script)
    if peers == len(runs.pp_wall):
        return str(peers)
    return f"{len(runs.pp_wall)} (peers {peers})" if peers else f"{len(runs.pp_wall)} (no peers)"


def _ratio(peer: list[float], pp: list[float]) -> float | None:
    p, q = med(pp), med(peer)
    return None if not p or q is None else q / p


def _peer_cell(peer: list[float], pp: list[float]) -> str:
    if not peer:
        return "not run"
    r = _ratio(peer, pp)
    return _s(peer) + ("" if r is None else f" ({r:.1f}x payprobe)")


def verdict_row(b: Bench, t: Table, key: str, runs: Runs) -> None:
    p = med(runs.pp_wall)
    limit = TARGET_S.get(key)
    ok = None if p is None or limit is None else p <= limit
    target = f"<= {limit:g} s" if limit is not None else ""
    if key == "healthy":
        r_script, r_bb = _ratio(runs.script, runs.pp_wall), _ratio(runs.blackbox, runs.pp_wall)
        fast = None if r_script is None or r_bb is None else r_script >= 5.0 and r_bb >= 2.5
        b.target("time to verdict, healthy: >= 5x faster than the serial script", None if r_script is None
                 else r_script >= 5.0)
        b.target("time to verdict, healthy: >= 2.5x faster than blackbox_exporter in sequence",
                 None if r_bb is None else r_bb >= 2.5)
        ok = None if ok is None or fast is None else ok and fast
        target += "; >= 5x script, >= 2.5x blackbox"
    if limit is not None:
        b.target(f"time to verdict, {runs.label}: <= {limit:g} s", None if p is None else p <= limit)
    verdicts = sorted(set(runs.verdicts))
    t.add(runs.label, _runs(runs), _s(runs.pp_wall), "; ".join(verdicts),
          _peer_cell(runs.blackbox, runs.pp_wall), _peer_cell(runs.script, runs.pp_wall), target, verdict(ok))


def scale_row(b: Bench, t: Table, runs: Runs) -> None:
    p, rss, size = med(runs.pp_wall), med(runs.pp_rss), med(runs.report_bytes)
    ok_time = None if p is None else p <= SCALE_DEADLINE_S + 0.5
    ok_rss = None if rss is None else rss <= SCALE_RSS_MB
    ok_size = None if size is None else size <= SCALE_REPORT_BYTES
    b.target(f"{SCALE_ENDPOINTS:,} endpoints: wall <= deadline + 0.5 s", ok_time)
    b.target(f"{SCALE_ENDPOINTS:,} endpoints: peak RSS <= {SCALE_RSS_MB:g} MB", ok_rss)
    b.target(f"{SCALE_ENDPOINTS:,} endpoints: report <= {SCALE_REPORT_BYTES / 1e6:g} MB", ok_size)
    oks = [ok_time, ok_rss, ok_size]
    ok = None if None in oks else all(oks)
    pp = f"{_s(runs.pp_wall)}, {rss or 0:.0f} MB RSS, report {(size or 0) / 1e6:.2f} MB"

    def covered(walls: list[float], done: list[float]) -> str:
        return f"{_s(walls)}: {med(done) or 0:.0f}/{SCALE_ENDPOINTS} endpoints"

    t.add(runs.label, _runs(runs), pp, "; ".join(sorted(set(runs.verdicts))),
          covered(runs.blackbox, runs.blackbox_done), covered(runs.script, runs.script_done),
          f"<= {SCALE_DEADLINE_S + 0.5:g} s, <= {SCALE_RSS_MB:g} MB, <= {SCALE_REPORT_BYTES / 1e6:g} MB",
          verdict(ok))


def time_table(all_runs: list[tuple[str, Runs]]) -> Table:
    """Item 2 of the issue: where payprobe's wall time goes, check by check."""
    t = Table("Time to verdict: where payprobe's time goes (s, median; check status when not ok)",
              ["scenario", "wall", "report duration_s", "start-up + report", *CHECK_ORDER, "report bytes"])
    for _key, runs in all_runs:
        cells = []
        for name in CHECK_ORDER:
            values = runs.checks.get(name, [])
            d = med([v for v, _ in values])
            statuses = sorted({s for _, s in values if s != "ok"})
            cells.append("n/a" if d is None else f"{d:.2f}" + (f" ({'/'.join(statuses)})" if statuses else ""))
        wall, inner = med(runs.pp_wall), med(runs.pp_inner)
        overhead = "n/a" if wall is None or inner is None else f"{wall - inner:.2f}"
        t.add(runs.label, _s(runs.pp_wall), "n/a" if inner is None else f"{inner:.2f}", overhead, *cells,
              f"{med(runs.report_bytes) or 0:,.0f}")
    t.notes += [
        "start-up + report: wall time outside the run's own duration_s (interpreter start, config, "
        "diagnosis, rendering the JSON report, exit).",
        "Checks run at once, so the run lasts as long as its slowest check, not their sum.",
    ]
    return t


def time_to_verdict(b: Bench, fl: FullLab) -> None:
    """The "time to verdict" table and where the time goes (issue 15, items 2, 3 and 5)."""
    lab = fl.lab
    script = serial_script(fl, guard_s=PEER_TIMEOUT_S, name="serial-verdict.sh")
    bb, pairs = blackbox_for(fl, timeout=f"{PEER_TIMEOUT_S:g}s", port=9117)
    all_runs: list[tuple[str, Runs]] = []
    try:
        for sc in SCENARIOS:
            log(f"verdict: {sc.label}")
            all_runs.append((sc.key, run_scenario(b, fl, sc, script, bb, pairs)))
        log("verdict: 1,000 endpoints")
        bb_scale = bl.Blackbox(lab, {"http_lab": http_module(str(lab.ca_file), timeout=f"{PEER_TIMEOUT_S:g}s")},
                               port=9118)
        try:
            all_runs.append(("scale", run_scale(b, fl, bb_scale)))
        finally:
            bb_scale.close()
        from tests.perf._bench_ipv6 import run_ipv6_broken  # it imports Runs from here

        all_runs.append(("ipv6", run_ipv6_broken(b)))
        log("verdict: offline (last: it cannot be undone)")
        all_runs.append(("offline", run_scenario(b, fl, OFFLINE, script, bb, pairs)))
        all_runs.append(("offline_dns", run_scenario(b, fl, OFFLINE_SILENT_DNS, script, bb, pairs)))
    finally:
        bb.close()
    emit_verdict(b, fl, all_runs)
    b.emit(time_table(all_runs))


def emit_verdict(b: Bench, fl: FullLab, all_runs: list[tuple[str, Runs]]) -> None:
    from tests.perf._bench_ipv6 import NOTE as IPV6_NOTE  # it imports Runs from here

    t = Table(f"Time to verdict: full default run, {RTT_MS:g} ms RTT on every service "
              f"({len(fl.names)} endpoints, {len(fl.resolvers)} resolvers, {len(fl.ntp_servers)} NTP servers)",
              ["scenario", "runs", "payprobe wall (median)", "payprobe verdict (status: first cause)",
               "blackbox_exporter, in sequence", "serial script", "target", ""])
    by_key = dict(all_runs)
    for key in ("healthy", "offline", "offline_dns", "down", "stalled", "slow"):
        if key in by_key:
            verdict_row(b, t, key, by_key[key])
    if "ipv6" in by_key:
        verdict_row(b, t, "ipv6", by_key["ipv6"])
    if "scale" in by_key:
        scale_row(b, t, by_key["scale"])
    healthy_bytes = med(by_key["healthy"].report_bytes) if "healthy" in by_key else None
    b.target(f"default profile report <= {DEFAULT_REPORT_BYTES / 1000:g} KB",
             None if healthy_bytes is None else healthy_bytes <= DEFAULT_REPORT_BYTES)
    t.notes += [
        "Wall time from outside the namespace, process start to exit, for every tool; payprobe: "
        "`payprobe run --format json` (redacted, as by default) with the full lab config (deadline "
        "15 s), all 7 default checks, bytecode compiled as in an installed copy.",
        f"Peers: the serial script of the speed table (curl --max-time {PEER_TIMEOUT_S:g}, dig +time=2, "
        f"sntp -t 2, openssl s_client under `timeout {PEER_TIMEOUT_S:g}`) and blackbox_exporter with "
        f"{PEER_TIMEOUT_S:g} s module timeouts; they print measurements, not a verdict.",
        f"Down/stalled/slow: both WeChat Pay hosts ({', '.join(WECHAT_HOSTS)}); stalled = a listener "
        "that accepts TCP and never sends a byte; slow = the lab TLS server answering every request "
        f"after {SLOW_TTFB_MS:g} ms.",
        IPV6_NOTE,
        f"{SCALE_ENDPOINTS:,} endpoints: {SCALE_ENDPOINTS} [[endpoints]] over the lab's "
        f"{len(fl.names)} HTTPS servers (distinct paths), latency.samples = 1, `--deadline "
        f"{SCALE_DEADLINE_S:g}`; report bytes = the JSON report on stdout. The peers get the same "
        f"{SCALE_DEADLINE_S:g} s and probe endpoints one after another: the cell says how many they covered.",
        "Offline: `lab.offline()` (wlan0 down, routes flushed, no resolver, lab addresses answer "
        "ICMP net-unreachable); run last, without the path delay. The script's time there is dig "
        "waiting out +time=2 per query: the lab's resolvers stay on lo and answer ICMP "
        "net-unreachable, which dig does not act on (with no route at all, sendto() fails at once).",
        "Offline, local resolver silent: still offline, plus a resolver on 127.0.0.1:53 that never "
        "answers (glibc's fallback when resolv.conf names none), so every lookup waits out glibc's "
        "timeouts; the check URLs are given by address. The early stop applies only to checks that "
        "declare needs_network. Peers not run here: every lookup of theirs waits the same 5-10 s, "
        "minutes in all.",
        "Under a fault the peers ran once (their time is their timeouts); healthy: every run.",
    ]
    b.emit(t)
