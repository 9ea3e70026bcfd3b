"""The network lab: one isolated network namespace with real services and faults.

See tests/lab/README.md for the API with examples. Everything here needs root
on Linux; :func:`lab_unavailable_reason` says why the lab cannot run.

Layout of a lab (namespace ``pplab<pid>x<n>``):

- ``lo`` up; a veth pair with both ends inside the namespace, one end named
  ``wlan0`` with 192.0.2.10/24 and the default route via 192.0.2.1 (nobody
  answers there: nothing is routed out of the namespace).
- Services on loopback addresses (all of 127/8 is local on ``lo``), one range
  per kind so that a fault can target one service: see ``_RANGES``.
- ``/etc/netns/NAME/resolv.conf`` names the honest lab resolver, so
  ``socket.getaddrinfo`` inside the namespace goes through the lab DNS.
"""

from __future__ import annotations

import contextlib
import datetime as dt
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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from payprobe.engine.config import merge

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

_live_labs: set[Lab] = set()
_live_lock = threading.Lock()
_counter = iter(range(1, 1_000_000))


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


def _run(argv: Sequence[str], *, check: bool = True, timeout: float = 10.0,
         input: str | None = None) -> subprocess.CompletedProcess[str]:  # noqa: A002
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
    out = _run(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def netns_pids(name: str) -> list[int]:
    out = _run(["ip", "netns", "pids", name], check=False).stdout
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
            _run(["ip", "netns", "del", name], check=False)
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


# ------------------------------------------------------------------ results


@dataclass
class Result:
    """What ``lab.payprobe(...)`` returns."""
    returncode: int
    report: dict[str, Any] | None
    stdout: str
    stderr: str
    argv: list[str]

    def check(self, name: str) -> dict[str, Any]:
        """The result of one check in the report (raises KeyError if absent)."""
        assert self.report is not None, f"no JSON report; stderr:\n{self.stderr}"
        for item in self.report.get("checks", []):
            if item.get("name") == name:
                return item
        raise KeyError(name)


@dataclass
class Proxy:
    address: str
    port: int
    user: str | None
    password: str | None

    @property
    def url(self) -> str:
        cred = f"{self.user}:{self.password}@" if self.user else ""
        return f"http://{cred}{self.address}:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """Proxy variables as apps see them, credentials included."""
        return {"HTTP_PROXY": self.url, "HTTPS_PROXY": self.url,
                "http_proxy": self.url, "https_proxy": self.url}


@dataclass
class Fault:
    """One installed fault; ``remove()`` undoes it (namespace deletion does too)."""
    description: str
    undo: list[list[str]] = field(default_factory=list)
    procs: list[subprocess.Popen[str]] = field(default_factory=list)
    lab: Lab | None = None

    def remove(self) -> None:
        for argv in self.undo:
            _run(argv, check=False)
        if self.lab is not None:
            for proc in self.procs:
                self.lab._stop_proc(proc)
        self.undo.clear()


# Recorded termux-api answers (Android 13, no location permission: the SSID and
# BSSID are placeholders). Tests override any key through lab.phone(...).
TERMUX_WIFI = {
    "bssid": "02:00:00:00:00:00", "frequency_mhz": 2437, "ip": "192.168.43.117",
    "link_speed_mbps": 6, "mac_address": "02:00:00:00:00:00", "network_id": -1,
    "rssi": -86, "ssid": "<unknown ssid>", "ssid_hidden": True, "supplicant_state": "COMPLETED",
}
TERMUX_BATTERY = {
    "present": True, "technology": "Li-poly", "health": "GOOD", "plugged": "UNPLUGGED",
    "status": "DISCHARGING", "temperature": 31.4, "voltage": 3512, "current": -412000,
    "current_average": -398000, "percentage": 6, "level": 6, "scale": 100,
    "charge_counter": 251000, "energy": None, "cycle": 312,
}
TERMUX_TELEPHONY = {
    "data_enabled": "true", "data_activity": "none", "data_state": "connected",
    "device_id": None, "device_software_version": "01", "phone_count": 2, "phone_type": "gsm",
    "network_operator": "46000", "network_operator_name": "CHINA MOBILE",
    "network_country_iso": "cn", "network_type": "lte", "network_roaming": False,
    "sim_country_iso": "cn", "sim_operator": "46000", "sim_operator_name": "CMCC",
    "sim_serial_number": None, "sim_subscriber_id": None, "sim_state": "ready",
}
TERMUX_CELLINFO = [
    {"type": "lte", "registered": True, "asu": 8, "dbm": -124, "level": 1, "ci": 0,
     "pci": 301, "tac": 0, "mcc": 460, "mnc": 0, "rsrp": -124, "rsrq": -17, "rssi": -89,
     "rssnr": -3, "timing_advance": 2147483647},
]


@dataclass
class Phone:
    """What lab.phone() set up: Termux/Android as near as this machine allows."""
    prefix: Path
    home: Path
    env: dict[str, str]
    hide_resolv_conf: bool
    etc_view: Path | None


# ------------------------------------------------------------------ the lab


class Lab:
    """One network namespace with services; use as a context manager or call close()."""

    def __init__(self, base_dir: str | Path | None = None, *, services: bool = True) -> None:
        reason = lab_unavailable_reason()
        if reason:
            raise LabError(reason)
        self.name = f"{NETNS_PREFIX}{os.getpid()}x{next(_counter)}"
        self.dir = Path(tempfile.mkdtemp(prefix=f"{self.name}-", dir=base_dir))
        self.netns_etc = Path("/etc/netns") / self.name
        self._procs: list[subprocess.Popen[str]] = []
        self._alloc: dict[str, int] = {}
        self._hosts: dict[str, str] = {}        # honest answers: name -> address
        self._dnsmasq: list[tuple[subprocess.Popen[str], str]] = []
        self._queue_nums = iter(range(100, 1000))
        self._phone: Phone | None = None
        self._closed = False
        self._system_resolver = ""
        self._world_shift_s = 0.0
        self._rogue: tuple[str, str] | None = None
        self.resolvers: list[tuple[str, str]] = []     # (name, address) for write_config
        self.ntp_servers: list[str] = []
        self.start_seconds = 0.0
        with _live_lock:
            _live_labs.add(self)
        try:
            started = time.monotonic()
            self._create_namespace()
            if services:
                self._start_base_services()
            self.start_seconds = time.monotonic() - started
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Lab {self.name}>"

    # -------------------------------------------------------------- namespace

    def _create_namespace(self) -> None:
        _run(["ip", "netns", "add", self.name])
        # One `ip -batch` for all link setup: one process instead of eight.
        batch = "\n".join([
            "link set lo up",
            "link add wlan0 type veth peer name wlan0-ap",
            f"addr add {WLAN_ADDRESS}/24 dev wlan0",
            "link set wlan0 up",
            "link set wlan0-ap up",
            f"route add default via {GATEWAY_ADDRESS} dev wlan0 onlink",
        ]) + "\n"
        _run(["ip", "-n", self.name, "-batch", "-"], input=batch)
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
            _run(["ip", "netns", "del", self.name], check=False)
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

    # -------------------------------------------------------------- processes

    def _ns_argv(self, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def _spawn(self, argv: Sequence[str], log_name: str, *, ready_line: bool = False,
               env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        log = open(self.dir / f"{log_name}.log", "w")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen(
            self._ns_argv(argv), stdout=subprocess.PIPE if ready_line else log, stderr=log,
            stdin=subprocess.DEVNULL, text=True, start_new_session=True, cwd=REPO_ROOT,
            env=env if env is not None else self._clean_env())
        log.close()
        self._procs.append(proc)
        return proc

    def _wait_ready_line(self, proc: subprocess.Popen[str], what: str) -> None:
        assert proc.stdout is not None
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(proc.stdout.readline()), daemon=True)
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

    def _clean_env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        # The runner's own proxy settings must not leak into the lab.
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        env.pop("PYTEST_CURRENT_TEST", None)
        if extra:
            env.update(extra)
        return env

    def alloc(self, kind: str) -> str:
        """A fresh 127.x address from the range of ``kind`` (dns, ntp, tls, http, ...)."""
        n = self._alloc.get(kind, 0) + 1
        self._alloc[kind] = n
        return f"{_RANGES[kind]}{n}"

    # -------------------------------------------------------------- base services

    def _start_base_services(self) -> None:
        from tests.lab import certs

        self.ca = certs.LabCA(self.dir / "pki")
        self.ca_file = self.ca.ca_file
        listeners: list[dict[str, Any]] = []
        for host in PAYMENT_HOSTS + DATE_HOSTS:
            addr = self.alloc("tls")
            self._hosts[host] = addr
            listeners.append(self._tls_spec(addr, 443, "valid", host, 0.0, mode="ok"))
        for host in CHECK_HOSTS:
            addr = self.alloc("http")
            self._hosts[host] = addr
            listeners.append({"app": "http", "addr": addr, "port": 80, "mode": "204"})
        ntp_addr = self.alloc("ntp")
        for host in NTP_HOSTS:
            self._hosts[host] = ntp_addr
        self._base_listeners = listeners
        server = self._start_server(listeners, "base-services", wait=False)
        honest1 = self._start_dnsmasq("honest", wait=False)
        honest2 = self._start_dnsmasq("honest", wait=False)
        _, ntp_proc = self._start_chronyd(0.0, address=ntp_addr, wait=False)
        self.resolvers = [("Lab DNS", honest1[1]), ("Lab DNS 2", honest2[1])]
        self.ntp_servers = list(NTP_HOSTS)
        self.set_system_resolver(honest1[1])
        # Everything started at once; now wait for each.
        self._wait_ready_line(server, "base-services")
        self._base_server = server
        for proc, addr in (honest1, honest2):
            self._wait_bound(proc, f"dnsmasq-{addr}", [("udp", addr, 53), ("tcp", addr, 53)])
        self._wait_bound(ntp_proc, f"chronyd-{ntp_addr}", [("udp", ntp_addr, 123)])

    def _tls_spec(self, addr: str, port: int, kind: str, hostname: str, shift_s: float,
                  **http: Any) -> dict[str, Any]:
        cert, key, versions = self.ca.server_files(kind, hostname, shift_s)
        return {"app": "http", "addr": addr, "port": port, "date_shift_s": shift_s,
                "tls": {"cert": str(cert), "key": str(key), "versions": versions}, **http}

    def _start_server(self, listeners: list[dict[str, Any]], what: str, *, wait: bool = True) -> subprocess.Popen[str]:
        path = self.dir / f"{what}.json"
        path.write_text(json.dumps({"listeners": listeners}))
        proc = self._spawn([sys.executable, "-m", "tests.lab.server", str(path)], what, ready_line=True)
        if wait:
            self._wait_ready_line(proc, what)
        return proc

    # -------------------------------------------------------------- DNS

    def _hosts_for(self, kind: str) -> tuple[dict[str, str], list[str]]:
        """(hosts-file answers, extra dnsmasq args) for one kind of resolver."""
        names = dict(self._hosts)
        if kind == "honest":
            # Every name the lab does not know is NXDOMAIN, as for an honest resolver
            # answering for the whole internet.
            return names, ["--address=/#/"]
        if kind == "hijack":
            rogue, ad = self._rogue_servers()
            for host in PAYMENT_HOSTS:
                names[host] = rogue
            return names, [f"--address=/#/{ad}"]   # NXDOMAIN rewritten to an ad page
        if kind == "fakeip":
            # Clash/Surge-style fake-IP: every name gets its own 198.18.0.0/15 address.
            fake = {host: f"198.18.{i // 250}.{i % 250 + 1}" for i, host in enumerate(sorted(names))}
            return fake, ["--address=/#/198.19.255.254"]
        raise ValueError(f"unknown dnsmasq kind {kind!r}")

    def _start_dnsmasq(self, kind: str, *, address: str | None = None,
                       wait: bool = True) -> tuple[subprocess.Popen[str], str]:
        addr = address or self.alloc("dns")
        hosts_file = self.dir / f"hosts-{addr}"
        names, extra = self._hosts_for(kind)
        # Written before dnsmasq starts: a SIGHUP sent before it has exec'd would be lost.
        hosts_file.write_text("".join(f"{a} {n}\n" for n, a in sorted(names.items())))
        argv = ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                f"--addn-hosts={hosts_file}", f"--listen-address={addr}", "--bind-interfaces",
                "--port=53", "--pid-file=", "--user=root", "--group=root", "--local-ttl=0",
                "--cache-size=0", *extra]
        proc = self._spawn(argv, f"dnsmasq-{addr}")
        self._dnsmasq.append((proc, kind))
        proc.lab_hosts_file = hosts_file  # type: ignore[attr-defined]
        if wait:
            self._wait_bound(proc, f"dnsmasq-{addr}", [("udp", addr, 53), ("tcp", addr, 53)])
        return proc, addr

    def _write_hosts(self) -> None:
        for proc, kind in self._dnsmasq:
            names, _ = self._hosts_for(kind)
            path: Path = proc.lab_hosts_file  # type: ignore[attr-defined]
            text = "".join(f"{addr} {name}\n" for name, addr in sorted(names.items()))
            if not path.exists() or path.read_text() != text:
                path.write_text(text)
                if proc.poll() is None and _proc_started(proc):
                    # dnsmasq re-reads --addn-hosts files on SIGHUP.
                    os.kill(proc.pid, signal.SIGHUP)

    def add_host(self, name: str, address: str) -> None:
        """Make every lab resolver answer ``name`` (honestly: ``address``)."""
        self._hosts[name] = address
        self._write_hosts()
        time.sleep(0.02)  # dnsmasq handles SIGHUP asynchronously

    def host_address(self, name: str) -> str:
        """The address the honest lab DNS gives for ``name``."""
        return self._hosts[name]

    def _rogue_servers(self) -> tuple[str, str]:
        if self._rogue is None:
            rogue, ad = self.alloc("rogue"), self.alloc("rogue")
            # The rogue server presents the payment names with a certificate from
            # a CA nobody trusts, like a hijacking middlebox would.
            listeners = [self._tls_spec(rogue, 443, "mitm", ",".join(PAYMENT_HOSTS), 0.0, mode="ok"),
                         {"app": "http", "addr": rogue, "port": 80, "mode": "ad"},
                         {"app": "http", "addr": ad, "port": 80, "mode": "ad"},
                         self._tls_spec(ad, 443, "mitm", "ad.lab.example", 0.0, mode="ad")]
            self._start_server(listeners, f"rogue-{rogue}")
            self._rogue = (rogue, ad)
        return self._rogue

    @property
    def rogue_address(self) -> str:
        """Where the hijacking resolver sends payment names."""
        return self._rogue_servers()[0]

    @property
    def ad_address(self) -> str:
        """Where the hijacking resolver sends names that do not exist."""
        return self._rogue_servers()[1]

    def dns(self, kind: str = "honest", *, address: str | None = None) -> str:
        """Start one more resolver and return its address (port 53).

        ``honest``, ``hijack`` (payment names -> :attr:`rogue_address`, NXDOMAIN ->
        :attr:`ad_address`), ``fakeip`` (198.18.0.0/15), ``silent`` (never
        answers) or ``servfail``.
        """
        if kind in ("silent", "servfail"):
            addr = address or self.alloc("dns")
            app = "dns_silent" if kind == "silent" else "dns_servfail"
            self._start_server([{"app": app, "addr": addr, "port": 53}], f"dns-{kind}-{addr}")
            return addr
        return self._start_dnsmasq(kind, address=address)[1]

    def set_system_resolver(self, address: str, *, port: int = 53) -> None:
        """What getaddrinfo inside the namespace uses (/etc/netns/NAME/resolv.conf)."""
        self._system_resolver = address
        # glibc only talks to port 53; a resolver elsewhere needs DNAT.
        lines = [f"nameserver {address}", "options timeout:1 attempts:1"]
        if port != 53:
            raise ValueError("glibc resolvers listen on port 53; use intercept_dns for others")
        (self.netns_etc / "resolv.conf").write_text("\n".join(lines) + "\n")

    @property
    def system_resolver(self) -> str:
        return self._system_resolver

    def intercept_dns(self, victim: str, to: str) -> Fault:
        """Transparent interception: DNS (udp+tcp 53) bound for ``victim`` goes to ``to``."""
        fault = Fault(f"DNAT dns {victim} -> {to}", lab=self)
        for proto in ("udp", "tcp"):
            rule = ["OUTPUT", "-p", proto, "-d", victim, "--dport", "53",
                    "-j", "DNAT", "--to-destination", f"{to}:53"]
            self._iptables("nat", rule, fault)
        return fault

    # -------------------------------------------------------------- NTP / clock

    def _start_chronyd(self, skew_s: float, *, address: str | None = None,
                       wait: bool = True) -> tuple[str, subprocess.Popen[str]]:
        addr = address or self.alloc("ntp")
        conf = self.dir / f"chrony-{addr}.conf"
        conf.write_text("\n".join([
            f"bindaddress {addr}", "port 123", "cmdport 0", "local stratum 2", "allow all",
            f"driftfile {self.dir}/chrony-{addr}.drift", f"pidfile {self.dir}/chrony-{addr}.pid",
        ]) + "\n")
        argv = ["chronyd", "-f", str(conf), "-d", "-x", "-u", "root"]
        if skew_s:
            # chronyd (C, no Python threads) runs fine under libfaketime; the offset
            # is in seconds so that any skew (+37.5 s, -3 h, +400 d) is one format.
            argv = ["faketime", "-f", f"{skew_s:+.6f}s", *argv]
        proc = self._spawn(argv, f"chronyd-{addr}")
        if wait:
            self._wait_bound(proc, f"chronyd-{addr}", [("udp", addr, 123)])
        return addr, proc

    def ntp(self, skew_s: float = 0.0, *, name: str | None = None) -> str:
        """Start chronyd serving time shifted by ``skew_s`` seconds; return its address.

        With ``name``, the lab DNS also answers that name with it.
        """
        addr, _ = self._start_chronyd(skew_s)
        if name:
            self.add_host(name, addr)
        return addr

    def move_world(self, shift_s: float) -> None:
        """Make the whole world's time ``shift_s`` ahead of the device's clock.

        libfaketime around Python is unusable, so the device keeps the true time
        and everything else moves: the NTP names answer a chronyd shifted by
        ``shift_s``; HTTP Date headers are shifted; every TLS server gets a
        certificate valid only in the shifted time. A device whose clock is
        behind (shift_s > 0) then sees "not yet valid"; ahead (< 0), "expired".
        """
        self._world_shift_s = shift_s
        ntp_addr = self.ntp(shift_s)
        for host in NTP_HOSTS:
            self._hosts[host] = ntp_addr
        self._write_hosts()
        listeners = []
        for spec in self._base_listeners:
            spec = dict(spec)
            spec["date_shift_s"] = shift_s
            if spec.get("tls"):
                host = next(h for h, a in self._hosts.items() if a == spec["addr"])
                spec.update(self._tls_spec(spec["addr"], spec["port"], "shifted", host, shift_s,
                                           mode=spec.get("mode", "ok")))
            listeners.append(spec)
        self._stop_proc(self._base_server)
        self._base_server = self._start_server(listeners, "base-services-moved")
        time.sleep(0.02)  # let the SIGHUP to dnsmasq land

    @property
    def world_shift_s(self) -> float:
        return self._world_shift_s

    # -------------------------------------------------------------- TLS / HTTP

    def tls_server(self, kind: str = "valid", *, hostname: str = "pay.lab.example", shift_s: float = 0.0,
                   address: str | None = None, port: int = 443, mode: str = "ok",
                   delay_ms: float = 0.0) -> str:
        """Start an HTTPS server; return its address. The lab DNS answers ``hostname`` with it.

        kind: valid | expired | not_yet_valid | wrong_host | mitm | tls10 | shifted.
        """
        addr = address or self.alloc("tls")
        spec = self._tls_spec(addr, port, kind, hostname, shift_s, mode=mode, delay_ms=delay_ms)
        self._start_server([spec], f"tls-{kind}-{addr}")
        if hostname not in self._hosts:
            self.add_host(hostname, addr)
        return addr

    def http_server(self, kind: str = "204", *, address: str | None = None, port: int = 80,
                    delay_ms: float = 0.0, shift_s: float = 0.0, hostname: str | None = None,
                    location: str = "http://portal.lab.example/login") -> str:
        """Start a plain HTTP server; return its address.

        kind: 204 | ok | portal302 | slow503 (503 after ``delay_ms``, default 2 s) |
        silent (accepts, never speaks) | date_shift (200, Date shifted by ``shift_s``).
        """
        addr = address or self.alloc("http")
        if kind == "silent":
            spec: dict[str, Any] = {"app": "silent", "addr": addr, "port": port}
        else:
            mode = {"date_shift": "ok"}.get(kind, kind)
            if kind == "slow503" and not delay_ms:
                delay_ms = 2000.0
            spec = {"app": "http", "addr": addr, "port": port, "mode": mode, "delay_ms": delay_ms,
                    "date_shift_s": shift_s, "location": location}
        self._start_server([spec], f"http-{kind}-{addr}")
        if hostname:
            self.add_host(hostname, addr)
        return addr

    def speedtest_mini(self) -> str:
        """A Speedtest Mini server plus the speedtest.net config emulation; returns its URL.

        ``speedtest-cli --mini URL`` and payprobe's bandwidth check run end to end.
        """
        addr = self.alloc("misc")
        self._start_server([{"app": "http", "addr": addr, "port": 80, "mode": "speedtest"}],
                           f"speedtest-{addr}")
        for host in (*SPEEDTEST_HOSTS, "speedtest.lab.example"):
            self._hosts[host] = addr
        self._write_hosts()
        time.sleep(0.02)
        return "http://speedtest.lab.example/"

    # -------------------------------------------------------------- proxy / VPN

    def proxy(self, *, address: str = "127.0.0.1", port: int = 7890, user: str | None = "labuser",
              password: str | None = "lab-s3cret") -> Proxy:
        """tinyproxy on ``address:port`` (default a common local proxy port), with basic auth."""
        conf = self.dir / f"tinyproxy-{address}-{port}.conf"
        lines = [f"Port {port}", f"Listen {address}", "Timeout 30", "MaxClients 50",
                 "Allow 127.0.0.0/8", "ConnectPort 443", "ConnectPort 80"]
        if user:
            lines.append(f"BasicAuth {user} {password}")
        conf.write_text("\n".join(lines) + "\n")
        proc = self._spawn(["tinyproxy", "-d", "-c", str(conf)], f"tinyproxy-{port}")
        self._wait_bound(proc, f"tinyproxy-{port}", [("tcp", address, port)])
        return Proxy(address, port, user, password)

    def vpn(self, *, name: str = "tun0", address: str = "198.51.100.2/24", split: bool = False) -> Fault:
        """A tun device that takes over the default route (two /1 routes with ``split``).

        A process holds the tun open so it has a carrier, as under a VPN app;
        it never reads, so traffic routed into it disappears.
        """
        self.exec(["ip", "tuntap", "add", name, "mode", "tun"], check=True)
        holder = self._spawn([sys.executable, "-c", _TUN_HOLDER, name], f"vpn-{name}", ready_line=True)
        self._wait_ready_line(holder, f"vpn-{name}")
        cmds = [["addr", "add", address, "dev", name], ["link", "set", name, "up"]]
        if split:
            cmds += [["route", "add", "0.0.0.0/1", "dev", name], ["route", "add", "128.0.0.0/1", "dev", name]]
        else:
            cmds += [["route", "replace", "default", "dev", name]]
        for cmd in cmds:
            _run(["ip", "-n", self.name, *cmd])
        return Fault(f"vpn {name}", undo=[["ip", "-n", self.name, "link", "del", name]], procs=[holder], lab=self)

    # -------------------------------------------------------------- faults

    def _iptables(self, table: str, rule: list[str], fault: Fault) -> None:
        _run(self._ns_argv([IPTABLES, "-w", "-t", table, "-I", *rule]))
        fault.undo.insert(0, self._ns_argv([IPTABLES, "-w", "-t", table, "-D", *rule]))

    def delay(self, address: str, ms: float, *, proto: str = "tcp", port: int | None = None) -> Fault:
        """Hold packets to ``address`` for exactly ``ms`` (NFQUEUE + netfilterqueue).

        proto tcp: only connection-opening SYNs (so the connect time grows by ms);
        udp: each datagram to ``port`` (53 by default; 123 for NTP).
        """
        qnum = next(self._queue_nums)
        holder = self._spawn([sys.executable, "-m", "tests.lab.nfqdelay", str(qnum), str(ms)],
                             f"nfq-{qnum}", ready_line=True)
        self._wait_ready_line(holder, f"nfq-{qnum}")
        fault = Fault(f"delay {address} {proto} {ms} ms", procs=[holder], lab=self)
        match = ["-p", proto, "-d", address]
        if proto == "tcp":
            match += ["--syn"] + (["--dport", str(port)] if port else [])
        else:
            match += ["--dport", str(port or 53)]
        self._iptables("filter", ["OUTPUT", *match, "-j", "NFQUEUE", "--queue-num", str(qnum)], fault)
        return fault

    def loss(self, address: str, percent: float, *, proto: str | None = None) -> Fault:
        """Drop ``percent`` % of packets to ``address`` at random (iptables statistic)."""
        fault = Fault(f"loss {address} {percent}%", lab=self)
        match = (["-p", proto] if proto else []) + ["-d", address]
        # INPUT, not OUTPUT: see blackhole().
        self._iptables("filter", ["INPUT", *match, "-m", "statistic", "--mode", "random",
                                  "--probability", f"{percent / 100.0:.6f}", "-j", "DROP"], fault)
        return fault

    def blackhole(self, address: str, *, proto: str | None = None, port: int | None = None) -> Fault:
        """Drop every packet to ``address``: connects and queries time out.

        With ``proto``/``port`` only that traffic goes (``proto="udp", port=123``:
        NTP blocked while the same address still answers everything else).
        """
        if port is not None and proto is None:
            raise ValueError("blackhole(port=...) needs proto='tcp' or 'udp'")
        match = (["-p", proto] if proto else []) + ["-d", address] + (["--dport", str(port)] if port else [])
        where = address + (f" {proto}" if proto else "") + (f"/{port}" if port else "")
        fault = Fault(f"blackhole {where}", lab=self)
        # Dropped on arrival (INPUT), after the sender's kernel has sent it, as a
        # router upstream would: a DROP in OUTPUT makes sendto() fail at once with
        # EPERM (UDP, ICMP) and makes TCP resend at once instead of after its RTO.
        self._iptables("filter", ["INPUT", *match, "-j", "DROP"], fault)
        return fault

    def reject(self, address: str) -> Fault:
        """Refuse everything to ``address``: TCP RST, ICMP port unreachable for the rest."""
        fault = Fault(f"reject {address}", lab=self)
        self._iptables("filter", ["OUTPUT", "-d", address, "!", "-p", "tcp", "-j", "REJECT",
                                  "--reject-with", "icmp-port-unreachable"], fault)
        self._iptables("filter", ["OUTPUT", "-d", address, "-p", "tcp", "-j", "REJECT",
                                  "--reject-with", "tcp-reset"], fault)
        return fault

    def rate_limit(self, bits_per_second: float, *, dev: str = "lo") -> Fault:
        """Token-bucket rate limit (tbf) on ``dev``; lab services live on ``lo``.

        Both directions of loopback traffic share the one qdisc, as up- and
        download share a radio link.
        """
        bytes_per_s = bits_per_second / 8.0
        # The bucket must hold a whole loopback GSO packet (64 KiB) or tbf drops it.
        # A 300 ms queue avoids tail drops, whose 200 ms retransmit stalls on
        # loopback would make the link look slower than the limit.
        burst = int(max(70_000, bytes_per_s * 0.02))
        _run(self._ns_argv(["tc", "qdisc", "replace", "dev", dev, "root", "tbf",
                            "rate", f"{int(bits_per_second)}bit", "burst", str(burst), "latency", "300ms"]))
        # Tools that time their writes (speedtest-cli's upload) count what sits in
        # the socket send buffer as sent; at 4 MiB per socket (the default max)
        # that is seconds of data at phone rates. 128 KiB, like a phone's
        # cellular buffers, keeps what they report within a few % of the limit.
        old_wmem = self.exec(["sysctl", "-n", "net.ipv4.tcp_wmem"], raw=True, check=True).stdout.split()
        self.exec(["sysctl", "-qw", "net.ipv4.tcp_wmem=4096 16384 131072"], raw=True, check=True)
        return Fault(f"rate {bits_per_second} bit/s on {dev}",
                     undo=[self._ns_argv(["tc", "qdisc", "del", "dev", dev, "root"]),
                           self._ns_argv(["sysctl", "-qw", "net.ipv4.tcp_wmem=" + " ".join(old_wmem)])],
                     lab=self)

    def offline(self) -> Fault:
        """No routes, no resolver, Wi-Fi down; lab services answer "network unreachable"."""
        fault = Fault("offline", lab=self)
        _run(["ip", "-n", self.name, "route", "flush", "table", "main"])
        _run(["ip", "-n", self.name, "link", "set", "wlan0", "down"])
        (self.netns_etc / "resolv.conf").write_text("# lab: offline, no resolver\n")
        # 127.0.0.1 stays (local apps such as a proxy); the lab's "internet" goes.
        self._iptables("filter", ["OUTPUT", "-d", "127.0.0.0/8", "-j", "REJECT",
                                  "--reject-with", "icmp-net-unreachable"], fault)
        self._iptables("filter", ["OUTPUT", "-d", "127.0.0.1", "-j", "ACCEPT"], fault)
        return fault

    # -------------------------------------------------------------- phone

    def phone(self, *, wifi: dict[str, Any] | None = None, battery: dict[str, Any] | None = None,
              telephony: dict[str, Any] | None = None, cellinfo: list[dict[str, Any]] | None = None,
              ping_group_range: bool = False, hide_resolv_conf: bool = True,
              termux_api: bool = True) -> Phone:
        """From now on lab.exec/lab.payprobe run as on a Termux phone.

        TERMUX_VERSION/PREFIX set; $PREFIX/etc/resolv.conf names a resolver that
        cannot be reached; /etc/resolv.conf hidden (private mount namespace), so
        glibc falls back to 127.0.0.1, where DNAT sends queries to the system
        resolver; termux-api scripts print the recorded JSON above (merged with
        the given keys); unprivileged ICMP on or off.
        """
        prefix = self.dir / "data/data/com.termux/files/usr"
        home = self.dir / "data/data/com.termux/files/home"
        (prefix / "bin").mkdir(parents=True, exist_ok=True)
        (prefix / "etc").mkdir(parents=True, exist_ok=True)
        home.mkdir(parents=True, exist_ok=True)
        (prefix / "etc/resolv.conf").write_text(f"nameserver {UNREACHABLE_RESOLVER}\n")
        if termux_api:
            answers = {
                "termux-wifi-connectioninfo": {**TERMUX_WIFI, **(wifi or {})},
                "termux-battery-status": {**TERMUX_BATTERY, **(battery or {})},
                "termux-telephony-deviceinfo": {**TERMUX_TELEPHONY, **(telephony or {})},
                "termux-telephony-cellinfo": cellinfo if cellinfo is not None else TERMUX_CELLINFO,
            }
            for command, answer in answers.items():
                data = self.dir / f"{command}.json"
                data.write_text(json.dumps(answer, indent=2) + "\n")
                script = prefix / "bin" / command
                script.write_text(f"#!/bin/sh\ncat '{data}'\n")
                script.chmod(0o755)
        self.exec(["sysctl", "-qw", f"net.ipv4.ping_group_range={'0 2147483647' if ping_group_range else '1 0'}"],
                  check=True, raw=True)
        etc_view = None
        if hide_resolv_conf:
            etc_view = self._etc_without_resolv_conf()
            if self._system_resolver:
                fault = Fault("phone dns fallback", lab=self)
                for proto in ("udp", "tcp"):
                    self._iptables("nat", ["OUTPUT", "-p", proto, "-d", "127.0.0.1", "--dport", "53", "-j",
                                           "DNAT", "--to-destination", f"{self._system_resolver}:53"], fault)
        env = {"TERMUX_VERSION": "0.118.1", "PREFIX": str(prefix), "HOME": str(home),
               "ANDROID_ROOT": "/system", "ANDROID_DATA": "/data", "TMPDIR": str(prefix / "tmp"),
               "PATH": f"{prefix / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
        (prefix / "tmp").mkdir(exist_ok=True)
        self._phone = Phone(prefix, home, env, hide_resolv_conf, etc_view)
        return self._phone

    def _etc_without_resolv_conf(self) -> Path:
        # A copy of /etc made of symlinks into the real one (bind-mounted at
        # REAL), minus resolv.conf; mounted over /etc in a private mount namespace.
        view = self.dir / "etc-view"
        real = self.dir / "etc-real"
        view.mkdir(exist_ok=True)
        real.mkdir(exist_ok=True)
        for entry in os.listdir("/etc"):
            if entry != "resolv.conf":
                with contextlib.suppress(FileExistsError):
                    (view / entry).symlink_to(real / entry)
        return view

    # -------------------------------------------------------------- running things

    def _wrap(self, argv: Sequence[str], raw: bool) -> list[str]:
        if raw or self._phone is None or self._phone.etc_view is None:
            return self._ns_argv(argv)
        real = self.dir / "etc-real"
        script = (f'mount --bind /etc "{real}" && mount --bind "{self._phone.etc_view}" /etc '
                  '&& exec "$@"')
        return self._ns_argv(["unshare", "--mount", "--propagation", "private",
                              "sh", "-c", script, "lab-phone", *argv])

    def exec(self, argv: Sequence[str], *, timeout: float = 30.0, env: dict[str, str] | None = None,
             check: bool = False, input: str | None = None, raw: bool = False,  # noqa: A002
             ) -> subprocess.CompletedProcess[str]:
        """Run a command inside the namespace (as the phone, after lab.phone())."""
        full_env = self._clean_env(self._phone.env if (self._phone and not raw) else None)
        if env:
            full_env.update(env)
        proc = subprocess.run(self._wrap(argv, raw), capture_output=True, text=True, timeout=timeout,
                              env=full_env, input=input, cwd=REPO_ROOT)
        if check and proc.returncode != 0:
            raise LabError(f"{' '.join(argv)}: exit {proc.returncode}: {proc.stderr.strip()[-800:]}")
        return proc

    def payprobe(self, *args: str, config: str | Path | None = None, env: dict[str, str] | None = None,
                 timeout: float = 60.0) -> Result:
        """``python -m payprobe ARGS`` inside the namespace; JSON report on stdout parsed.

        For ``run`` without ``--format``/``--output`` it adds ``--format json --output -``.
        """
        argv = [sys.executable, "-m", "payprobe", *args]
        if args and args[0] == "run":
            if config is not None:
                argv += ["--config", str(config)]
            if "--format" not in args:
                argv += ["--format", "json"]
            if "--output" not in args:
                argv += ["--output", "-"]
        elif config is not None:
            argv += ["--config", str(config)]
        data = self.dir / "payprobe-data"
        base_env = {"PAYPROBE_DATA_DIR": str(data), "PAYPROBE_CONFIG_DIR": str(self.dir / "payprobe-config")}
        proc = self.exec(argv, timeout=timeout, env={**base_env, **(env or {})})
        report: dict[str, Any] | None
        try:
            report = json.loads(proc.stdout)
        except ValueError:
            report = None
        return Result(proc.returncode, report, proc.stdout, proc.stderr, argv)

    def config_dict(self, **overrides: Any) -> dict[str, Any]:
        """The lab's payprobe config as a dict, with ``overrides`` merged in (tables key by key)."""
        base: dict[str, Any] = {
            "deadline_s": 15.0,
            "ca_file": str(self.ca_file),
            "connectivity": {"check_urls": [f"http://{h}/generate_204" for h in CHECK_HOSTS]},
            "dns": {"resolvers": [{"name": n, "address": a} for n, a in self.resolvers]},
            "clock": {"ntp_servers": list(self.ntp_servers),
                      "http_date_urls": [f"https://{h}/" for h in DATE_HOSTS]},
            "proxy": {"local_ports": [7890, 7891, 7897, 10808, 10809, 1080, 9090]},
        }
        return merge(base, overrides)

    def write_config(self, path: str | Path | None = None, **overrides: Any) -> Path:
        """Write a payprobe TOML pointing everything at the lab; return its path."""
        target = Path(path) if path else self.dir / f"config-{next(_counter)}.toml"
        target.write_text(to_toml(self.config_dict(**overrides)))
        return target


_TUN_HOLDER = r"""
import fcntl, os, struct, sys, signal
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", sys.argv[1].encode(), 0x0001 | 0x1000))
print("READY", flush=True)
signal.sigwait({signal.SIGTERM, signal.SIGINT})
"""


# ------------------------------------------------------------------ helpers


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


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def to_toml(data: dict[str, Any]) -> str:
    """A small TOML writer for config dicts (tables, arrays of tables, inline values)."""
    top, tables, arrays = [], [], []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            arrays.append((key, value))
        else:
            top.append(f"{json.dumps(key)} = {_toml_value(value)}")
    lines = top
    for key, table in tables:
        lines.append(f"\n[{json.dumps(key)}]")
        lines += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in table.items()]
    for key, items in arrays:
        for item in items:
            lines.append(f"\n[[{json.dumps(key)}]]")
            lines += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


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


def _proc_started(proc: subprocess.Popen[str]) -> bool:
    # Before `ip netns exec` has exec'd dnsmasq, a SIGHUP would kill the wrapper.
    try:
        return Path(f"/proc/{proc.pid}/exe").resolve().name == "dnsmasq"
    except OSError:
        return False


@contextlib.contextmanager
def running_lab(base_dir: str | Path | None = None, **kwargs: Any) -> Iterator[Lab]:
    lab = Lab(base_dir, **kwargs)
    try:
        yield lab
    finally:
        lab.close()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
