"""Benchmark: history size and speed, and the scheduler's CPU use between runs.

    python3 tests/perf/bench_history.py [--runs 10000]

Prints figures; asserts nothing (targets: < 50 MB for 10,000 runs, `payprobe
history --since 7d` < 300 ms, no CPU between runs).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

ENDPOINTS = ["Alipay OpenAPI", "Alipay mobile", "WeChat Pay API", "WeChat Pay CN", "Douyin Pay",
             "UnionPay gateway"]
CAUSES = ["dns_problem", "network_unstable", "clock_wrong", "payment_service_outage", "offline"]


def synthetic_report(started_ts: float, rng: random.Random) -> dict[str, Any]:
    from payprobe.agent import history
    bad = rng.random() < 0.1
    endpoint_metrics = []
    for name in ENDPOINTS:
        base = rng.uniform(0.02, 0.2) * (4 if bad else 1)
        for metric in ("tcp_connect_seconds", "tls_handshake_seconds", "http_ttfb_seconds"):
            for stat, f in (("min", 0.8), ("p50", 1.0), ("p95", 1.6), ("max", 2.0)):
                endpoint_metrics.append({"name": metric, "value": round(base * f, 6), "unit": "s",
                                         "labels": {"endpoint": name, "stat": stat}})
        endpoint_metrics.append({"name": "loss_ratio", "value": 0.0, "unit": "ratio", "labels": {"endpoint": name}})
    dns = [{"name": "dns_query_seconds", "value": round(rng.uniform(0.005, 0.08), 6), "unit": "s",
            "labels": {"resolver": r, "name": f"host{i}.example"}} for r in ("system", "AliDNS", "DNSPod")
           for i in range(6)]
    causes = [{"code": c, "severity": "fail", "confidence": "high", "title": f"Title for {c}",
               "explanation": "A sentence or two explaining it. " * 3, "remedies": ["Do this.", "Then that."],
               "findings": ["dns.slow"]} for c in (rng.sample(CAUSES, 1) if bad else [])]

    def check(name: str, metrics: list[dict[str, Any]]) -> dict[str, Any]:
        return {"name": name, "version": "1", "status": "ok", "duration_s": 0.3, "summary": f"{name} fine",
                "metrics": metrics, "findings": [], "evidence": [{"what": name, "ok": True}] * 6, "error": None}

    return {"schema_version": 1, "tool": {"name": "payprobe", "version": "0.1.0"},
            "run_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "started_at": history.iso(started_ts),
            "duration_s": round(rng.uniform(2, 8), 3), "trigger": "schedule", "partial": False, "redacted": True,
            "host": {"platform": "android", "termux": True, "os": "Linux 5.10", "python": "3.12.1"},
            "status": "unhealthy" if bad else "healthy", "lang": "en", "summary": "…", "causes": causes,
            "checks": [check("endpoints", endpoint_metrics), check("dns", dns),
                       check("clock", [{"name": "clock_offset_seconds", "value": rng.uniform(-1, 1),
                                        "unit": "s", "labels": {"source": "best"}}]),
                       check("tls", []), check("proxy", []), check("connectivity", []), check("device", [])]}


def build(data_dir: Path, runs: int, keep_reports: int) -> tuple[float, dict[str, Any]]:
    from payprobe.agent import history
    rng = random.Random(7)
    now = time.time()
    period_s = 600.0  # every 10 minutes: 10,000 runs span 69 days, inside keep_days = 90
    start = time.perf_counter()
    conn = history.connect(data_dir / history.DB_NAME)
    batch = 500
    for first in range(0, runs, batch):
        with history._write(conn):
            for i in range(first, min(runs, first + batch)):
                history.insert(conn, synthetic_report(now - (runs - i) * period_s, rng))
            history.prune(conn, keep_reports=keep_reports, keep_unhealthy_days=30, keep_days=90, now=now)
    conn.execute("PRAGMA incremental_vacuum")
    conn.close()
    elapsed = time.perf_counter() - start
    return elapsed, history.stats(data_dir / history.DB_NAME)


def time_cli(env: dict[str, str], argv: list[str], repeat: int = 7) -> tuple[float, float, int]:
    times = []
    lines = 0
    for _ in range(repeat):
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "payprobe", *argv], env=env, capture_output=True,
                              text=True, check=True)
        times.append(time.perf_counter() - t)
        lines = proc.stdout.count("\n")
    return statistics.median(times), min(times), lines


def cpu_seconds(pid: int) -> float:
    import psutil
    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def scheduler_cpu(env: dict[str, str], seconds: float = 5.0) -> float:
    proc = subprocess.Popen([sys.executable, "-m", "payprobe", "watch", "--every", "1h", "--only", "device"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        while "next run at" not in proc.stdout.readline():
            pass
        time.sleep(0.5)  # let the first run's child be reaped and the wait begin
        before = cpu_seconds(proc.pid)
        time.sleep(seconds)
        return cpu_seconds(proc.pid) - before
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for label, keep in (("default retention (keep_reports=200)", 200),
                            ("every full report kept (keep_reports=runs)", args.runs)):
            data_dir = Path(tmp) / f"data-{keep}"
            elapsed, st = build(data_dir, args.runs, keep)
            print(f"history, {label}: {st['runs']} runs, {st['reports_kept']} full reports, "
                  f"{st['bytes'] / 1e6:.1f} MB on disk (built in {elapsed:.1f} s)")
        env = dict(os.environ, PAYPROBE_DATA_DIR=str(Path(tmp) / "data-200"),
                   PYTHONPATH=str(REPO))
        median, best, lines = time_cli(env, ["history", "--since", "7d"])
        print(f"`payprobe history --since 7d` (subprocess, {lines} lines): median {median * 1000:.0f} ms, "
              f"best {best * 1000:.0f} ms")
        median, best, _ = time_cli(env, ["history", "--since", "7d", "--format", "json"])
        print(f"`payprobe history --since 7d --format json`: median {median * 1000:.0f} ms")
        median, best, _ = time_cli(env, ["--version"])
        print(f"`payprobe --version` (interpreter + CLI start-up, for scale): median {median * 1000:.0f} ms")
        env = dict(os.environ, PAYPROBE_DATA_DIR=str(Path(tmp) / "watch"), PYTHONPATH=str(REPO))
        window_s = 5.0
        used = scheduler_cpu(env, window_s)
        print(f"`payprobe watch` between runs: {used * 1000:.1f} ms CPU over {window_s:.0f} s of sleep")


if __name__ == "__main__":
    main()
