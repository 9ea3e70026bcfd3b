"""The lab's TLS and HTTP servers: the payment hosts, the connectivity-check
204 servers, servers with bad certificates or odd answers, the speed test.

All of them are listeners of tests/lab/server.py processes; certificates come
from the lab CA (tests/lab/certs.py), which payprobe trusts through ``ca_file``.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import Any

from tests.lab import certs
from tests.lab.namespace import CHECK_HOSTS, DATE_HOSTS, PAYMENT_HOSTS, SPEEDTEST_HOSTS, LabCore


class WebMixin(LabCore):
    """lab.tls_server / http_server / speedtest_mini, and the base web servers."""

    def _init_web(self) -> None:
        self._base_listeners: list[dict[str, Any]] = []
        self._base_server: subprocess.Popen[str] | None = None

    def _tls_spec(self, addr: str, port: int, kind: str, hostname: str, shift_s: float,
                  **http: Any) -> dict[str, Any]:
        cert, key, versions = self.ca.server_files(kind, hostname, shift_s)
        return {"app": "http", "addr": addr, "port": port, "date_shift_s": shift_s,
                "tls": {"cert": str(cert), "key": str(key), "versions": versions}, **http}

    def _start_base_web(self) -> Callable[[], None]:
        """One TLS server per payment (and Date) host, one 204 server per check host.

        Starts them without waiting, so the lab can start its other services
        meanwhile, and returns the wait for them. The lab CA is made here: a
        bare namespace (``services=False``) has none.
        """
        self.ca = certs.LabCA(self.dir / "pki")
        self.ca_file = self.ca.ca_file
        for host in PAYMENT_HOSTS + DATE_HOSTS:
            addr = self.alloc("tls")
            self._hosts[host] = addr
            self._base_listeners.append(self._tls_spec(addr, 443, "valid", host, 0.0, mode="ok"))
        for host in CHECK_HOSTS:
            addr = self.alloc("http")
            self._hosts[host] = addr
            self._base_listeners.append({"app": "http", "addr": addr, "port": 80, "mode": "204"})
        server = self._start_server(self._base_listeners, "base-services", wait=False)
        self._base_server = server
        return lambda: self._wait_ready_line(server, "base-services")

    def _shift_base_web(self, shift_s: float) -> None:
        """Restart the base servers living ``shift_s`` ahead: Date headers and certificates."""
        listeners = []
        for spec in self._base_listeners:
            spec = dict(spec)
            spec["date_shift_s"] = shift_s
            if spec.get("tls"):
                host = next(h for h, a in self._hosts.items() if a == spec["addr"])
                spec.update(self._tls_spec(spec["addr"], spec["port"], "shifted", host, shift_s,
                                           mode=spec.get("mode", "ok")))
            listeners.append(spec)
        if self._base_server is not None:
            self._stop_proc(self._base_server)
        self._base_server = self._start_server(listeners, "base-services-moved")

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
