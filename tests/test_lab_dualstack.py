"""Lab: dual stack as apps see it (issue 12). The lab in tests/lab/ is IPv4 only,
so these tests build their own namespace:

- ``wlan0`` with 192.0.2.10/24 and 2001:db8:1::10/64 and a default route for
  each family (the phone's Wi-Fi; nothing answers at the gateways);
- the payment servers' addresses 192.0.2.80 and 2001:db8:2::80 on ``lo``: one
  TLS server (trustme CA, given to payprobe as ``ca_file``) listening on both;
- dnsmasq as the system resolver, answering A and AAAA (or AAAA only) for the
  payment names.

Faults: ip6tables-legacy drops TCP to the server's IPv6 address on arrival
(a router that loses IPv6, the common home fault), or holds its SYNs with
tests/lab/nfqdelay.py (IPv6 slow). Documentation addresses only, and only
inside the namespace. When this cannot be built here the tests skip with the
reason; under CI=true they fail instead, like every lab test.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

REPO_ROOT = Path(__file__).resolve().parents[1]
IP6TABLES = "/usr/sbin/ip6tables-legacy"
HOSTS = {"pay.dualstack.example": ("Dual Pay", "dualpay"),
         "api.dualstack.example": ("Dual API", "dualapi")}
SERVER_V4, SERVER_V6 = "192.0.2.80", "2001:db8:2::80"
WLAN_V4, GATEWAY_V4 = "192.0.2.10/24", "192.0.2.1"
WLAN_V6, GATEWAY_V6 = "2001:db8:1::10/64", "2001:db8:1::1"
START_TIMEOUT_S = 10.0
_serial = iter(range(1, 1_000_000))

# The payment server: stdlib only, both families, 200 to every request, READY once bound.
SERVER_SOURCE = r'''
import socket, ssl, sys, threading
pem, port, addresses = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(pem)

def serve(conn):
    try:
        conn.settimeout(5)
        with ctx.wrap_socket(conn, server_side=True) as tls:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = tls.recv(4096)
                if not chunk:
                    return
                data += chunk
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    except OSError:
        pass
    finally:
        conn.close()

def accept(listener):
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()

for address in addresses:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    listener.bind((address, port))
    listener.listen(128)
    threading.Thread(target=accept, args=(listener,), daemon=True).start()
print("READY", flush=True)
threading.Event().wait()
'''


def unavailable_reason() -> str | None:
    if not sys.platform.startswith("linux"):
        return f"the dual-stack lab needs Linux (this is {sys.platform})"
    if os.geteuid() != 0:
        return "the dual-stack lab needs root (network namespaces, ip6tables)"
    missing = [tool for tool in ("ip", "dnsmasq") if shutil.which(tool) is None]
    missing += [path for path in (IP6TABLES,) if not os.path.exists(path)]
    if missing:
        return "the dual-stack lab needs " + ", ".join(missing)
    if not os.path.exists("/proc/net/if_inet6"):
        return "the dual-stack lab needs IPv6 in the kernel (/proc/net/if_inet6 is missing)"
    return None


def require_lab() -> None:
    reason = unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"dual-stack lab unavailable under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


def run(argv: list[str], *, input_text: str | None = None) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, input=input_text)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {proc.returncode}: {proc.stderr.strip()}")


class DualStackNet:
    """One namespace: the phone's Wi-Fi, a resolver and a payment server, per family as asked."""

    def __init__(self, tmp: Path, *, ipv4: bool = True, ipv6: bool = True) -> None:
        # The lab's prefix and this process's pid: tests/lab's sweep removes it after a crash.
        self.name = f"pplab{os.getpid()}xds{next(_serial)}"
        self.dir = tmp / self.name
        self.dir.mkdir()
        self.etc = Path("/etc/netns") / self.name
        self.ipv4, self.ipv6 = ipv4, ipv6
        self.procs: list[subprocess.Popen[str]] = []
        self.ca = trustme.CA(organization_name="Payprobe Dual Stack Lab")
        self.ca_file = self.dir / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))

    # ------------------------------------------------------------ building

    def start(self) -> DualStackNet:
        run(["ip", "netns", "add", self.name])
        lines = ["link set lo up", "link add wlan0 type veth peer name wlan0-ap",
                 "link set wlan0 up", "link set wlan0-ap up"]
        if self.ipv4:
            lines += [f"addr add {WLAN_V4} dev wlan0", f"addr add {SERVER_V4}/32 dev lo",
                      f"route add default via {GATEWAY_V4} dev wlan0 onlink"]
        if self.ipv6:
            lines += [f"addr add {WLAN_V6} dev wlan0 nodad", f"addr add {SERVER_V6}/128 dev lo nodad",
                      f"route add ::/0 via {GATEWAY_V6} dev wlan0 onlink"]
        run(["ip", "-n", self.name, "-batch", "-"], input_text="\n".join(lines) + "\n")
        self.etc.mkdir(parents=True, exist_ok=True)
        resolver = "::1" if self.ipv6 and not self.ipv4 else "127.0.0.1"
        (self.etc / "resolv.conf").write_text(f"nameserver {resolver}\noptions timeout:1 attempts:2\n")
        self._start_dns(resolver)
        self._start_server()
        return self

    def _addresses(self) -> list[str]:
        return ([SERVER_V4] if self.ipv4 else []) + ([SERVER_V6] if self.ipv6 else [])

    def _start_dns(self, listen: str) -> None:
        records = [f"--host-record={host},{','.join(self._addresses())}" for host in HOSTS]
        proc = self.spawn(["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
                           "--no-hosts", f"--listen-address={listen}", "--bind-interfaces", "--port=53",
                           "--pid-file=", "--user=root", "--group=root", "--local-ttl=0",
                           "--cache-size=0", *records], "dnsmasq")
        self.wait_for(lambda: self.exec_ok(["getent", "ahosts", next(iter(HOSTS))]), proc, "dnsmasq")

    def _start_server(self) -> None:
        pem = self.dir / "server.pem"
        self.ca.issue_cert(*HOSTS).private_key_and_cert_chain_pem.write_to_path(str(pem))
        script = self.dir / "server.py"
        script.write_text(SERVER_SOURCE)
        proc = self.spawn([sys.executable, str(script), str(pem), "443", *self._addresses()],
                          "server", ready_line=True)
        self.wait_ready(proc, "server")

    # ------------------------------------------------------------ faults

    def drop_ipv6(self) -> None:
        """Every TCP packet to the server's IPv6 address dropped on arrival: IPv6 goes nowhere."""
        run(["ip", "netns", "exec", self.name, IP6TABLES, "-A", "INPUT", "-d", SERVER_V6,
             "-p", "tcp", "-j", "DROP"])

    def delay_ipv6_syns(self, ms: float) -> None:
        """Hold each SYN to the server's IPv6 address for ``ms`` (NFQUEUE, tests/lab/nfqdelay.py)."""
        holder = self.spawn([sys.executable, "-m", "tests.lab.nfqdelay", "7", str(ms)], "nfq",
                            ready_line=True)
        # The rule only after the holder is bound: packets queued to nobody are dropped.
        self.wait_ready(holder, "nfqdelay")
        run(["ip", "netns", "exec", self.name, IP6TABLES, "-A", "OUTPUT", "-p", "tcp", "--syn",
             "-d", SERVER_V6, "-j", "NFQUEUE", "--queue-num", "7"])

    # ------------------------------------------------------------ running payprobe

    def write_config(self, **latency: Any) -> Path:
        latency = {"samples": 3, "icmp": False, **latency}
        lines = ["deadline_s = 12.0", f"ca_file = {json.dumps(str(self.ca_file))}", "", "[latency]"]
        lines += [f"{key} = {json.dumps(value)}" for key, value in latency.items()]
        for host, (name, provider) in HOSTS.items():
            lines += ["", "[[endpoints]]", f"name = {json.dumps(name)}",
                      f"provider = {json.dumps(provider)}", f'url = "https://{host}/"']
        path = self.dir / f"config-{next(_serial)}.toml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def payprobe(self, config: Path) -> tuple[int, dict[str, Any]]:
        argv = ["ip", "netns", "exec", self.name, sys.executable, "-m", "payprobe", "run",
                "--config", str(config), "--only", "endpoints,tls", "--format", "json",
                "--output", "-"]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=REPO_ROOT,
                              env=self.env({"PAYPROBE_DATA_DIR": str(self.dir / "data"),
                                            "PAYPROBE_CONFIG_DIR": str(self.dir / "config")}))
        try:
            report = json.loads(proc.stdout)
        except ValueError as exc:
            raise AssertionError(f"no JSON report (exit {proc.returncode}): {proc.stderr[-800:]}") from exc
        return proc.returncode, report

    # ------------------------------------------------------------ processes

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        env.pop("PYTEST_CURRENT_TEST", None)
        env.update(extra or {})
        return env

    def spawn(self, argv: list[str], log: str, *, ready_line: bool = False) -> subprocess.Popen[str]:
        with open(self.dir / f"{log}.log", "w") as out:
            proc = subprocess.Popen(["ip", "netns", "exec", self.name, *argv], cwd=REPO_ROOT,
                                    stdout=subprocess.PIPE if ready_line else out, stderr=out,
                                    stdin=subprocess.DEVNULL, text=True, start_new_session=True,
                                    env=self.env())
        self.procs.append(proc)
        return proc

    def wait_ready(self, proc: subprocess.Popen[str], what: str) -> None:
        assert proc.stdout is not None
        got: list[str] = []
        reader = threading.Thread(target=lambda: got.append(proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(START_TIMEOUT_S)
        if not got or got[0].strip() != "READY":
            raise RuntimeError(f"{what} did not start: {self.log_tail(what)}")

    def exec_ok(self, argv: list[str]) -> bool:
        return subprocess.run(["ip", "netns", "exec", self.name, *argv], capture_output=True,
                              timeout=10).returncode == 0

    def wait_for(self, ready: Any, proc: subprocess.Popen[str], what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not ready():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start: {self.log_tail(what)}")
            time.sleep(0.05)

    def log_tail(self, what: str) -> str:
        with contextlib.suppress(OSError):
            return (self.dir / f"{what}.log").read_text()[-800:]
        return "(no log)"

    def close(self) -> None:
        for proc in reversed(self.procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(2.0)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(2.0)
            if proc.stdout is not None:
                proc.stdout.close()
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, timeout=30)
        shutil.rmtree(self.etc, ignore_errors=True)


@pytest.fixture
def dual_stack(tmp_path: Path) -> Iterator[Any]:
    """``dual_stack(ipv4=..., ipv6=...)`` builds a started namespace; all are removed after."""
    require_lab()
    made: list[DualStackNet] = []

    def build(**kw: bool) -> DualStackNet:
        net = DualStackNet(tmp_path, **kw)
        made.append(net)
        return net.start()

    yield build
    for net in made:
        net.close()
    survivors = {n.name for n in made} & set(
        subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split())
    assert not survivors, f"namespaces {sorted(survivors)} outlived the test"


# ---------------------------------------------------------------- readers


def check_of(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in report["checks"] if c["name"] == name)


def codes_of(check: dict[str, Any]) -> list[str]:
    return sorted(f["code"] for f in check["findings"])


def endpoint_items(check: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["endpoint"]: e for e in check["evidence"] if e.get("what") == "endpoint"}


def samples_items(check: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["endpoint"]: e for e in check["evidence"] if e.get("what") == "endpoint_samples"}


def family_p50(check: dict[str, Any], name: str, endpoint: str, family: str) -> float:
    (value,) = [m["value"] for m in check["metrics"]
                if m["name"] == name and m["labels"].get("endpoint") == endpoint
                and m["labels"].get("ip_family") == family and m["labels"].get("stat") == "p50"]
    return float(value)


ENDPOINTS = sorted(name for name, _ in HOSTS.values())


# ---------------------------------------------------------------- the cases


@pytest.mark.lab
def test_dualstack_when_ipv6_broken_and_ipv4_works_endpoints_reachable_and_ipv6_broken(dual_stack):
    net = dual_stack()
    net.drop_ipv6()
    code, report = net.payprobe(net.write_config())
    endpoints, tls = check_of(report, "endpoints"), check_of(report, "tls")
    items = endpoint_items(endpoints)
    assert sorted(items) == ENDPOINTS and all(i["ok"] and i["http_status"] == 200 for i in items.values())
    # One finding about the network, none about the services.
    assert codes_of(endpoints) == ["net.ipv6_broken"], endpoints["findings"]
    (broken,) = endpoints["findings"]
    assert broken["severity"] == "warn"
    assert broken["data"]["endpoints"] == ENDPOINTS
    assert set(broken["data"]["failures"].values()) == {"generic_timeout"}
    assert broken["data"]["ipv6_route_interfaces"] == ["wlan0"]
    for item in samples_items(endpoints).values():
        assert item["ip_family"] == "ipv4" and item["happy_eyeballs"]["ip_family"] == "ipv4"
        assert all(s["failure"] == "generic_timeout" for s in item["other_family"]["samples"])
    # TLS connects as apps do, so it is not fooled either.
    assert tls["status"] == "ok" and tls["findings"] == []
    assert {e["ip_family"] for e in tls["evidence"] if e.get("what") == "tls"} == {"ipv4"}
    assert report["status"] != "unhealthy" and code != 2, report["causes"]


@pytest.mark.lab
def test_dualstack_when_ipv6_only_network_works_endpoints_reachable_no_ipv6_finding(dual_stack):
    net = dual_stack(ipv4=False, ipv6=True)
    code, report = net.payprobe(net.write_config())
    endpoints, tls = check_of(report, "endpoints"), check_of(report, "tls")
    assert endpoints["status"] == "ok" and endpoints["findings"] == []
    assert all(i["ok"] for i in endpoint_items(endpoints).values())
    assert {i["ip_family"] for i in samples_items(endpoints).values()} == {"ipv6"}
    # One family only: nothing to label.
    assert not [m for m in endpoints["metrics"] if "ip_family" in m["labels"]]
    assert tls["status"] == "ok"
    assert {e["ip_family"] for e in tls["evidence"] if e.get("what") == "tls"} == {"ipv6"}
    assert report["status"] == "healthy" and code == 0


@pytest.mark.lab
def test_dualstack_when_both_families_work_metrics_carry_ip_family_labels(dual_stack):
    net = dual_stack()
    code, report = net.payprobe(net.write_config())
    endpoints = check_of(report, "endpoints")
    assert endpoints["findings"] == [] and code == 0
    for endpoint in ENDPOINTS:
        for family in ("ipv4", "ipv6"):
            for name in ("tcp_connect_seconds", "tls_handshake_seconds", "http_ttfb_seconds"):
                assert family_p50(endpoints, name, endpoint, family) >= 0
        # The unlabelled series are still there, every stat.
        stats = {m["labels"]["stat"] for m in endpoints["metrics"]
                 if m["name"] == "tcp_connect_seconds" and m["labels"]["endpoint"] == endpoint
                 and "ip_family" not in m["labels"]}
        assert stats == {"min", "p50", "p95", "max"}
    # IPv6 answers at once, so Happy Eyeballs never needs IPv4: apps use IPv6.
    assert {i["ip_family"] for i in samples_items(endpoints).values()} == {"ipv6"}


@pytest.mark.lab
def test_dualstack_when_ipv6_syns_held_400ms_reports_ipv6_slow_and_apps_use_ipv4(dual_stack):
    net = dual_stack()
    net.delay_ipv6_syns(400)
    code, report = net.payprobe(net.write_config())
    endpoints = check_of(report, "endpoints")
    assert codes_of(endpoints) == ["net.ipv6_slow"], endpoints["findings"]
    (slow,) = endpoints["findings"]
    # 400 ms slower: apps wait out the whole 250 ms fallback delay on every connection.
    assert slow["severity"] == "warn"
    assert sorted(slow["data"]["endpoints"]) == ENDPOINTS
    assert slow["data"]["extra_ms"] == pytest.approx(400, abs=50)
    for endpoint in ENDPOINTS:
        assert family_p50(endpoints, "tcp_connect_seconds", endpoint, "ipv6") == pytest.approx(0.4, abs=0.05)
        assert family_p50(endpoints, "tcp_connect_seconds", endpoint, "ipv4") < 0.05
    # Happy Eyeballs gave up waiting for IPv6 after 250 ms: apps are on IPv4, not slow.
    assert {i["ip_family"] for i in samples_items(endpoints).values()} == {"ipv4"}
    assert all(i["ok"] for i in endpoint_items(endpoints).values())
    assert report["status"] != "unhealthy" and code != 2
