"""Servers run by a test process on sockets inside the lab's network namespace.

A thread enters the namespace with setns(2) and opens the listening socket
there; the servers are then run by ordinary threads of the test process. Used
by the DoH bootstrap tests and by the bench's default-profile row.
"""

from __future__ import annotations

import ctypes
import http.server
import os
import socketserver
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import trustme

from tests.lab.lab import Lab
from tests.servers import FakeDns
from tests.servers.streams import QuietHandler

T = TypeVar("T")
CLONE_NEWNET = 0x40000000
DOH_NAME = "doh.lab.example"
DOH_URL = f"https://{DOH_NAME}/dns-query"


def in_lab(lab: Lab, fn: Callable[[], T]) -> T:
    """``fn()`` in a thread that entered the lab's network namespace.

    Sockets it opens belong to the lab for good; the thread ends there, and the
    servers are run by threads of this process outside the namespace.
    """
    out: list[Any] = []

    def enter() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            with open(Path("/run/netns") / lab.name, "rb") as ns:
                if libc.setns(ns.fileno(), CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns into {lab.name}: {os.strerror(err)}")
            out.append(fn())
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller
            out.append(exc)

    thread = threading.Thread(target=enter, name="enter-lab")
    thread.start()
    thread.join()
    if isinstance(out[0], BaseException):
        raise out[0]
    result: T = out[0]
    return result


class _Httpd(http.server.ThreadingHTTPServer):
    def server_bind(self) -> None:
        # HTTPServer's own looks the address up (getfqdn): from inside the lab that
        # waits out the host's resolvers, several seconds per server.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])


class LabDoh:
    """An RFC 8484 DoH server at ``address``:443 inside the lab, answering with ``records``.

    ``requests`` collects (path, Host header); ``sni`` the names clients asked for.
    """

    def __init__(self, lab: Lab, records: dict[str, list[str]], cert: trustme.LeafCert) -> None:
        self.address = lab.alloc("tls")
        self.backend = FakeDns(records)
        self.requests: list[tuple[str, str]] = []
        self.sni: list[str | None] = []
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(tls)
        tls.sni_callback = lambda _sock, name, _ctx: self.sni.append(name)
        self.httpd = in_lab(lab, lambda: _Httpd((self.address, 443), self._handler()))
        self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True, name="lab-doh").start()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        server = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                server.requests.append((self.path, self.headers.get("Host", "")))
                body = self.rfile.read(int(self.headers["Content-Length"]))
                out = server.backend.reply(body, over_tcp=True) or b""
                self.reply(200, out, {"Content-Type": "application/dns-message"})

        return Handler

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.backend.close()
