from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from payprobe.engine import files
from payprobe.reports import model

from tests.helpers import run_cli


def test_write_atomic_leaves_nothing_behind_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "r.json"

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        files.write_atomic(target, "{}")
    assert list(tmp_path.iterdir()) == []


def test_write_atomic_replaces_whole_file_with_mode_0600(tmp_path):
    target = tmp_path / "r.json"
    target.write_text("old")
    files.write_atomic(target, "new")
    assert target.read_text() == "new"
    assert oct(target.stat().st_mode & 0o777) == "0o600"


def test_overall_status_rules():
    ok = {"status": "ok", "findings": []}
    warn = {"status": "warn", "findings": [{"severity": "warn"}]}
    fail = {"status": "fail", "findings": [{"severity": "fail"}]}
    err = {"status": "error", "findings": []}
    assert model.overall_status([ok], []) == "healthy"
    assert model.overall_status([ok, warn], []) == "degraded"
    assert model.overall_status([warn, fail], []) == "unhealthy"
    assert model.overall_status([ok], [{"severity": "fail"}]) == "unhealthy"
    assert model.overall_status([err, {"status": "skipped", "findings": []}], []) == "unknown"


def _need_root_for_mount():
    if os.geteuid() != 0 or not sys.platform.startswith("linux"):
        if os.environ.get("CI") == "true":
            pytest.fail("this test needs root on Linux to mount a full tmpfs, and CI runs as root")
        pytest.skip("needs root on Linux to mount a tiny tmpfs")


def test_full_disk_falls_back_and_loses_nothing(tmp_path, monkeypatch):
    _need_root_for_mount()
    full = tmp_path / "full"
    full.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs", str(full)], check=True)
    try:
        # Fill the disk completely (unbuffered, so close() has nothing left to flush).
        fd = os.open(full / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"x" * 512)
        except OSError:
            pass
        finally:
            os.close(fd)
        monkeypatch.setenv("PAYPROBE_DATA_DIR", str(full / "data"))
        fallback = tmp_path / "tmp"
        fallback.mkdir()
        monkeypatch.setenv("TMPDIR", str(fallback))
        import tempfile
        monkeypatch.setattr(tempfile, "tempdir", str(fallback))
        res = run_cli("run", "--only", "device", "--format", "json", "--output", "-")
        assert res.exit_status in (0, 1)
        assert "could not save the report" in res.stderr
        saved = list(fallback.glob("report-*.json"))
        assert len(saved) == 1
        assert json.loads(saved[0].read_text())["run_id"] == res.json()["run_id"]
        # No half-written report (or its temp file) is left on the full disk.
        leftovers = [p.name for p in full.rglob("*") if p.is_file()
                     and (p.name.endswith(".tmp") or p.name.startswith(("report-", ".report-")))]
        assert leftovers == []
    finally:
        subprocess.run(["umount", str(full)], check=False)


def test_parse_report_without_jsonschema_accepts_a_valid_report(monkeypatch):
    from tests.security.test_reports_from_outside import valid_report
    monkeypatch.setitem(sys.modules, "jsonschema", None)   # `import jsonschema` now fails
    report = valid_report()
    assert model.parse_report(json.dumps(report).encode(), "r.json") == report


def test_parse_report_accepts_the_fingerprints_a_no_redact_run_records(monkeypatch):
    from payprobe.reports.redact import Secrets, fingerprint_record

    from tests.security.test_reports_from_outside import valid_report
    report = valid_report()
    report["redacted"] = False
    report["redaction_fingerprints"] = fingerprint_record(
        secrets=Secrets(hostname={"alices-phone"}, addresses={"192.168.1.9"}), salt=b"s" * 16)
    assert model.validate(report) == []
    assert model.parse_report(json.dumps(report).encode(), "r.json") == report
