"""Faults the lab injects into its network: delay, loss, drop, reject, rate, offline.

Each returns a :class:`~tests.lab.namespace.Fault`; faults compose, and
``fault.remove()`` (or the namespace's deletion) undoes one. Every rule lives
in the namespace's own iptables-legacy tables or qdiscs: nothing touches the host.
"""

from __future__ import annotations

import sys

from tests.lab.namespace import Fault, LabCore, run_tool


class FaultMixin(LabCore):
    """lab.delay / hold / loss / blackhole / reject / rate_limit / offline."""

    def _init_faults(self) -> None:
        self._queue_nums = iter(range(100, 1000))

    def hold(self, match: list[str], ms: float, description: str) -> Fault:
        """Hold every outgoing packet that the iptables ``match`` selects for exactly ``ms``.

        NFQUEUE + tests/lab/nfqdelay.py; :meth:`delay` is this for SYNs or
        UDP/53. ``match`` is iptables syntax, e.g. ``["-p", "tcp", "-d", addr,
        "--dport", "443", "--tcp-flags", "PSH", "PSH"]`` (the ClientHello).
        """
        qnum = next(self._queue_nums)
        holder = self._spawn([sys.executable, "-m", "tests.lab.nfqdelay", str(qnum), str(ms)],
                             f"nfq-{qnum}", ready_line=True)
        # The rule only after the holder is bound: packets queued to nobody are dropped.
        self._wait_ready_line(holder, f"nfq-{qnum}")
        fault = Fault(description, procs=[holder], lab=self)
        self._iptables("filter", ["OUTPUT", *match, "-j", "NFQUEUE", "--queue-num", str(qnum)], fault)
        return fault

    def delay(self, address: str, ms: float, *, proto: str = "tcp", port: int | None = None) -> Fault:
        """Hold packets to ``address`` for exactly ``ms`` (NFQUEUE + netfilterqueue).

        proto tcp: only connection-opening SYNs (so the connect time grows by ms);
        udp: each datagram to ``port`` (53 by default; 123 for NTP).
        """
        match = ["-p", proto, "-d", address]
        if proto == "tcp":
            match += ["--syn"] + (["--dport", str(port)] if port else [])
        else:
            match += ["--dport", str(port or 53)]
        return self.hold(match, ms, f"delay {address} {proto} {ms} ms")

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
        # A radio link's packets are 1500 bytes, not loopback's 64 KiB: with big
        # packets one small probe packet in the queue pushes a whole 64 KiB
        # segment into a drop, and the measured rate falls below the limit.
        old_mtu = self.exec(["cat", f"/sys/class/net/{dev}/mtu"], raw=True, check=True).stdout.strip()
        run_tool(self._ns_argv(["ip", "link", "set", dev, "mtu", "1500"]))
        # The bucket must hold a whole loopback GSO packet (64 KiB) or tbf drops it.
        # A 300 ms queue avoids tail drops, whose 200 ms retransmit stalls on
        # loopback would make the link look slower than the limit.
        burst = int(max(70_000, bytes_per_s * 0.02))
        run_tool(self._ns_argv(["tc", "qdisc", "replace", "dev", dev, "root", "tbf",
                                "rate", f"{int(bits_per_second)}bit", "burst", str(burst), "latency", "300ms"]))
        # Tools that time their writes (speedtest-cli's upload) count what sits in
        # the socket send buffer as sent; at 4 MiB per socket (the default max)
        # that is seconds of data at phone rates. 128 KiB, like a phone's
        # cellular buffers, keeps what they report within a few % of the limit.
        old_wmem = self.exec(["sysctl", "-n", "net.ipv4.tcp_wmem"], raw=True, check=True).stdout.split()
        self.exec(["sysctl", "-qw", "net.ipv4.tcp_wmem=4096 16384 131072"], raw=True, check=True)
        return Fault(f"rate {bits_per_second} bit/s on {dev}",
                     undo=[self._ns_argv(["tc", "qdisc", "del", "dev", dev, "root"]),
                           self._ns_argv(["sysctl", "-qw", "net.ipv4.tcp_wmem=" + " ".join(old_wmem)]),
                           self._ns_argv(["ip", "link", "set", dev, "mtu", old_mtu])],
                     lab=self)

    def offline(self) -> Fault:
        """No routes, no resolver, Wi-Fi down; lab services answer "network unreachable"."""
        fault = Fault("offline", lab=self)
        run_tool(["ip", "-n", self.name, "route", "flush", "table", "main"])
        run_tool(["ip", "-n", self.name, "link", "set", "wlan0", "down"])
        (self.netns_etc / "resolv.conf").write_text("# lab: offline, no resolver\n")
        # 127.0.0.1 stays (local apps such as a proxy); the lab's "internet" goes.
        self._iptables("filter", ["OUTPUT", "-d", "127.0.0.0/8", "-j", "REJECT",
                                  "--reject-with", "icmp-net-unreachable"], fault)
        self._iptables("filter", ["OUTPUT", "-d", "127.0.0.1", "-j", "ACCEPT"], fault)
        return fault
