"""The HTML report in headless Chromium (Debian package chromium): it loads
without console errors (a CSP violation or a script error would log one) and a
phone-width screenshot is taken.

Skips when chromium is not installed, except under CI=true where it fails.
The page is a local file with no external assets and Chromium runs with its
background networking off: nothing leaves the machine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from payprobe.reports.render import render

from tests.test_render import sample_report

PHONE = "412,915"


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is not installed (apt-get install -y chromium)")
    pytest.skip("chromium is not installed (apt-get install -y chromium)")


def _run(page: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
            "--disable-default-apps", f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr", "--v=0", f"--window-size={PHONE}", *extra, page.as_uri()]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=tmp_path)


def _console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if re.search(r":CONSOLE[:(]", line) or "Uncaught" in line]


def test_console_detection_catches_a_broken_page(tmp_path: Path) -> None:
    # Negative control: proves the grep below would see an error if the report had one.
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><p>x</p><script>throw new Error('boom-control')</script>")
    proc = _run(page, tmp_path, "--dump-dom")
    assert any("boom-control" in m for m in _console_messages(proc.stderr))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_html_report_loads_without_console_errors_and_screenshots(tmp_path: Path, lang: str) -> None:
    page = tmp_path / f"report-{lang}.html"
    page.write_text(render(sample_report(lang), "html", lang=lang), encoding="utf-8")

    proc = _run(page, tmp_path, "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _console_messages(proc.stderr) == []
    dom = proc.stdout
    assert "<svg" in dom and "<details" in dom
    assert ("The phone's clock is wrong" if lang == "en" else "手机时间不准") in dom
    # The hostile value in the report stayed text: no element was created from it.
    assert "<script>alert" not in dom and "&lt;script&gt;alert(1)" in dom

    shot = tmp_path / f"report-{lang}.png"
    proc = _run(page, tmp_path, "--hide-scrollbars", f"--screenshot={shot}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _console_messages(proc.stderr) == []
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (412, 915)
    keep = os.environ.get("PAYPROBE_KEEP_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)
