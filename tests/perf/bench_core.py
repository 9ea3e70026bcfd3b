#!/usr/bin/env python3
"""Agent-core figures: start-up time, runner overhead, peak RSS.

    python3 tests/perf/bench_core.py [--quick]

Prints a table; asserts nothing (figures are compared by people, side by side
with peer tools measured in the same run). Runs offline: the only checks it
runs are no-op/sleep checks in-process and `payprobe run --only device`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def time_command(argv: list[str], runs: int, env: dict[str, str] | None = None) -> tuple[float, float]:
    """(median, min) wall seconds of a command, after one warm-up run."""
    subprocess.run(argv, capture_output=True, env=env, check=False)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, capture_output=True, env=env, check=False)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def child_peak_rss_mb(argv: list[str], env: dict[str, str]) -> float:
    """Peak RSS of one child (wait4's rusage is per child, not the max over all).

    Through GNU time where it is installed: a child forked straight from this
    process reports at least this process's own peak RSS (Linux keeps the
    high-water mark of the memory it had before exec); time's child does not.
    """
    gnu_time = Path("/usr/bin/time")
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss_file:
        launcher = [str(gnu_time), "-q", "-f", "%M", "-o", rss_file.name] if gnu_time.exists() else []
        proc = subprocess.Popen([*launcher, *argv], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=env)
        _, _, usage = os.wait4(proc.pid, 0)
        words = rss_file.read().split() if launcher else []
    kib = int(words[-1]) if words and words[-1].isdigit() else usage.ru_maxrss  # Linux: KiB
    return kib / 1024.0


def runner_overhead(n: int, sleep_s: float) -> float:
    from payprobe.api import Outcome
    from payprobe.engine import config
    from payprobe.engine.registry import LoadedCheck
    from payprobe.engine.runner import Runner
    from payprobe.host import detect

    def make(i: int) -> LoadedCheck:
        def run(self, ctx):
            if sleep_s:
                time.sleep(sleep_s)
            return Outcome()
        cls = type(f"C{i}", (), {"name": f"c{i}", "version": "1", "run": run})
        return LoadedCheck(name=f"c{i}", target="bench", cls=cls)

    settings = config.load()
    checks = [make(i) for i in range(n)]
    t0 = time.perf_counter()
    Runner(settings, detect()).run(checks, deadline_s=30)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (CI)")
    args = ap.parse_args()
    runs = 5 if args.quick else 20
    env = {**os.environ, "PAYPROBE_DATA_DIR": tempfile.mkdtemp(prefix="pp-bench-")}
    exe = shutil.which("payprobe")
    py = sys.executable

    rows: list[tuple[str, str, str]] = []
    base_med, base_min = time_command([py, "-c", "pass"], runs, env)
    rows.append(("python -c pass (floor)", f"{base_med * 1000:.0f} ms", f"min {base_min * 1000:.0f} ms"))
    for label, argv in [
        ("payprobe --version", [exe, "--version"] if exe else [py, "-m", "payprobe", "--version"]),
        ("payprobe --help", [exe, "--help"] if exe else [py, "-m", "payprobe", "--help"]),
        ("payprobe checks", [exe, "checks"] if exe else [py, "-m", "payprobe", "checks"]),
        ("peer: speedtest-cli --version", [shutil.which("speedtest-cli") or "speedtest-cli", "--version"]),
        ("peer: curl --version", ["curl", "--version"]),
        ("peer: dig -v", ["dig", "-v"]),
    ]:
        if not shutil.which(argv[0]) and not os.path.exists(argv[0]):
            rows.append((label, "n/a", "not installed"))
            continue
        med, mn = time_command(argv, runs, env)
        rows.append((label, f"{med * 1000:.0f} ms", f"min {mn * 1000:.0f} ms"))

    noop = min(runner_overhead(50, 0.0) for _ in range(3))
    rows.append(("runner: 50 no-op checks", f"{noop * 1000:.1f} ms", "target < 50 ms"))
    sleepers = runner_overhead(8, 1.0)
    rows.append(("runner: 8 checks sleeping 1 s", f"{sleepers:.3f} s", "target ~1 s"))

    rss = child_peak_rss_mb([exe or py, *([] if exe else ["-m", "payprobe"]), "run", "--only", "device",
                             "--quiet"], env)
    rows.append(("peak RSS: payprobe run --only device", f"{rss:.1f} MB", "target < 60 MB"))
    rss_py = child_peak_rss_mb([py, "-c", "pass"], env)
    rows.append(("peak RSS: python -c pass (floor)", f"{rss_py:.1f} MB", ""))

    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>10}  note")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>10}  {note}")
    print(f"\nmachine: {os.cpu_count()} CPU, Python {sys.version.split()[0]}, "
          f"{os.uname().sysname} {os.uname().release}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
