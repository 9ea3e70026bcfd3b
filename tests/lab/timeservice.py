"""The lab's time: chronyd NTP servers, honest or skewed (under faketime), and
"moving the world" when the device's own clock must look wrong.

libfaketime around Python hangs, so the device keeps the true time and the
world moves instead: NTP, HTTP Date headers and certificates are shifted.
"""

from __future__ import annotations

import glob
import subprocess
import time
from collections.abc import Callable

from tests.lab.namespace import NTP_HOSTS, LabCore


class ClockMixin(LabCore):
    """lab.ntp / move_world / world_shift_s."""

    def _init_clock(self) -> None:
        self.ntp_servers: list[str] = []
        self._world_shift_s = 0.0

    def _start_chronyd(self, skew_s: float, *, address: str | None = None,
                       wait: bool = True) -> tuple[str, subprocess.Popen[str]]:
        addr = address or self.alloc("ntp")
        conf = self.dir / f"chrony-{addr}.conf"
        conf.write_text("\n".join([
            f"bindaddress {addr}", "port 123", "cmdport 0", "local stratum 2", "allow all",
            f"driftfile {self.dir}/chrony-{addr}.drift", f"pidfile {self.dir}/chrony-{addr}.pid",
        ]) + "\n")
        argv = ["chronyd", "-f", str(conf), "-d", "-x", "-u", "root"]
        env = None
        if skew_s:
            # chronyd (C, no Python threads) runs fine under libfaketime; the offset
            # is in seconds so that any skew (+37.5 s, -3 h, +400 d) is one format.
            # The library is preloaded directly: the faketime wrapper makes a POSIX
            # semaphore named after its PID, which a killed wrapper leaves behind, and a
            # later wrapper given the same PID then fails ("sem_open: File exists").
            lib = _libfaketime()
            if lib:
                env = {**self._clean_env(), "LD_PRELOAD": lib, "FAKETIME": f"{skew_s:+.6f}s",
                       "FAKETIME_DONT_RESET": "1"}
            else:
                argv = ["faketime", "-f", f"{skew_s:+.6f}s", *argv]
        proc = self._spawn(argv, f"chronyd-{addr}", env=env)
        if wait:
            self._wait_chronyd(proc, addr)
        return addr, proc

    def _wait_chronyd(self, proc: subprocess.Popen[str], addr: str) -> None:
        self._wait_bound(proc, f"chronyd-{addr}", [("udp", addr, 123)])

    def _start_base_ntp(self) -> Callable[[], None]:
        """An honest chronyd answering the NTP names, not waited for; returns the wait."""
        addr = self.alloc("ntp")
        for host in NTP_HOSTS:
            self._hosts[host] = addr
        self.ntp_servers = list(NTP_HOSTS)
        _, proc = self._start_chronyd(0.0, address=addr, wait=False)
        return lambda: self._wait_chronyd(proc, addr)

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

        The NTP names answer a chronyd shifted by ``shift_s``; HTTP Date headers
        are shifted; every TLS server gets a certificate valid only in the
        shifted time. A device whose clock is behind (shift_s > 0) then sees
        "not yet valid"; ahead (< 0), "expired".
        """
        self._world_shift_s = shift_s
        ntp_addr = self.ntp(shift_s)
        for host in NTP_HOSTS:
            self._hosts[host] = ntp_addr
        self._write_hosts()
        self._shift_base_web(shift_s)
        time.sleep(0.02)  # let the SIGHUP to dnsmasq land

    @property
    def world_shift_s(self) -> float:
        return self._world_shift_s


def _libfaketime() -> str | None:
    """The path of libfaketime (Debian's multiarch folder), or None."""
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1") + glob.glob("/usr/lib/faketime/libfaketime.so.1"))
    return found[0] if found else None
