"""Issue 13, "Uploads, webhooks and push": what leaves the device, and where to.

Every server here listens on 127.0.0.1. A "non-loopback" host is either an
address nobody connects to (the tests forbid connecting at all) or a name that
a patched getaddrinfo maps to 127.0.0.1, so that rules meant for other hosts
(https only, ~/.netrc) apply while the bytes stay on this machine.

Each test names the defect it guards, as the issue words it, and says why the
code as it landed before the issue (commit 68a4c71) fails it.
"""

from __future__ import annotations

import io
import json
import socket
import ssl
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
import trustme
from payprobe.agent import after_run, alerts, export, http, upload
from payprobe.engine import config
from payprobe.engine.errors import UsageError
from urllib3.util import parse_url

from tests.helpers import run_cli
from tests.test_history import make_report

TOKEN = "tok-3c1d9e-never-printed"
SECRET = "SECRET-PATH-7f3e"
NAME = "upload.example"          # a non-loopback name, mapped to 127.0.0.1 below
Handler = Callable[[Any, bytes], None]


# ------------------------------------------------------------------ local servers


class RawServer:
    """127.0.0.1:random; each connection: (TLS if asked), read the request,
    then ``handler(server, sock)``. Counts connections, keeps request heads."""

    def __init__(self, handler: Handler, ssl_ctx: ssl.SSLContext | None = None) -> None:
        self.handler, self.ssl_ctx = handler, ssl_ctx
        self.connections = 0
        self.heads: list[bytes] = []
        self.sent_bytes = 0
        self.closed_by_client = threading.Event()
        self._stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str = "/up", host: str = "127.0.0.1") -> str:
        scheme = "https" if self.ssl_ctx else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        sock: Any = conn
        try:
            conn.settimeout(10)
            if self.ssl_ctx is not None:
                sock = self.ssl_ctx.wrap_socket(conn, server_side=True)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, body = data.split(b"\r\n\r\n", 1)
            self.heads.append(head + b"\r\n\r\n")
            length = _content_length(head)
            while len(body) < length:   # read it all: closing on unread bytes sends a reset
                chunk = sock.recv(65536)
                if not chunk:
                    return
                body += chunk
            self.handler(self, sock)
        except (OSError, ssl.SSLError):
            self.closed_by_client.set()
        finally:
            conn.close()

    def send(self, sock: Any, data: bytes) -> None:
        sock.sendall(data)
        self.sent_bytes += len(data)

    def stop(self) -> None:
        self._stop.set()
        self.listener.close()


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


def answer(status: int, extra: str = "") -> Handler:
    def handle(server: Any, sock: Any) -> None:
        server.send(sock, f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\n{extra}Connection: close\r\n\r\n"
                    .encode())
    return handle


@pytest.fixture
def servers() -> Iterator[Callable[..., RawServer]]:
    started: list[RawServer] = []

    def start(handler: Handler, ssl_ctx: ssl.SSLContext | None = None) -> RawServer:
        server = RawServer(handler, ssl_ctx)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


def tls_server_ctx(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(*names).configure_cert(ctx)
    return ctx


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test."""
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"a connection was attempted: {args!r}")
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


@pytest.fixture
def name_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """NAME resolves to 127.0.0.1 (only NAME: the rest of the resolver is untouched)."""
    real = socket.getaddrinfo

    def fake(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == NAME else host, *args, **kwargs)
    monkeypatch.setattr(socket, "getaddrinfo", fake)


def settings_with(**overrides: Any) -> Any:
    return config.load(None, overrides=overrides)


def in_thread(call: Callable[[], Any], limit_s: float = 60) -> Any:
    """Run ``call``; fail (rather than hang the suite) if it has not returned by ``limit_s``.
    The limit is a liveness guard far above the deadline under test, not a timing assert."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(limit_s)
    assert not thread.is_alive(), "the send outlived its deadline"
    if "error" in box:
        raise box["error"]
    return box.get("value")


# ------------------------------------------------------------------ the URL the library connects to


@pytest.mark.parametrize("url", [
    "http://203.0.113.9:8080\\@127.0.0.1:8080/up",
    "http://203.0.113.9\\@127.0.0.1/up",
    "http://203.0.113.9:8080\\\\@127.0.0.1:8080/up",
])
def test_upload_url_when_backslash_hides_another_host_is_refused_without_connecting(
        url: str, no_connections: None) -> None:
    # Defect: 'http://OTHERHOST:PORT\@127.0.0.1:PORT/up' passed the https-or-loopback check,
    # because urlsplit sees 127.0.0.1 while urllib3 connects to OTHERHOST. 68a4c71 checked with
    # urlsplit alone and accepted this URL.
    assert urlsplit(url).hostname == "127.0.0.1"
    assert parse_url(url).host == "203.0.113.9"      # what the connection would really use
    with pytest.raises(UsageError):
        upload.check_upload_url(url)
    result = run_cli("bundle", "--upload", url)
    assert result.exit_status == 64
    assert result.stderr.count("\n") == 1 and "--upload" in result.stderr


def test_upload_url_when_it_holds_credentials_is_refused_without_printing_them(no_connections: None) -> None:
    # Defect: URL credentials replaced the bearer token (requests turns user:pw@ into a Basic
    # header over the Authorization we set). 68a4c71 sent it, with the credentials.
    with pytest.raises(UsageError) as info:
        upload.check_upload_url("https://alice:pa55word@upload.example/up")
    assert "pa55word" not in str(info.value) and "alice" not in str(info.value)


# ------------------------------------------------------------------ the upload client


def test_upload_when_home_has_netrc_and_env_proxy_sends_our_bearer_token_directly(
        servers: Callable[..., RawServer], ca: trustme.CA, tmp_path: Path, name_on_loopback: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Defect: ~/.netrc replaced the bearer token. 68a4c71 let requests read the environment for
    # any non-loopback host, and requests' netrc auth overwrites the Authorization header.
    server = servers(answer(201), tls_server_ctx(ca, NAME))
    (tmp_path / ".netrc").write_text(f"machine {NAME} login mallory password netrc-secret\n")
    (tmp_path / ".netrc").chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(tmp_path / ".netrc"))
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")   # a proxy that is not there
    monkeypatch.setenv("PAYPROBE_UPLOAD_TOKEN", TOKEN)
    pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    status = upload.upload_bundle(b"PK", server.url(host=NAME), settings=settings_with(ca_file=str(pem)),
                                  attempts=1, deadline_s=20)
    assert status == 201
    (head,) = server.heads
    assert f"Authorization: Bearer {TOKEN}\r\n".encode() in head
    assert b"Basic" not in head


def test_upload_when_ca_file_is_set_trusts_exactly_that_ca(
        servers: Callable[..., RawServer], ca: trustme.CA, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Defect: the upload client ignored ca_file. 68a4c71 never passed it to requests, so a
    # private CA's server failed with tls_unknown_authority.
    server = servers(answer(201), tls_server_ctx(ca, "127.0.0.1"))
    pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "nothing.pem"))  # must not matter
    assert upload.upload_bundle(b"PK", server.url(), settings=settings_with(ca_file=str(pem)),
                                attempts=1, deadline_s=20) == 201


def test_upload_when_certificate_is_untrusted_fails_once_without_retrying(
        servers: Callable[..., RawServer], ca: trustme.CA) -> None:
    # Defect: the upload client retried certificate errors. 68a4c71 retried every
    # RequestException, so an untrusted certificate was tried UPLOAD_ATTEMPTS times.
    server = servers(answer(201), tls_server_ctx(ca, "127.0.0.1"))
    sleeps: list[float] = []
    with pytest.raises(upload.UploadError) as info:
        upload.upload_bundle(b"PK", server.url(), attempts=4, sleep=sleeps.append, deadline_s=20)
    assert "tls_" in str(info.value)
    assert server.connections == 1 and sleeps == []


def _trickle(prefix: bytes) -> Handler:
    """Send ``prefix``, then one byte every 50 ms until the client goes away."""
    def handle(server: Any, sock: Any) -> None:
        server.send(sock, prefix)
        while not server._stop.wait(0.05):
            server.send(sock, b"a")
    return handle


@pytest.mark.parametrize("prefix", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n",   # the body trickles
    b"HTTP/1.1 200 OK\r\nX-Slow: ",                          # the headers trickle
    b"",                                                     # the status line trickles
], ids=["body", "headers", "status-line"])
@pytest.mark.timeout(120)
def test_upload_when_server_trickles_bytes_stops_at_the_deadline(
        prefix: bytes, servers: Callable[..., RawServer]) -> None:
    # Defect: the upload client had no overall deadline. 68a4c71 gave requests a per-read
    # timeout only, which a byte every 50 ms never reaches: the call never returned.
    server = servers(_trickle(prefix))
    try:
        status = in_thread(lambda: upload.upload_bundle(b"PK", server.url(), attempts=1, deadline_s=1.0))
    except upload.UploadError as exc:
        assert "generic_timeout" in str(exc)
        assert not prefix.endswith(b"\r\n\r\n"), "a complete status and headers are an answer"
    else:
        assert status == 200 and prefix.endswith(b"\r\n\r\n")   # the body is not waited for
    assert server.closed_by_client.wait(30)


@pytest.mark.timeout(120)
def test_upload_when_name_resolution_stalls_stops_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    # The same defect before the first byte: getaddrinfo takes no timeout (a resolver that
    # does not answer holds it for 5 s x attempts x servers). 68a4c71 waited for it.
    release = threading.Event()
    real = socket.getaddrinfo

    def stalled(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == NAME:
            release.wait(60)
            raise socket.gaierror(socket.EAI_AGAIN, "no answer")   # never asks a real resolver
        return real(host, *args, **kwargs)
    monkeypatch.setattr(socket, "getaddrinfo", stalled)
    try:
        with pytest.raises(upload.UploadError) as info:
            in_thread(lambda: upload.upload_bundle(b"PK", f"https://{NAME}/up", attempts=3, deadline_s=1.0),
                      limit_s=30)
        assert "generic_timeout" in str(info.value)
    finally:
        release.set()


@pytest.mark.timeout(120)
def test_upload_when_reply_is_300_mb_reads_only_the_capped_head(servers: Callable[..., RawServer]) -> None:
    # Defect: the upload client read the whole response into memory (726 MB for a 300 MB
    # reply). 68a4c71 used a non-streaming session.post, which buffers the whole body.
    total = 300 * 1024 * 1024
    megabyte = b"\0" * (1024 * 1024)

    def huge(server: Any, sock: Any) -> None:
        server.send(sock, f"HTTP/1.1 200 OK\r\nContent-Length: {total}\r\n\r\n".encode())
        for _ in range(300):
            server.send(sock, megabyte)

    server = servers(huge)
    tracemalloc.start()
    try:
        status = in_thread(lambda: upload.upload_bundle(b"PK", server.url(), attempts=1, deadline_s=30))
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 200
    assert peak_bytes < 16 * 1024 * 1024
    assert server.closed_by_client.wait(30)
    assert server.sent_bytes < total // 4   # the client hung up long before the end


def test_send_reply_body_when_huge_is_capped_and_marked_truncated(servers: Callable[..., RawServer]) -> None:
    # The 300 MB defect, seen from the sender: at most max_response_bytes are kept (68a4c71
    # read every reply whole).
    def big(server: Any, sock: Any) -> None:
        server.send(sock, b"HTTP/1.1 500 X\r\nContent-Length: 10000000\r\n\r\n" + b"e" * 10_000_000)

    server = servers(big)
    target = http.check_url(server.url(), upload.UPLOAD)
    reply = http.post(target, b"", {}, http.Policy(deadline_s=20, max_response_bytes=1000))
    assert reply.status == 500 and reply.truncated and len(reply.body) == 1000


# ------------------------------------------------------------------ webhooks


def _alert_settings(url: str) -> Any:
    return SimpleNamespace(alerts=SimpleNamespace(notify=False, webhook_url=url), ca_file="")


@pytest.mark.parametrize("url", [f"http://203.0.113.7/hooks/{SECRET}", f"http://{NAME}/hooks/{SECRET}"])
def test_webhook_when_plain_http_to_another_host_is_refused_without_connecting(
        url: str, no_connections: None, capsys: pytest.CaptureFixture[str]) -> None:
    # Defect: webhooks allowed plain HTTP to other hosts. 68a4c71 checked only that the
    # scheme was http(s), and sent the secret path in cleartext.
    err = io.StringIO()
    assert alerts.post_webhook(url, {"status": "unhealthy"}, err) is False
    assert "https" in err.getvalue()
    assert SECRET not in err.getvalue() + capsys.readouterr().err


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_webhook_when_answered_with_a_redirect_does_not_follow_it(
        code: int, servers: Callable[..., RawServer]) -> None:
    # Defect: webhook redirects were followed. 68a4c71 used urllib's default opener, which
    # follows 301/302/303 (turning the POST into a GET to wherever Location says).
    elsewhere = servers(answer(200))
    hook = servers(answer(code, f"Location: {elsewhere.url('/stolen')}\r\n"))
    err = io.StringIO()
    assert alerts.post_webhook(hook.url(f"/hooks/{SECRET}"), {"status": "unhealthy"}, err) is False
    assert elsewhere.connections == 0
    assert f"HTTP {code}" in err.getvalue() and "redirects are not followed" in err.getvalue()


@pytest.mark.parametrize("path", [f"/hooks/{SECRET} x", f"/hooks/{SECRET}\x01", f"/hooks/{SECRET}\n",
                                  f"/hooks/{SECRET}\\x"])
def test_webhook_when_url_is_malformed_warns_without_the_secret_path(
        path: str, capsys: pytest.CaptureFixture[str], no_connections: None) -> None:
    # Defect: the webhook's secret path was printed on stderr. 68a4c71 printed the exception
    # of a malformed URL, and http.client's InvalidURL quotes the whole URL, path included.
    err = io.StringIO()
    assert alerts.post_webhook(f"https://hooks.example{path}", {}, err) is False
    assert "alert webhook" in err.getvalue()
    assert SECRET not in err.getvalue() + capsys.readouterr().err


@pytest.mark.parametrize("status", [404, 500])
def test_webhook_when_server_fails_or_is_down_warns_without_the_secret_path(
        status: int, servers: Callable[..., RawServer], capsys: pytest.CaptureFixture[str]) -> None:
    # Guard, not a 68a4c71 failure: 68a4c71 named only the host on these failures; the new sender must too
    # (HTTP errors that reach a server, and a port where none listens).
    hook = servers(answer(status))
    for url in (hook.url(f"/hooks/{SECRET}"), f"http://127.0.0.1:9/hooks/{SECRET}"):
        err = io.StringIO()
        assert alerts.on_report(_alert_settings(url), make_report("unhealthy"), err) is False
        assert "alert webhook" in err.getvalue()
        assert SECRET not in err.getvalue() + capsys.readouterr().err
        alerts._state_path().unlink()   # the next URL starts from "no state" again


def test_webhook_when_send_fails_is_retried_by_the_next_run(servers: Callable[..., RawServer]) -> None:
    # Defect: the alert state was saved before sending, so a failed alert was never retried.
    # 68a4c71 wrote the new state first; the second run saw "no change" and stayed silent.
    statuses = iter([500, 200, 200])
    hook = servers(lambda server, sock: answer(next(statuses))(server, sock))
    settings = _alert_settings(hook.url(f"/hooks/{SECRET}"))
    err = io.StringIO()
    assert alerts.on_report(settings, make_report("unhealthy"), err) is False
    assert alerts.read_state().get("pending") == ["webhook"]
    assert alerts.on_report(settings, make_report("unhealthy"), err) is True
    assert alerts.on_report(settings, make_report("unhealthy"), err) is False   # delivered: no repeat
    assert len(hook.heads) == 2


# ------------------------------------------------------------------ Pushgateway


@pytest.mark.parametrize("url", ["http://alice:pa55word@203.0.113.8:9091",
                                 f"http://alice:pa55word@{NAME}:9091/"])
def test_push_when_credentials_would_go_over_plain_http_to_another_host_is_refused(
        url: str, no_connections: None, tmp_path: Path) -> None:
    # Defect: Pushgateway credentials were sent over plain HTTP to non-loopback hosts.
    # 68a4c71 turned user:pw@ into a Basic header whatever the scheme and host.
    with pytest.raises(UsageError) as info:
        export.push(url, make_report("healthy"), io.StringIO())
    assert "https" in str(info.value) and "pa55word" not in str(info.value)
    report = tmp_path / "report.json"
    report.write_text(json.dumps(make_report("healthy")))
    for argv in (["export", str(report), "--push", url], ["run", "--only", "device", "--push", url]):
        result = run_cli(*argv)
        assert result.exit_status == 64, argv
        assert "pa55word" not in result.stderr and result.stderr.count("\n") == 1


def test_push_when_credentials_and_https_sends_them_as_basic_auth_with_ca_file(
        servers: Callable[..., RawServer], ca: trustme.CA, tmp_path: Path) -> None:
    # The allowed case, with ca_file honoured for the push too (68a4c71's push had no
    # trust store but the default one, so this failed with tls_unknown_authority).
    gateway = servers(answer(200), tls_server_ctx(ca, "127.0.0.1"))
    pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    url = f"https://alice:pa55word@127.0.0.1:{gateway.port}"
    assert export.push(url, make_report("healthy"), io.StringIO(), instance="dev1", ca_file=str(pem))
    (head,) = gateway.heads
    assert head.startswith(b"PUT /metrics/job/payprobe/instance/dev1 ")
    assert b"Authorization: Basic YWxpY2U6cGE1NXdvcmQ=\r\n" in head


def test_push_after_run_and_export_command_when_ca_file_set_trust_that_ca(
        servers: Callable[..., RawServer], ca: trustme.CA, tmp_path: Path) -> None:
    # ca_file honoured on every path to the Pushgateway: `run --push` (after_run) and
    # `export --push --config`. Before this issue neither passed ca_file to the sender.
    gateway = servers(answer(200), tls_server_ctx(ca, "127.0.0.1"))
    pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    url = f"https://127.0.0.1:{gateway.port}"
    err = io.StringIO()
    after_run.after_run(after_run.AfterRun(push=url), settings_with(ca_file=str(pem)),
                        make_report("healthy"), err)
    assert len(gateway.heads) == 1, err.getvalue()
    report = tmp_path / "report.json"
    report.write_text(json.dumps(make_report("healthy")))
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'ca_file = "{pem}"\n')
    result = run_cli("export", str(report), "--push", url, "--config", str(cfg))
    assert result.exit_status == 0, result.stderr
    assert len(gateway.heads) == 2
