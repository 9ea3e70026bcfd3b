"""Reports from outside (``payprobe show R.json``, ``payprobe bundle --report R.json``).

Issue 13, "Reports from outside": a hostile report must not write outside the
bundle folder nor put ``../`` into zip entry names, and mistyped fields must give
exit 64 with one sentence, with or without jsonschema installed. Each test names
the defect it guards; each fails on the code as it landed (68a4c71).
"""

from __future__ import annotations

import copy
import io
import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from payprobe.engine.errors import UsageError
from payprobe.engine.exitcodes import ExitStatus
from payprobe.reports import bundle
from payprobe.reports.model import parse_report

from tests.helpers import run_cli

SAFE_CODE = re.compile(r"[A-Za-z0-9_-]+")
TRAVERSAL = "x/../../../tmp/X"


def valid_report() -> dict[str, Any]:
    return {
        "schema_version": 1, "tool": {"name": "payprobe", "version": "0.1.0"},
        "run_id": "12345678-1234-4234-8234-123456789abc", "started_at": "2026-11-26T01:02:03.123Z",
        "duration_s": 1.0, "trigger": "manual", "partial": False, "redacted": True,
        "host": {"platform": "linux", "termux": False, "os": "Linux", "python": "3.11.7"},
        "status": "unhealthy",
        "causes": [{"code": "clock_wrong", "severity": "fail", "confidence": "high", "title": "t",
                    "explanation": "e", "remedies": ["r"], "findings": ["clock.skew"]}],
        "checks": [{"name": "clock", "version": "1", "status": "fail", "duration_s": 0.1,
                    "summary": "s", "error": None,
                    "metrics": [{"name": "clock_offset_seconds", "value": 1.5, "unit": "s",
                                 "labels": {"source": "best"}}],
                    "findings": [{"code": "clock.skew", "severity": "fail", "message": "m",
                                  "target": "t", "data": {}}]}],
        "lang": "en", "summary": {"verdict": "v", "next_steps": ["a"]},
    }


def write(tmp_path: Path, report: Any, name: str = "r.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(report), encoding="utf-8")
    return path


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


# ------------------------------------------------------------------ the ticket code and the zip


@pytest.mark.parametrize("field,value", [
    ("status", TRAVERSAL), ("status", "/etc/passwd"), ("status", "a\\..\\..\\b"),
    ("run_id", "../../../../tmp/Y"), ("run_id", "..\x00/.."),
])
def test_ticket_code_when_fields_are_hostile_is_one_safe_file_name_part(field: str, value: str) -> None:
    # Defect: ticket_code() pasted run_id, status and the top cause into the code
    # unchecked, and the code names the bundle file and the zip's folder.
    report = valid_report()
    report[field] = value
    report["causes"][0]["code"] = "../../evil"
    code = bundle.ticket_code(report)  # type: ignore[arg-type]
    assert SAFE_CODE.fullmatch(code), code
    assert ".." not in code


def test_bundle_when_report_is_hostile_keeps_every_zip_entry_in_its_folder() -> None:
    # Defect: a status like x/../../../tmp/X put ../ into the zip's entry names.
    report = valid_report()
    report["status"] = TRAVERSAL
    report["run_id"] = "../../../../../../tmp/Z"
    data, code = bundle.build_bundle(report, lang="en", salt=b"s" * 16)  # type: ignore[arg-type]
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names and all(n.startswith(f"payprobe-{code}/") for n in names)
    assert all(".." not in n and not n.startswith("/") and "\\" not in n for n in names), names


def test_bundle_cli_when_status_is_a_path_exits_64_and_writes_nothing(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Defect: `bundle --report` with status x/../../../tmp/X wrote a zip outside the bundle
    # folder, on a device without jsonschema (an optional extra at run time).
    monkeypatch.setitem(sys.modules, "jsonschema", None)
    report = valid_report()
    report["status"] = "x/../../escaped"
    path = write(tmp_path, report)
    before = files_under(tmp_path)
    res = run_cli("bundle", "--report", str(path), "--last", "0")
    assert res.exit_status == ExitStatus.USAGE
    assert res.stderr.startswith("payprobe: ") and res.stderr.count("\n") == 1
    assert files_under(tmp_path) == before


@pytest.mark.parametrize("year", ["0001", "1979", "2108", "9999"])
def test_bundle_when_started_at_is_outside_the_zip_date_range_still_writes_a_zip(
        tmp_path: Path, year: str) -> None:
    # Defect: a real date the reader accepts (0001-01-01) but a zip cannot hold made
    # zipfile raise (ValueError, struct.error): "internal error", exit 3.
    report = valid_report()
    report["started_at"] = f"{year}-01-01T00:00:00Z"
    path = write(tmp_path, report)
    target = tmp_path / "b.zip"
    res = run_cli("bundle", "--report", str(path), "--last", "0", "--output", str(target))
    assert res.exit_status == ExitStatus.SUCCESS, res.stderr
    assert zipfile.ZipFile(target).testzip() is None


# ------------------------------------------------------------------ mistyped fields


def _set(report: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    node: Any = report
    keys = [int(k) if k.isdigit() else k for k in path.split("/")]
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return report


MISTYPED = [
    ("checks", "abc"), ("checks", [1, 2]), ("causes", [1, 2]), ("causes", "x"),
    ("host", [[{"a": []}]]), ("tool", None), ("summary", [1]),
    ("checks/0/metrics", {"a": 1}), ("checks/0/metrics/0/value", "1.5"),
    ("checks/0/metrics/0/labels", {"source": ["nested", {"junk": 1}]}),
    ("checks/0/findings/0/severity", 7), ("checks/0/findings/0/data", "x"),
    ("checks/0/duration_s", float("nan")), ("checks/0/status", {"ok": True}),
    ("causes/0/remedies", [1, 2]), ("causes/0/findings", "clock.skew"),
    ("causes/0/title", {"en": "x"}), ("host/termux", "no"),
    ("summary/next_steps", "go"), ("summary/network_ok", "yes"), ("lang", 5),
]


@pytest.mark.parametrize("field,value", MISTYPED, ids=[m[0] for m in MISTYPED])
@pytest.mark.parametrize("command", ["show", "bundle"])
def test_report_with_a_mistyped_field_exits_64_with_one_sentence(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, field: str, value: Any, command: str) -> None:
    # Defect: checks as a string, causes as numbers... gave "internal error", exit 3, or
    # were rendered, on a device without jsonschema (an optional extra at run time).
    monkeypatch.setitem(sys.modules, "jsonschema", None)   # `import jsonschema` now fails
    path = write(tmp_path, _set(valid_report(), field, value))
    argv = ["show", str(path)] if command == "show" else ["bundle", "--report", str(path), "--last", "0",
                                                          "--output", str(tmp_path / "b.zip")]
    res = run_cli(*argv)
    assert res.exit_status == ExitStatus.USAGE, res.stderr
    assert res.stderr.startswith("payprobe: ") and res.stderr.count("\n") == 1
    assert "internal error" not in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize("field,value", [m for m in MISTYPED if "/" in m[0]],
                         ids=[m[0] for m in MISTYPED if "/" in m[0]])
def test_parse_report_without_jsonschema_checks_nested_fields(
        monkeypatch: pytest.MonkeyPatch, field: str, value: Any) -> None:
    # Defect: without jsonschema at run time only the top-level keys were checked.
    monkeypatch.setitem(sys.modules, "jsonschema", None)   # `import jsonschema` now fails
    raw = json.dumps(_set(valid_report(), field, value)).encode()
    with pytest.raises(UsageError) as info:
        parse_report(raw, "r.json")
    assert str(info.value).startswith("r.json: ") and "\n" not in str(info.value)


def test_parse_report_error_never_repeats_the_hostile_value(tmp_path: Path) -> None:
    # A field's value may hold terminal escapes: the sentence names the path only.
    hostile = "\x1b]0;pwned\x07"
    path = write(tmp_path, _set(valid_report(), "checks/0/status", hostile))
    res = run_cli("show", str(path))
    assert res.exit_status == ExitStatus.USAGE
    assert "\x1b" not in res.stderr and "pwned" not in res.stderr
    assert "checks/0/status" in res.stderr


# ------------------------------------------------------------------ recorded fingerprints


@pytest.mark.parametrize("record", [
    "abc", [1], {"format": "payprobe-fingerprints/1", "check": "0" * 32, "max_chars": 10**9,
                 "max_words": 1, "digests": {}},
    {"format": "payprobe-fingerprints/1", "check": "0" * 32, "max_chars": 8, "max_words": 1,
     "digests": {"hostname": "abc"}},
    {"format": "payprobe-fingerprints/1", "check": "0" * 32, "max_chars": 8, "max_words": 1,
     "digests": {"../x": ["0" * 32]}},
])
def test_report_with_hostile_redaction_fingerprints_exits_64(tmp_path: Path, record: Any) -> None:
    # The fingerprints a --no-redact run records are read back by the bundle: a
    # mistyped record, or one sized to make the matcher quadratic, is bad input.
    report = copy.deepcopy(valid_report())
    report["redacted"] = False
    report["redaction_fingerprints"] = record
    path = write(tmp_path, report)
    res = run_cli("bundle", "--report", str(path), "--last", "0", "--output", str(tmp_path / "b.zip"))
    assert res.exit_status == ExitStatus.USAGE, res.stderr
    assert res.stderr.count("\n") == 1
