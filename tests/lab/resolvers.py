"""The lab's DNS: dnsmasq resolvers (honest, hijacking, fake-IP), silent and
SERVFAIL servers, the namespace's system resolver and DNS interception.

Every dnsmasq answers from a hosts file written from ``_hosts`` (the honest
answers: name -> address), rewritten and re-read (SIGHUP) whenever a name is
added, so all resolvers agree on every name the lab knows.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.lab.namespace import PAYMENT_HOSTS, Fault, LabCore


def _dnsmasq_started(proc: subprocess.Popen[str]) -> bool:
    # Before `ip netns exec` has exec'd dnsmasq, a SIGHUP would kill the wrapper.
    try:
        return Path(f"/proc/{proc.pid}/exe").resolve().name == "dnsmasq"
    except OSError:
        return False


class DnsMixin(LabCore):
    """lab.dns / add_host / host_address / set_system_resolver / intercept_dns."""

    def _init_dns(self) -> None:
        self._hosts: dict[str, str] = {}        # honest answers: name -> address
        self._dnsmasq: list[tuple[subprocess.Popen[str], str, Path]] = []   # (process, kind, hosts file)
        self._system_resolver = ""
        self._rogue: tuple[str, str] | None = None
        self.resolvers: list[tuple[str, str]] = []     # (name, address) for write_config

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
        self._dnsmasq.append((proc, kind, hosts_file))
        if wait:
            self._wait_dnsmasq(proc, addr)
        return proc, addr

    def _wait_dnsmasq(self, proc: subprocess.Popen[str], addr: str) -> None:
        self._wait_bound(proc, f"dnsmasq-{addr}", [("udp", addr, 53), ("tcp", addr, 53)])

    def _start_base_dns(self) -> Callable[[], None]:
        """Two honest resolvers, the first the system resolver, not waited for; returns the wait.

        They answer every name in ``_hosts`` when they start: the other base
        services must have added theirs by then.
        """
        started = [self._start_dnsmasq("honest", wait=False) for _ in range(2)]
        self.resolvers = [("Lab DNS", started[0][1]), ("Lab DNS 2", started[1][1])]
        self.set_system_resolver(started[0][1])

        def wait() -> None:
            for proc, addr in started:
                self._wait_dnsmasq(proc, addr)

        return wait

    def _write_hosts(self) -> None:
        for proc, kind, path in self._dnsmasq:
            names, _ = self._hosts_for(kind)
            text = "".join(f"{addr} {name}\n" for name, addr in sorted(names.items()))
            if not path.exists() or path.read_text() != text:
                path.write_text(text)
                if proc.poll() is None and _dnsmasq_started(proc):
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

    @property
    def hosts(self) -> dict[str, str]:
        """Every name the honest lab DNS answers, with its address (a copy)."""
        return dict(self._hosts)

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
        # glibc only talks to port 53; a resolver elsewhere needs DNAT.
        if port != 53:
            raise ValueError("glibc resolvers listen on port 53; use intercept_dns for others")
        self._system_resolver = address
        lines = [f"nameserver {address}", "options timeout:1 attempts:1"]
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
