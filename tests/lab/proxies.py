"""A local proxy (tinyproxy, with basic auth) and a VPN's tun device in the lab."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from tests.lab.namespace import Fault, LabCore, run_tool


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


# Holds a tun device open (so it has a carrier, as under a VPN app) and never reads it.
_TUN_HOLDER = r"""
import fcntl, os, struct, sys, signal
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", sys.argv[1].encode(), 0x0001 | 0x1000))
print("READY", flush=True)
signal.sigwait({signal.SIGTERM, signal.SIGINT})
"""


class ProxyMixin(LabCore):
    """lab.proxy / vpn."""

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
            run_tool(["ip", "-n", self.name, *cmd])
        return Fault(f"vpn {name}", undo=[["ip", "-n", self.name, "link", "del", name]], procs=[holder], lab=self)
