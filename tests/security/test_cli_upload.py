"""Issue 13: `payprobe run --ticket --upload` and `--push` are checked before the run.

Defect: "`run --ticket --upload http://…` warns, exits 0 and writes no bundle.
`run --upload URL` without `--ticket` is silently ignored." 68a4c71 checked the
upload URL only after the run (a warning, exit 0), and never looked at
--upload without --ticket. Here a run that starts fails the test.
"""

from __future__ import annotations

import http.server
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from payprobe.agent import http as sender
from payprobe.engine import paths
from payprobe.engine.errors import UsageError
from payprobe.engine.runner import Runner

from tests.helpers import run_cli

TOKEN = "tok-91b2-never-printed"


@pytest.fixture
def no_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the run started")
    monkeypatch.setattr(Runner, "run", refuse)


def _one_sentence(stderr: str) -> None:
    assert stderr.count("\n") == 1 and stderr.startswith("payprobe: ")
    assert "Traceback" not in stderr


def test_run_upload_when_no_ticket_exits_64_in_one_sentence_before_the_run(no_run: None) -> None:
    result = run_cli("run", "--upload", "https://support.example/up")
    assert result.exit_status == 64
    _one_sentence(result.stderr)
    assert "--ticket" in result.stderr


@pytest.mark.parametrize("url", [
    "http://203.0.113.5/up",                          # plain http to another host
    "http://203.0.113.9:8080\\@127.0.0.1:8080/up",   # urllib3 would connect to 203.0.113.9
    "https://alice:pa55word@support.example/up",      # credentials would replace the token
    "ftp://127.0.0.1/up",
    "https://[::1/up",
])
def test_run_ticket_upload_when_url_is_refused_exits_64_before_the_run(url: str, no_run: None) -> None:
    result = run_cli("run", "--ticket", "--upload", url)
    assert result.exit_status == 64
    _one_sentence(result.stderr)
    assert "pa55word" not in result.stderr
    assert not (paths.data_dir() / "bundles").exists()


def test_run_refuses_exactly_what_the_sender_refuses(monkeypatch: pytest.MonkeyPatch, no_run: None) -> None:
    # One URL policy: the CLI's check is agent/http.py's validator, not a second one.
    seen: list[str] = []
    real = sender.check_url

    def spy(url: str, purpose: sender.Purpose) -> sender.Target:
        seen.append(purpose.what)
        return real(url, purpose)
    monkeypatch.setattr(sender, "check_url", spy)
    assert run_cli("run", "--ticket", "--upload", "http://203.0.113.5/up").exit_status == 64
    assert seen == ["--upload"]
    with pytest.raises(UsageError):
        real("http://203.0.113.5/up", sender.Purpose("--upload", carries_secret=True))


class _Receiver(http.server.BaseHTTPRequestHandler):
    bodies: list[bytes] = []
    auth: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        type(self).bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).auth.append(self.headers.get("Authorization", ""))
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"bodies": [], "auth": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/up", handler
    server.shutdown()
    server.server_close()


def test_run_ticket_upload_when_loopback_uploads_the_bundle_it_wrote(
        receiver: tuple[str, type[_Receiver]], monkeypatch: pytest.MonkeyPatch) -> None:
    # Guard, not a 68a4c71 failure: checking before the run must not stop an allowed upload after it.
    url, handler = receiver
    monkeypatch.setenv("PAYPROBE_UPLOAD_TOKEN", TOKEN)
    result = run_cli("run", "--only", "device", "-q", "--ticket", "--upload", url)
    assert result.exit_status in (0, 1, 2), result.stderr
    assert TOKEN not in result.stderr + result.stdout
    (body,) = handler.bodies
    assert handler.auth == [f"Bearer {TOKEN}"]
    written = Path(result.stderr.split("written to ", 1)[1].splitlines()[0])
    assert written.read_bytes() == body and zipfile.is_zipfile(written)


def test_bundle_upload_when_url_is_refused_exits_64_before_writing_a_bundle(tmp_path: Path) -> None:
    # Guard, not a 68a4c71 failure: 68a4c71's `bundle` checked first too; `bundle` and `run` must agree.
    assert run_cli("run", "--only", "device", "-q").exit_status in (0, 1, 2)
    out = tmp_path / "b.zip"
    result = run_cli("bundle", "--output", str(out), "--upload", "http://203.0.113.5/up")
    assert result.exit_status == 64
    _one_sentence(result.stderr)
    assert not out.exists()
