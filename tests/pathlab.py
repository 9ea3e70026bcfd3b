"""The multi-hop path lab: phone -> Wi-Fi router -> ISP -> provider edge -> server.

Shared by tests/test_lab_path.py (the path check) and tests/test_lab_multihop.py
(MTU black hole, bufferbloat, mtr and tracepath beside payprobe in one chain).

Five network namespaces chained by veth pairs, forwarding on, IPv4 and IPv6,
addresses from the documentation ranges only (inside the namespaces). The
server answers TCP on 443 at eight addresses per family. The check runs in the
phone's namespace (``ip netns exec``, a subprocess that calls the check class).

Loss "at a hop" is injected where a traceroute sees it start: a random drop
(``-m statistic --mode random --probability 0.3``) of the packets arriving at
that hop from the phone's side (raw PREROUTING on its upstream interface), so
the hop's own answers and every hop after it lose them. (A drop in FORWARD
would spare the hop's own "time exceeded" answers and show up from the next
hop on.)

The routers' ICMP rate limit is Linux's own (net.ipv4.icmp_ratelimit). The
loss-location tests switch it off and probe 20 times per hop, fast; the
rate-limit tests keep it (and make one router strict) and use the check's
default pacing.

This file builds its lab itself (not tests/lab/); when it cannot, the tests
skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

PREFIX = "pppath"
IPTABLES = {4: "/usr/sbin/iptables-legacy", 6: "/usr/sbin/ip6tables-legacy"}
ROLES = ("phone", "router", "isp", "edge", "server")
# (left role, its interface, right role, its interface, IPv4 net, left host, right host, IPv6 /64);
# a host number is the last group of both its addresses (192.0.2.129 and 2001:db8:2::129).
LINKS = (
    ("phone", "wlan0", "router", "lan0", "192.0.2.0/25", 2, 1, "2001:db8:1::"),
    ("router", "wan0", "isp", "cust0", "192.0.2.128/25", 130, 129, "2001:db8:2::"),
    ("isp", "up0", "edge", "peer0", "198.51.100.0/24", 1, 2, "2001:db8:3::"),
    ("edge", "srv0", "server", "eth0", "203.0.113.0/24", 1, 10, "2001:db8:4::"),
)
HOPS_V4 = ["192.0.2.1", "192.0.2.129", "198.51.100.2", "203.0.113.10"]
HOPS_V6 = ["2001:db8:1::1", "2001:db8:2::129", "2001:db8:3::2", "2001:db8:4::10"]
SERVER_V4 = [f"203.0.113.{10 + i}" for i in range(8)]
SERVER_V6 = [f"2001:db8:4::{10 + i}" for i in range(8)]
# Where each hop's upstream interface is: a drop there is loss starting at that hop.
INBOUND = {"router": "lan0", "isp": "cust0", "edge": "peer0"}
# Probing fast and often where the routers do not rate-limit: 20 probes per hop in 3 s.
FAST = {"probes": 20, "router_per_s": 50, "router_burst": 10, "window_s": 3.0}

SERVER_SOURCE = r"""
import selectors, socket, sys
sel = selectors.DefaultSelector()
for addr in sys.argv[1:]:
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 443)); s.listen(1024); s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
print("READY", flush=True)
while True:
    for key, _ in sel.select(1.0):
        try:
            conn, _ = key.fileobj.accept()
            conn.close()
        except OSError:
            pass
"""

DRIVER_SOURCE = r"""
import json, sys, threading, time
from payprobe.api import Blackboard, CheckContext
from payprobe.checks.path import PathCheck
from payprobe.settings import Endpoint, PathConfig, Settings
urls, options, deadline_s = json.loads(sys.argv[1]), json.loads(sys.argv[2]), float(sys.argv[3])
settings = Settings(endpoints=[Endpoint(name=f"ep{i}", url=u) for i, u in enumerate(urls)],
                    path=PathConfig(**options))
ctx = CheckContext(name="path", config=settings.section("path"), settings=settings,
                   deadline=time.monotonic() + deadline_s, cancelled=threading.Event(),
                   shared=Blackboard(), host=None, options={})
t0 = time.monotonic()
out = PathCheck().run(ctx)
print(json.dumps({"status": out.resolved_status(), "summary": out.summary,
                  "findings": [f.to_dict() for f in out.findings], "evidence": out.evidence,
                  "elapsed_s": time.monotonic() - t0}))
"""


def _unavailable() -> str | None:
    if not sys.platform.startswith("linux"):
        return f"the path lab needs Linux (this is {sys.platform})"
    if os.geteuid() != 0:
        return "the path lab needs root (network namespaces, iptables)"
    missing = [t for t in ("ip",) if shutil.which(t) is None] + [p for p in IPTABLES.values() if not os.path.exists(p)]
    return f"the path lab needs {', '.join(missing)}" if missing else None


def _sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=20)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {proc.returncode}: {proc.stderr.strip()}")
    return proc


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep_stale() -> None:
    """Namespaces of this file left by a test process that died (kill -9)."""
    for line in _sh("ip", "netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.strip() else ""
        owner = name[len(PREFIX):].split("x", 1)[0]
        if name.startswith(PREFIX) and owner.isdigit() and not _alive(int(owner)):
            for pid in _sh("ip", "netns", "pids", name, check=False).stdout.split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            _sh("ip", "netns", "del", name, check=False)


@dataclass
class PathLab:
    tag: str
    names: dict[str, str] = field(default_factory=dict)
    server: subprocess.Popen[str] | None = None

    def ns(self, role: str) -> str:
        return self.names[role]

    def run_in(self, role: str, *argv: str) -> subprocess.CompletedProcess[str]:
        return _sh("ip", "netns", "exec", self.ns(role), *argv)

    def build(self) -> None:
        for role in ROLES:
            self.names[role] = f"{PREFIX}{self.tag}{role}"
            _sh("ip", "netns", "add", self.names[role])
            # No duplicate address detection: addresses (link-local ones too) work at once.
            self.run_in(role, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
                        "net.ipv6.conf.default.accept_dad=0")
            self.run_in(role, "ip", "link", "set", "lo", "up")
        for left, left_if, right, right_if, net4, left4, right4, net6 in LINKS:
            _sh("ip", "link", "add", left_if, "netns", self.ns(left), "type", "veth",
                "peer", "name", right_if, "netns", self.ns(right))
            base4, bits = net4.split("/")
            stem = base4.rsplit(".", 1)[0]
            for role, iface, host in ((left, left_if, left4), (right, right_if, right4)):
                self.run_in(role, "ip", "addr", "add", f"{stem}.{host}/{bits}", "dev", iface)
                self.run_in(role, "ip", "-6", "addr", "add", f"{net6}{host}/64", "dev", iface, "nodad")
                self.run_in(role, "ip", "link", "set", iface, "up")
        self._route()
        self._serve()
        self._wait_reachable()

    def _wait_reachable(self, limit_s: float = 10.0) -> None:
        """Neighbour discovery done on every link: the phone reaches the server in both families."""
        end = time.monotonic() + limit_s
        pending = [SERVER_V4[0], SERVER_V6[0]]
        while pending:
            probe = _sh("ip", "netns", "exec", self.ns("phone"), sys.executable, "-c",
                        "import socket, sys; socket.create_connection((sys.argv[1], 443), timeout=1).close()",
                        pending[0], check=False)
            if probe.returncode == 0:
                pending.pop(0)
            elif time.monotonic() > end:
                raise RuntimeError(f"the lab's phone cannot reach {pending[0]}: {probe.stderr.strip()[-200:]}")
            else:
                time.sleep(0.1)

    def _route(self) -> None:
        for role in ("router", "isp", "edge"):
            self.run_in(role, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
        for role, v4, v6 in (("phone", "192.0.2.1", "2001:db8:1::1"), ("router", "192.0.2.129", "2001:db8:2::129"),
                             ("isp", "198.51.100.2", "2001:db8:3::2"), ("edge", "198.51.100.1", "2001:db8:3::1"),
                             ("server", "203.0.113.1", "2001:db8:4::1")):
            self.run_in(role, "ip", "route", "add", "default", "via", v4)
            self.run_in(role, "ip", "-6", "route", "add", "default", "via", v6)
        self.run_in("isp", "ip", "route", "add", "192.0.2.0/25", "via", "192.0.2.130")
        self.run_in("isp", "ip", "-6", "route", "add", "2001:db8:1::/64", "via", "2001:db8:2::130")
        # ICMP ping sockets for the icmp method: the phone's own group may use them.
        self.run_in("phone", "sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647")

    def _serve(self) -> None:
        for address in SERVER_V4[1:]:
            self.run_in("server", "ip", "addr", "add", f"{address}/24", "dev", "eth0")
        for address in SERVER_V6[1:]:
            self.run_in("server", "ip", "-6", "addr", "add", f"{address}/64", "dev", "eth0", "nodad")
        self.server = subprocess.Popen(
            ["ip", "netns", "exec", self.ns("server"), sys.executable, "-c", SERVER_SOURCE,
             *SERVER_V4, *SERVER_V6], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.server.stdout is not None
        line = self.server.stdout.readline()
        if line.strip() != "READY":
            raise RuntimeError(f"the lab server did not start: {line!r} {self.server.stderr.read() if self.server.stderr else ''}")

    def icmp_ratelimit(self, role: str, ms: int) -> None:
        self.run_in(role, "sysctl", "-qw", f"net.ipv4.icmp_ratelimit={ms}", f"net.ipv6.icmp.ratelimit={ms}")

    def routers_unlimited(self) -> None:
        for role in ("router", "isp", "edge", "server"):
            self.icmp_ratelimit(role, 0)

    def drop_arriving(self, role: str, probability: float = 0.3) -> None:
        """Random loss of what reaches ``role`` from the phone's side: loss starts at that hop."""
        for version, tool in IPTABLES.items():
            del version
            self.run_in(role, tool, "-t", "raw", "-A", "PREROUTING", "-i", INBOUND[role], "-m", "statistic",
                        "--mode", "random", "--probability", str(probability), "-j", "DROP")

    def trace(self, urls: list[str], deadline_s: float = 20.0, **options: Any) -> dict[str, Any]:
        proc = subprocess.run(
            ["ip", "netns", "exec", self.ns("phone"), sys.executable, "-c", DRIVER_SOURCE,
             json.dumps(urls), json.dumps(options), str(deadline_s)],
            capture_output=True, text=True, timeout=deadline_s + 20)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    def close(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.kill()
            self.server.wait(5)
        for name in self.names.values():
            for pid in _sh("ip", "netns", "pids", name, check=False).stdout.split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            _sh("ip", "netns", "del", name, check=False)


_serial = iter(range(1, 1_000_000))


@contextlib.contextmanager
def open_path_lab() -> Iterator[PathLab]:
    """A built chain, closed afterwards; skips when it cannot run, except under CI=true (fails)."""
    reason = _unavailable()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"path lab unavailable under CI=true: {reason}", pytrace=False)
        pytest.skip(reason)
    _sweep_stale()
    lab = PathLab(f"{os.getpid()}x{next(_serial)}")
    try:
        lab.build()
    except Exception as exc:
        lab.close()
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"path lab could not be built under CI=true: {exc}", pytrace=False)
        raise
    try:
        yield lab
    finally:
        lab.close()
    listed = _sh("ip", "netns", "list", check=False).stdout
    leftovers = [n for n in lab.names.values() if n in listed.split()]
    assert not leftovers, f"namespaces outlived the test: {leftovers}"


def paths(result: dict[str, Any], family: str | None = None) -> list[dict[str, Any]]:
    return [e for e in result["evidence"] if e["what"] == "path" and family in (None, e["ip_family"])]


def loss_findings(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """ip_family -> the data of its path.loss_at_hop finding."""
    found = [f for f in result["findings"] if f["code"] == "path.loss_at_hop"]
    assert all(f["severity"] == "warn" for f in found)
    return {f["data"]["ip_family"]: f["data"] for f in found}


def show(result: dict[str, Any]) -> None:
    for traced in paths(result):
        print(f"\n{traced['ip_family']} {traced['destination']}: "
              + " ".join(f"{h['hop']}:{h['address']}:{h['pattern']}:{h['note']}" for h in traced["hops"]))
