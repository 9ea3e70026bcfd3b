"""Lab helpers for tests/perf/bench.py that tests/lab/lab.py does not offer.

- :func:`path_delay`: every packet to a set of addresses held for an exact time
  (``lab.delay`` holds only TCP SYNs, which delays the connect but not the TLS
  handshake or the HTTP exchange; a real 40 ms path delays every round trip).
- :class:`Blackbox`: prometheus-blackbox-exporter running inside the namespace.
- :class:`ByteCounter`: iptables-legacy accounting of the bytes the "phone"
  sends to and receives from the lab's services.
- :func:`run_measured`: a command in the namespace with its wall time and
  wait4() rusage (peak RSS, CPU seconds).

Nothing here edits the lab; everything is removed when the lab closes (the
namespace goes, and ``Lab.close()`` kills leftover processes by pid).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.lab.lab import stop_process

ROOT = Path(__file__).resolve().parents[2]
IPTABLES = "/usr/sbin/iptables-legacy"
# The lab's NFQUEUE holders use 100..999; ours stay clear of them.
_queue_nums = iter(range(2000, 3000))
ACCT_CHAIN = "PPBENCH_ACCT"


def ns_argv(lab: Any, argv: Sequence[str]) -> list[str]:
    return ["ip", "netns", "exec", lab.name, *argv]


# Compiled bytecode goes here, outside the source tree: an installed payprobe
# has its .pyc files (pip writes them), so the bench measures it with them too.
PYCACHE_DIR = Path(tempfile.gettempdir()) / "payprobe-bench-pycache"


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The bench's environment minus proxy variables, with the repo importable.

    PYTHONDONTWRITEBYTECODE is dropped (a development shell may set it): without
    bytecode every run would compile payprobe's ~90 modules again, 0.1 s that
    no installed copy pays. The bytecode goes to :data:`PYCACHE_DIR`.
    """
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("PYTEST_CURRENT_TEST", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE_DIR)
    if extra:
        env.update(extra)
    return env


def warm_bytecode() -> None:
    """Compile payprobe (probe/, checks/, reports/) into :data:`PYCACHE_DIR` once, up front."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", "probe", "checks", "reports"], cwd=ROOT,
                   env=clean_env(), capture_output=True, check=False, timeout=300)


def _iptables(lab: Any, args: Sequence[str], check: bool = True) -> str:
    proc = subprocess.run(ns_argv(lab, [IPTABLES, "-w", *args]), capture_output=True, text=True,
                          timeout=10, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"iptables {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout


def _stop(proc: subprocess.Popen[Any]) -> None:
    stop_process(proc, grace_s=2.0)


def _wait_line(proc: subprocess.Popen[str], expect: str, timeout_s: float) -> None:
    stdout = proc.stdout
    assert stdout is not None
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    if not got or got[0].strip() != expect:
        _stop(proc)
        raise RuntimeError(f"{proc.args!r} did not print {expect}: {got!r}")


@contextlib.contextmanager
def path_delay(lab: Any, addresses: Sequence[str], ms: float) -> Iterator[None]:
    """Hold every packet sent to ``addresses`` for exactly ``ms`` (one NFQUEUE holder).

    On loopback the client's packets go to the service address and the answers
    to 127.0.0.1, so matching the destination delays one direction only: each
    round trip (SYN/SYN-ACK, ClientHello/ServerHello, request/response, a DNS
    or NTP query/answer) takes exactly ``ms`` longer, as on a path with that RTT.
    """
    qnum = next(_queue_nums)
    holder = subprocess.Popen(
        ns_argv(lab, [sys.executable, "-m", "tests.lab.nfqdelay", str(qnum), str(ms)]),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True,
        start_new_session=True, cwd=ROOT, env=clean_env())
    rules: list[list[str]] = []
    try:
        _wait_line(holder, "READY", 10.0)
        for addr in dict.fromkeys(addresses):
            rule = ["OUTPUT", "-d", addr, "-j", "NFQUEUE", "--queue-num", str(qnum)]
            _iptables(lab, ["-I", *rule])
            rules.append(rule)
        yield
    finally:
        for rule in rules:
            _iptables(lab, ["-D", *rule], check=False)
        _stop(holder)


class ByteCounter:
    """Bytes the phone sends to and receives from the lab services (iptables-legacy).

    Every lab packet, both directions, crosses the namespace's OUTPUT chain
    (all of it is local traffic on ``lo``). A rule per service range counts
    ``-d RANGE`` (sent by the phone) and ``-s RANGE`` (answers it received).
    iptables counts whole IP packets (IP + TCP/UDP headers + payload, no
    link-layer header), which is what a metered mobile plan bills; GSO
    super-packets on ``lo`` are counted by their full length. Traffic between
    the bench and blackbox_exporter on 127.0.0.1:9115 is not in a service
    range, so it is not counted.
    """

    def __init__(self, lab: Any, ranges: Sequence[str]) -> None:
        self.lab = lab
        self.ranges = [r.rstrip(".") + ".0/24" if r.count(".") == 3 else r for r in ranges]
        _iptables(lab, ["-N", ACCT_CHAIN], check=False)
        _iptables(lab, ["-F", ACCT_CHAIN])
        for net in self.ranges:
            _iptables(lab, ["-A", ACCT_CHAIN, "-d", net, "-m", "comment", "--comment", "sent"])
            _iptables(lab, ["-A", ACCT_CHAIN, "-s", net, "-m", "comment", "--comment", "recv"])
        # First in OUTPUT, so drops and NFQUEUE rules added later do not hide packets.
        _iptables(lab, ["-I", "OUTPUT", "1", "-j", ACCT_CHAIN])

    def read(self) -> tuple[int, int]:
        """(sent, received) bytes since the last reset."""
        out = _iptables(self.lab, ["-L", ACCT_CHAIN, "-v", "-x", "-n"])
        sent = recv = 0
        for line in out.splitlines()[2:]:
            parts = line.split()
            if len(parts) < 2 or not parts[1].isdigit():
                continue
            if "sent" in line:
                sent += int(parts[1])
            elif "recv" in line:
                recv += int(parts[1])
        return sent, recv

    def reset(self) -> None:
        _iptables(self.lab, ["-Z", ACCT_CHAIN])


@dataclass
class Measured:
    argv: list[str]
    returncode: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    stdout: str
    stderr: str


def run_measured(lab: Any, argv: Sequence[str], *, env: dict[str, str] | None = None,
                 timeout_s: float = 300.0) -> Measured:
    """Run ``argv`` in the namespace; wall time, user+sys CPU and peak RSS from wait4().

    ``ip netns exec`` execs the command in place, so the child's pid is the
    command's own and wait4() returns its rusage (and that of its waited-for
    descendants: ru_maxrss is the largest of them, CPU times are summed).

    Peak RSS comes through GNU time (:func:`rss_launcher`): Linux records, at
    exec, the peak RSS of the memory the process had before it, and a child
    forked (or vforked) from this bench starts with the bench's own memory, so
    wait4()'s ru_maxrss of any direct child is at least the bench's peak RSS
    (``true`` measured 43 MB). GNU time's child is forked from a small C
    program instead, and time reports that child's own peak.
    """
    launcher, rss_file = rss_launcher(lab)
    full = ns_argv(lab, [*launcher, *argv])
    out_path = Path(lab.dir) / f"bench-out-{time.monotonic_ns()}"
    with open(f"{out_path}.stdout", "w+") as out, open(f"{out_path}.stderr", "w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(full, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=ROOT,
                                env=clean_env(env), start_new_session=True)
        timer = threading.Timer(timeout_s, lambda: os.killpg(proc.pid, signal.SIGKILL))
        timer.daemon = True
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    return Measured(list(full), proc.returncode, wall, usage.ru_utime + usage.ru_stime,
                    _peak_rss_kib(rss_file, usage.ru_maxrss) / 1024.0, stdout, stderr)


GNU_TIME = Path("/usr/bin/time")


def rss_launcher(lab: Any) -> tuple[list[str], Path | None]:
    """GNU time writing the child's peak RSS (KiB) to a file, or nothing without it."""
    if not GNU_TIME.exists():
        return [], None
    rss_file = Path(lab.dir) / f"bench-rss-{time.monotonic_ns()}"
    return [str(GNU_TIME), "-q", "-f", "%M", "-o", str(rss_file)], rss_file


def _peak_rss_kib(rss_file: Path | None, fallback_kib: int) -> int:
    """What GNU time wrote (its last line), else wait4()'s figure (an upper bound)."""
    try:
        text = rss_file.read_text().split() if rss_file is not None else []
        return int(text[-1]) if text else fallback_kib
    except (OSError, ValueError):
        return fallback_kib
    finally:
        if rss_file is not None:
            rss_file.unlink(missing_ok=True)


def payprobe_argv(config: Path, *args: str, redact: bool = False) -> list[str]:
    """``payprobe run`` writing its JSON report to stdout; unredacted unless ``redact``."""
    return [sys.executable, "-m", "payprobe", "run", "--config", str(config), "--format", "json",
            "--output", "-", *([] if redact else ["--no-redact"]), "--quiet", *args]


def payprobe_env(lab: Any) -> dict[str, str]:
    return {"PAYPROBE_DATA_DIR": str(Path(lab.dir) / "bench-data"),
            "PAYPROBE_CONFIG_DIR": str(Path(lab.dir) / "bench-config")}


def run_payprobe(lab: Any, config: Path, *args: str, timeout_s: float = 120.0, redact: bool = False
                 ) -> tuple[Measured, dict[str, Any] | None]:
    m = run_measured(lab, payprobe_argv(config, *args, redact=redact), env=payprobe_env(lab),
                     timeout_s=timeout_s)
    try:
        report = json.loads(m.stdout)
    except ValueError:
        report = None
    return m, report


def metrics(report: dict[str, Any] | None, check: str, name: str) -> list[dict[str, Any]]:
    """The metrics ``name`` of ``check`` in a report (empty when absent)."""
    if not report:
        return []
    for item in report.get("checks", []):
        if item.get("name") == check:
            return [m for m in item.get("metrics", []) if m.get("name") == name]
    return []


# A tiny client run inside the namespace: GETs each URL in turn (the exporter is
# asked to probe one target at a time, as a serial sweep would), prints JSON.
# argv[1], when given, is a time budget: no new probe starts after it.
_BB_CLIENT = r"""
import json, sys, time, urllib.request
urls = json.load(sys.stdin)
budget_s = float(sys.argv[1]) if len(sys.argv) > 1 else float("inf")
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
out = []
t0 = time.perf_counter()
for url in urls:
    if time.perf_counter() - t0 >= budget_s:
        break
    try:
        out.append(opener.open(url, timeout=60).read().decode())
    except Exception as exc:
        out.append("error " + repr(exc))
print(json.dumps({"wall_s": time.perf_counter() - t0, "bodies": out}))
"""


class Blackbox:
    """prometheus-blackbox-exporter inside the lab namespace, on 127.0.0.1:PORT."""

    BINARY = "/usr/bin/prometheus-blackbox-exporter"

    def __init__(self, lab: Any, modules: dict[str, Any], port: int = 9115) -> None:
        self.lab = lab
        self.port = port
        conf = Path(lab.dir) / f"blackbox-{port}.yml"
        # JSON is YAML: no YAML writer needed.
        conf.write_text(json.dumps({"modules": modules}, indent=1))
        log = open(Path(lab.dir) / f"blackbox-{port}.log", "w")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            ns_argv(lab, [self.BINARY, f"--config.file={conf}",
                          f"--web.listen-address=127.0.0.1:{port}", "--log.level=error"]),
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True, env=clean_env())
        log.close()
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            probe = subprocess.run(ns_argv(lab, ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                                 f"http://127.0.0.1:{port}/-/healthy"]),
                                   capture_output=True, text=True, check=False)
            if probe.stdout.strip() == "200":
                return
            time.sleep(0.05)
        self.close()
        raise RuntimeError("blackbox_exporter did not start: " +
                           (Path(lab.dir) / f"blackbox-{port}.log").read_text()[-500:])

    def url(self, target: str, module: str) -> str:
        from urllib.parse import urlencode
        return f"http://127.0.0.1:{self.port}/probe?" + urlencode({"target": target, "module": module})

    def probe_many(self, pairs: Sequence[tuple[str, str]], *, budget_s: float | None = None
                   ) -> tuple[float, list[dict[str, float]]]:
        """Probe (target, module) pairs one after another; (wall seconds, parsed metrics each).

        With ``budget_s`` no probe starts after that many seconds: fewer bodies come back.
        """
        urls = [self.url(t, m) for t, m in pairs]
        budget = [] if budget_s is None else [str(budget_s)]
        proc = subprocess.run(ns_argv(self.lab, [sys.executable, "-c", _BB_CLIENT, *budget]), input=json.dumps(urls),
                              capture_output=True, text=True, timeout=600, env=clean_env(), check=True)
        data = json.loads(proc.stdout)
        return data["wall_s"], [parse_prometheus(body) for body in data["bodies"]]

    def close(self) -> None:
        _stop(self.proc)


def parse_prometheus(text: str) -> dict[str, float]:
    """``{'name{labels}': value}`` of an exposition-format body (no comments)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        try:
            out[key] = float(value)
        except ValueError:
            continue
    return out


