"""The lab's namespace and processes: what every service of the lab stands on.

- constants: the lab's names, addresses and per-service loopback ranges;
- :func:`lab_unavailable_reason`, :class:`LabError`;
- the namespace sweep (:func:`sweep_stale_namespaces`) and the registry of live
  labs that atexit/SIGTERM clean up (:func:`cleanup_all_labs`);
- :class:`LabCore`: one namespace (``lo`` up, a veth pair whose inner end is
  ``wlan0``), processes started inside it and waited for (a ``READY`` line or
  bound sockets), address allocation, and :meth:`LabCore.close`, which leaves
  nothing behind.

The services (DNS, NTP, TLS/HTTP, proxy/VPN, faults, the phone) are mixins
over :class:`LabCore`, composed into ``Lab`` in tests/lab/lab.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
IPTABLES = "/usr/sbin/iptables-legacy"
NETNS_PREFIX = "pplab"

# The payment hosts of probe/defaults.toml, each served by its own TLS server.
PAYMENT_HOSTS: tuple[str, ...] = (
    "openapi.alipay.com", "api.mch.weixin.qq.com", "api.wechatpay.cn", "api.douyinpay.com",
    "www.douyin.com", "gateway.95516.com", "api.stripe.com", "api-m.paypal.com",
)
CHECK_HOSTS: tuple[str, ...] = ("connect.rom.miui.com", "www.qualcomm.cn", "connectivitycheck.gstatic.com")
DATE_HOSTS: tuple[str, ...] = ("www.baidu.com",)
NTP_HOSTS: tuple[str, ...] = ("ntp.aliyun.com", "ntp.tencent.com")
SPEEDTEST_HOSTS: tuple[str, ...] = ("www.speedtest.net", "c.speedtest.net")

WLAN_ADDRESS = "192.0.2.10"
GATEWAY_ADDRESS = "192.0.2.1"
# Where Termux's own $PREFIX/etc/resolv.conf points in lab.phone(): on the Wi-Fi
# subnet, but nobody answers ARP for it, so it cannot be reached.
UNREACHABLE_RESOLVER = "192.0.2.53"

_RANGES = {
    "dns": "127.53.0.",
    "ntp": "127.123.0.",
    "tls": "127.44.0.",
    "http": "127.80.0.",
    "rogue": "127.66.0.",
    "proxy": "127.88.0.",
    "misc": "127.99.0.",
}

START_TIMEOUT_S = 10.0

_live_labs: set[LabCore] = set()
_live_lock = threading.Lock()
_counter = iter(range(1, 1_000_000))


def next_serial() -> int:
    """A number unique in this process (lab names, config file names)."""
    return next(_counter)


class LabError(RuntimeError):
    """The lab could not be built, or something outlived it."""


def lab_unavailable_reason() -> str | None:
    """Why the lab cannot run here, or None when it can."""
    if not sys.platform.startswith("linux"):
        return f"the network lab needs Linux (this is {sys.platform})"
    if os.geteuid() != 0:
        return "the network lab needs root (network namespaces, iptables, tc)"
    missing = [tool for tool in ("ip", "dnsmasq", "chronyd", "faketime", "tc") if shutil.which(tool) is None]
    if not os.path.exists(IPTABLES):
        missing.append(IPTABLES)
    if missing:
        return "the network lab needs " + ", ".join(missing) + " (scripts/test installs them)"
    return None


def run_tool(argv: Sequence[str], *, check: bool = True, timeout: float = 10.0,
             input: str | None = None) -> subprocess.CompletedProcess[str]:  # noqa: A002
    """Run a host-side tool (ip, iptables ...); LabError on failure when ``check``."""
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, input=input)
    if check and proc.returncode != 0:
        raise LabError(f"{' '.join(argv)}: exit {proc.returncode}: {proc.stderr.strip()}")
    return proc


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ", 1)[1][:1] != "Z"
    except (FileNotFoundError, IndexError, ProcessLookupError):
        return False


def netns_names() -> list[str]:
    out = run_tool(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def netns_pids(name: str) -> list[int]:
    out = run_tool(["ip", "netns", "pids", name], check=False).stdout
    return [int(p) for p in out.split() if p.isdigit()]


def sweep_stale_namespaces() -> list[str]:
    """Delete lab namespaces whose owning test process is gone (a kill -9, a crash)."""
    removed = []
    for name in netns_names():
        if not name.startswith(NETNS_PREFIX):
            continue
        owner = name[len(NETNS_PREFIX):].split("x", 1)[0]
        if owner.isdigit() and not _pid_alive(int(owner)):
            for pid in netns_pids(name):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            run_tool(["ip", "netns", "del", name], check=False)
            shutil.rmtree(f"/etc/netns/{name}", ignore_errors=True)
            removed.append(name)
    return removed


def cleanup_all_labs() -> None:
    """Stop every lab of this process (atexit, SIGTERM)."""
    with _live_lock:
        labs = list(_live_labs)
    for lab in labs:
        with contextlib.suppress(Exception):
            lab.close()


def stop_process(proc: subprocess.Popen[Any], *, grace_s: float = 1.0) -> None:
    """SIGTERM the process's group (each lab process runs in its own session),
    SIGKILL it after ``grace_s``, and close its pipes."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=3.0)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def _proc_hex(addr: str, port: int) -> str:
    # /proc/net/{tcp,udp} print the address as the host-order integer in hex.
    (value,) = struct.unpack("=I", socket.inet_aton(addr))
    return f"{value:08X}:{port:04X}"


def _proc_bound(pid: int, proto: str, local_hex: str) -> bool:
    # /proc/PID/net/* shows the sockets of PID's network namespace.
    try:
        with open(f"/proc/{pid}/net/{proto}", encoding="ascii") as fh:
            next(fh)
            for line in fh:
                parts = line.split()
                if parts[1] == local_hex and (proto == "udp" or parts[3] == "0A"):
                    return True
    except (FileNotFoundError, ProcessLookupError, StopIteration):
        pass
    return False


@dataclass
class Fault:
    """One installed change to the lab (a fault, an interception, a VPN); ``remove()``
    undoes it, and so does the namespace's deletion."""
    description: str
    undo: list[list[str]] = field(default_factory=list)
    procs: list[subprocess.Popen[str]] = field(default_factory=list)
    lab: LabCore | None = None    # whose processes ``procs`` are

    def remove(self) -> None:
        for argv in self.undo:
            run_tool(argv, check=False)
        if self.lab is not None:
            for proc in self.procs:
                self.lab._stop_proc(proc)
        self.undo.clear()


class LabCore:
    """One network namespace and the processes started in it.

    State of the services lives in their mixins (each has an ``_init_*``
    called by ``Lab.__init__``); this class owns the namespace, the tmp dir
    and every process, and :meth:`close` removes all of them.
    """

    # Used across services; each is set or defined by the mixin named. The
    # stubs only say so here: this class comes last in Lab's MRO.
    _hosts: dict[str, str]               # resolvers.DnsMixin: honest answers, name -> address
    _system_resolver: str                # resolvers.DnsMixin
    resolvers: list[tuple[str, str]]     # resolvers.DnsMixin: (name, address)
    ntp_servers: list[str]               # timeservice.ClockMixin
    ca_file: Path                        # web.WebMixin (the lab CA)

    def add_host(self, name: str, address: str) -> None:    # resolvers.DnsMixin
        raise NotImplementedError

    def _write_hosts(self) -> None:                          # resolvers.DnsMixin
        raise NotImplementedError

    def _tls_spec(self, addr: str, port: int, kind: str, hostname: str, shift_s: float,
                  **http: Any) -> dict[str, Any]:            # web.WebMixin
        raise NotImplementedError

    def _shift_base_web(self, shift_s: float) -> None:      # web.WebMixin
        raise NotImplementedError

    def _init_core(self, base_dir: str | Path | None) -> None:
        self.name = f"{NETNS_PREFIX}{os.getpid()}x{next_serial()}"
        self.dir = Path(tempfile.mkdtemp(prefix=f"{self.name}-", dir=base_dir))
        self.netns_etc = Path("/etc/netns") / self.name
        self._procs: list[subprocess.Popen[str]] = []
        self._alloc: dict[str, int] = {}
        self._closed = False
        with _live_lock:
            _live_labs.add(self)

    # -------------------------------------------------------------- namespace

    def _create_namespace(self) -> None:
        run_tool(["ip", "netns", "add", self.name])
        # One `ip -batch` for all link setup: one process instead of eight.
        batch = "\n".join([
            "link set lo up",
            "link add wlan0 type veth peer name wlan0-ap",
            f"addr add {WLAN_ADDRESS}/24 dev wlan0",
            "link set wlan0 up",
            "link set wlan0-ap up",
            f"route add default via {GATEWAY_ADDRESS} dev wlan0 onlink",
        ]) + "\n"
        run_tool(["ip", "-n", self.name, "-batch", "-"], input=batch)
        self.netns_etc.mkdir(parents=True, exist_ok=True)
        (self.netns_etc / "resolv.conf").write_text("# lab: no resolver yet\n")

    def close(self) -> None:
        """Stop every process, delete the namespace and its files. Idempotent.

        Raises LabError if a process or the namespace survived.
        """
        if self._closed:
            return
        self._closed = True
        problems: list[str] = []
        for proc in reversed(self._procs):
            self._stop_proc(proc)
        # Anything else still inside the namespace (a child a test started
        # with lab.exec and left running) goes too, by pid.
        for pid in netns_pids(self.name):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 3.0
        while (left := [p for p in netns_pids(self.name) if _pid_alive(p)]) and time.monotonic() < deadline:
            time.sleep(0.02)
        if left:
            problems.append(f"processes {left} survived in {self.name}")
        if self.name in netns_names():
            run_tool(["ip", "netns", "del", self.name], check=False)
        if self.name in netns_names():
            problems.append(f"namespace {self.name} survived")
        shutil.rmtree(self.netns_etc, ignore_errors=True)
        shutil.rmtree(self.dir, ignore_errors=True)
        with _live_lock:
            _live_labs.discard(self)
        if problems:
            raise LabError("; ".join(problems))

    @property
    def pids(self) -> list[int]:
        """Pids of the processes this lab started (alive or not)."""
        return [p.pid for p in self._procs]

    def _stop_proc(self, proc: subprocess.Popen[str]) -> None:
        stop_process(proc, grace_s=1.0)

    def alloc(self, kind: str) -> str:
        """A fresh 127.x address from the range of ``kind`` (dns, ntp, tls, http, ...)."""
        n = self._alloc.get(kind, 0) + 1
        self._alloc[kind] = n
        return f"{_RANGES[kind]}{n}"

    # -------------------------------------------------------------- processes

    def _ns_argv(self, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def _clean_env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        # The runner's own proxy settings must not leak into the lab.
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        env.pop("PYTEST_CURRENT_TEST", None)
        if extra:
            env.update(extra)
        return env

    def _spawn(self, argv: Sequence[str], log_name: str, *, ready_line: bool = False,
               env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """Start ``argv`` in the namespace, its own session, output to ``log_name``.log.

        With ``ready_line`` its stdout is a pipe for :meth:`_wait_ready_line`.
        """
        log = open(self.dir / f"{log_name}.log", "w")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen(
            self._ns_argv(argv), stdout=subprocess.PIPE if ready_line else log, stderr=log,
            stdin=subprocess.DEVNULL, text=True, start_new_session=True, cwd=REPO_ROOT,
            env=env if env is not None else self._clean_env())
        log.close()
        self._procs.append(proc)
        return proc

    def _wait_ready_line(self, proc: subprocess.Popen[str], what: str) -> None:
        stdout = proc.stdout
        assert stdout is not None
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(START_TIMEOUT_S)
        if not result or result[0].strip() != "READY":
            raise LabError(f"{what} did not start: {self._log_tail(what)}")

    def _log_tail(self, log_name: str) -> str:
        path = self.dir / f"{log_name}.log"
        return path.read_text(errors="replace")[-800:] if path.exists() else ""

    def _wait_bound(self, proc: subprocess.Popen[str], what: str, endpoints: Iterable[tuple[str, str, int]]) -> None:
        """Wait until the process's namespace has the (proto, addr, port) sockets bound."""
        wanted = {(p, _proc_hex(a, port)) for p, a, port in endpoints}
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise LabError(f"{what} exited {proc.returncode}: {self._log_tail(what)}")
            if all(_proc_bound(proc.pid, p, h) for p, h in wanted):
                return
            time.sleep(0.005)
        raise LabError(f"{what} did not bind in {START_TIMEOUT_S:g} s: {self._log_tail(what)}")

    def _iptables(self, table: str, rule: list[str], fault: Fault) -> None:
        """Insert ``rule`` into the namespace's ``table``; its deletion goes into the fault's undo."""
        run_tool(self._ns_argv([IPTABLES, "-w", "-t", table, "-I", *rule]))
        fault.undo.insert(0, self._ns_argv([IPTABLES, "-w", "-t", table, "-D", *rule]))

    def _wrap(self, argv: Sequence[str], raw: bool) -> list[str]:
        """How ``exec`` runs ``argv``; the phone (tests/lab/phone.py) adds its mount view."""
        return self._ns_argv(argv)

    def _exec_env(self, raw: bool) -> dict[str, str] | None:
        """Extra environment for ``exec``; the phone adds Termux's."""
        return None

    def exec(self, argv: Sequence[str], *, timeout: float = 30.0, env: dict[str, str] | None = None,
             check: bool = False, input: str | None = None, raw: bool = False,  # noqa: A002
             ) -> subprocess.CompletedProcess[str]:
        """Run a command inside the namespace (as the phone after lab.phone(), unless ``raw``)."""
        full_env = self._clean_env(self._exec_env(raw))
        if env:
            full_env.update(env)
        proc = subprocess.run(self._wrap(argv, raw), capture_output=True, text=True, timeout=timeout,
                              env=full_env, input=input, cwd=REPO_ROOT)
        if check and proc.returncode != 0:
            raise LabError(f"{' '.join(argv)}: exit {proc.returncode}: {proc.stderr.strip()[-800:]}")
        return proc

    def _start_server(self, listeners: list[dict[str, Any]], what: str, *,
                      wait: bool = True) -> subprocess.Popen[str]:
        """One tests/lab/server.py process serving ``listeners`` (see its docstring)."""
        path = self.dir / f"{what}.json"
        path.write_text(json.dumps({"listeners": listeners}))
        proc = self._spawn([sys.executable, "-m", "tests.lab.server", str(path)], what, ready_line=True)
        if wait:
            self._wait_ready_line(proc, what)
        return proc
