"""The lab's service program: many TCP/UDP listeners in one process.

Started by the lab inside its namespace as
``ip netns exec NAME python -m tests.lab.server CONFIG.json``. It binds every
listener first, then prints ``READY`` on stdout (the lab waits for that line),
and serves until SIGTERM. Only the standard library, so it starts fast.

Listener kinds (the ``app`` key of each listener in CONFIG.json):

- ``http``: HTTP/1.1, over TLS when ``tls`` is set. ``mode`` is ``ok`` (200),
  ``204``, ``portal302`` (captive portal redirect), ``slow503`` (503 after
  ``delay_ms``) or ``speedtest`` (speedtest.net config emulation and a
  Speedtest Mini server). ``delay_ms`` delays every answer (application delay),
  ``date_shift_s`` shifts the ``Date`` header ("move the world").
- ``silent``: accepts TCP connections and never sends a byte.
- ``dns_silent``: UDP/TCP port that reads DNS queries and never answers.
- ``dns_servfail``: answers every DNS query with SERVFAIL.
"""

from __future__ import annotations

import email.utils
import json
import os
import re
import signal
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# One random block reused for every download body: generating fresh random data
# per request would make the server, not the lab's rate limit, the bottleneck.
_RANDOM_BLOCK = os.urandom(1 << 20)
_RANDOM_JPG = re.compile(r"/random(\d+)x(\d+)\.jpg$")


def _speedtest_config(host_ip: str) -> bytes:
    # Short test lengths keep a lab speed test to a few seconds; ratio 4 and
    # maxchunkcount 8 keep speedtest-cli's pre-allocated upload buffers small.
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<settings>\n'
        f'<client ip="{host_ip}" lat="31.2304" lon="121.4737" isp="Lab ISP" isprating="3.7" '
        'rating="0" ispdlavg="0" ispulavg="0" loggedin="0" country="CN"/>\n'
        '<server-config threadcount="2" ignoreids="" notonmap="" forcepingid="" preferredserverid=""/>\n'
        '<download testlength="4" initialtest="250K" mintestsize="250K" threadsperurl="2"/>\n'
        '<upload testlength="3" ratio="4" initialtest="0" mintestsize="32K" threads="2" '
        'maxchunksize="512K" maxchunkcount="8" threadsperurl="4"/>\n'
        '</settings>\n'
    ).encode()


def _speedtest_servers(base_url: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<settings>\n<servers>\n'
        f'<server url="{base_url}/speedtest/upload.php" lat="31.2304" lon="121.4737" name="Shanghai" '
        'country="China" cc="CN" sponsor="Lab Speedtest Mini" id="1" host="lab:8080"/>\n'
        '</servers>\n</settings>\n'
    ).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lab"
    sys_version = ""
    spec: dict[str, Any] = {}

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass  # keep the lab quiet; tests look at what clients see

    def date_time_string(self, timestamp: float | None = None) -> str:
        # "Move the world": a shifted Date header is what a device with a wrong clock
        # would see compared with its own time.
        now = time.time() if timestamp is None else timestamp
        return email.utils.formatdate(now + float(self.spec.get("date_shift_s", 0.0)), usegmt=True)

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
              content_type: str = "text/plain") -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if status not in (204, 304):
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(body)

    def _delay(self) -> None:
        delay_ms = float(self.spec.get("delay_ms", 0.0))
        if delay_ms > 0:
            time.sleep(delay_ms / 1000.0)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._delay()
        mode = self.spec.get("mode", "ok")
        if mode == "204":
            self._send(204)
        elif mode == "portal302":
            self._send(302, b"<html>Please log in</html>",
                       {"Location": self.spec.get("location", "http://portal.lab.example/login")},
                       "text/html")
        elif mode == "slow503":
            self._send(503, b"Service Unavailable")
        elif mode == "speedtest":
            self._speedtest_get()
        elif mode == "ad":
            self._send(200, b"<html>Great deals! (an ad page)</html>", content_type="text/html")
        else:
            self._send(int(self.spec.get("status", 200)), b"ok\n")

    do_HEAD = do_GET

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        length = int(self.headers.get("Content-Length", "0") or 0)
        remaining = length
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 16))
            if not chunk:
                break
            remaining -= len(chunk)
        self._delay()
        if self.spec.get("mode") == "speedtest":
            self._send(200, f"size={length - remaining}".encode())
        elif self.spec.get("mode") == "slow503":
            self._send(503, b"Service Unavailable")
        else:
            self._send(int(self.spec.get("status", 200)), b"ok\n")

    def _speedtest_get(self) -> None:
        path = self.path.split("?", 1)[0]
        host_ip = self.client_address[0]
        base = f"http://{self.headers.get('Host') or self.server.server_address[0]}"
        if path.endswith("/speedtest-config.php"):
            self._send(200, _speedtest_config(host_ip), content_type="text/xml")
        elif path.endswith(("/speedtest-servers-static.php", "/speedtest-servers.php")):
            self._send(200, _speedtest_servers(base), content_type="text/xml")
        elif path.startswith("/speedtest/latency.txt"):
            self._send(200, b"test=test\n")
        elif path.endswith("/speedtest/upload.php"):
            self._send(200, b"size=0")
        elif (m := _RANDOM_JPG.search(path)) is not None:
            # Real Mini servers ship fixed JPEGs; any bytes of a similar size do.
            size = min(int(m.group(1)) * int(m.group(2)) * 2, 16 << 20)
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            sent = 0
            try:
                while sent < size:
                    n = min(size - sent, len(_RANDOM_BLOCK))
                    self.wfile.write(_RANDOM_BLOCK[:n])
                    sent += n
            except OSError:
                pass  # speedtest-cli stops reading at its test length
        else:
            # The Mini server index page: speedtest-cli finds the upload extension here.
            self._send(200, b'<html><script>upload_extension: "php"</script>Speedtest Mini</html>',
                       content_type="text/html")


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, spec: dict[str, Any], tls: ssl.SSLContext | None) -> None:
        self.tls = tls
        handler = type("Handler", (_Handler,), {"spec": spec})
        super().__init__((spec["addr"], int(spec["port"])), handler)

    def get_request(self) -> tuple[Any, Any]:
        # As nginx does: with Nagle on, TLS 1.3 session tickets delay the answer by an RTT.
        sock, addr = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, addr

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs here, in the connection's own thread, so a client
        # that stalls mid-handshake does not block the accept loop.
        if self.tls is not None:
            try:
                request.settimeout(30)
                request = self.tls.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                return
        try:
            super().finish_request(request, client_address)
        except (OSError, ssl.SSLError):
            pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up mid-answer are expected in fault tests


def _tls_context(tls: dict[str, Any]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tls["cert"], tls["key"])
    if tls.get("versions") == "tls10":
        # OpenSSL 3 refuses TLS 1.0 at the default security level.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1
    return ctx


class _SilentTcp(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class _SilentHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        # Read and discard until the client gives up; never answer.
        try:
            while self.request.recv(65536):
                pass
        except OSError:
            pass


def _servfail(query: bytes) -> bytes | None:
    if len(query) < 12:
        return None
    qid, flags = struct.unpack("!HH", query[:4])
    qdcount = struct.unpack("!H", query[4:6])[0]
    # Echo the question section; QR=1, RD copied, RA=1, RCODE=2 (SERVFAIL).
    out_flags = 0x8000 | (flags & 0x0100) | 0x0080 | 2
    return struct.pack("!HHHHHH", qid, out_flags, qdcount, 0, 0, 0) + query[12:]


def _serve_udp(sock: socket.socket, app: str) -> None:
    while True:
        try:
            data, peer = sock.recvfrom(4096)
        except OSError:
            return
        if app == "dns_servfail":
            answer = _servfail(data)
            if answer is not None:
                sock.sendto(answer, peer)


class _DnsTcpHandler(socketserver.BaseRequestHandler):
    app = "dns_silent"

    def handle(self) -> None:
        try:
            while True:
                head = self.request.recv(2)
                if len(head) < 2:
                    return
                (length,) = struct.unpack("!H", head)
                query = b""
                while len(query) < length:
                    chunk = self.request.recv(length - len(query))
                    if not chunk:
                        return
                    query += chunk
                if self.app == "dns_servfail":
                    answer = _servfail(query)
                    if answer is not None:
                        self.request.sendall(struct.pack("!H", len(answer)) + answer)
        except OSError:
            pass


def _start(spec: dict[str, Any]) -> list[Any]:
    """Bind one listener and return what must be served (servers or sockets)."""
    app = spec.get("app", "http")
    addr, port = spec["addr"], int(spec["port"])
    if app == "http":
        tls = _tls_context(spec["tls"]) if spec.get("tls") else None
        return [_HttpServer(spec, tls)]
    if app == "silent":
        return [_SilentTcp((addr, port), _SilentHandler)]
    if app in ("dns_silent", "dns_servfail"):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind((addr, port))
        handler = type("H", (_DnsTcpHandler,), {"app": app})
        return [("udp", udp, app), _SilentTcp((addr, port), handler)]
    raise SystemExit(f"lab server: unknown app {app!r}")


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as fh:
        config = json.load(fh)
    serving: list[Any] = []
    try:
        for spec in config["listeners"]:
            serving.extend(_start(spec))
    except OSError as exc:
        print(f"lab server: cannot bind: {exc}", file=sys.stderr, flush=True)
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    for item in serving:
        if isinstance(item, tuple):
            threading.Thread(target=_serve_udp, args=(item[1], item[2]), daemon=True).start()
        else:
            threading.Thread(target=item.serve_forever, kwargs={"poll_interval": 0.2},
                             daemon=True).start()
    print("READY", flush=True)
    stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
