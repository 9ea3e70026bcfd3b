"""The report (DESIGN §5, schema_version 1): built from a run, written atomically."""

from __future__ import annotations

import datetime as _dt
import json
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).parent / "schema" / "report-v1.json"

_STATUS_RANK = {"healthy": 0, "degraded": 1, "unhealthy": 2}


def iso_utc(ts: float) -> str:
    dt = _dt.datetime.fromtimestamp(ts, tz=_dt.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def overall_status(checks: list[dict[str, Any]], causes: list[dict[str, Any]]) -> str:
    """healthy (no warn/fail finding), degraded (warnings only), unhealthy (a fail
    finding or fail cause), unknown (nothing could be measured)."""
    measured = [c for c in checks if c["status"] not in ("error", "timeout", "skipped")]
    severities = {f["severity"] for c in checks for f in c.get("findings", [])}
    severities |= {c["severity"] for c in causes}
    if "fail" in severities:
        return "unhealthy"
    if not measured:
        return "unknown"
    if "warn" in severities:
        return "degraded"
    return "healthy"


def build_report(run: Any, *, host: dict[str, Any], trigger: str = "manual",
                 causes: list[dict[str, Any]] | None = None, version: str,
                 run_id: str | None = None, redacted: bool = True,
                 extra: dict[str, Any] | None = None) -> dict[str, Any]:
    checks = [r.to_dict() for r in run.results]
    causes = list(causes or [])
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "payprobe", "version": version},
        "run_id": run_id or str(uuid.uuid4()),
        "started_at": iso_utc(run.started_at),
        "duration_s": round(run.duration_s, 3),
        "trigger": trigger,
        "partial": bool(run.partial),
        "redacted": redacted,
        "host": host,
        "status": overall_status(checks, causes),
        "causes": causes,
        "checks": checks,
    }
    if extra:
        report.update(extra)
    return report


def report_filename(report: dict[str, Any]) -> str:
    stamp = report["started_at"].replace("-", "").replace(":", "").split(".")[0]
    return f"report-{stamp}Z-{report['run_id'][:8]}.json"


def dumps(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def write_atomic(path: Path, data: str | bytes, *, mode: int = 0o600) -> Path:
    """Write via a temp file in the same folder + rename: never a half-written file.

    On failure (full disk, permission) the temp file is removed and OSError raised.
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):  # not on Windows
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def load_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate(report: dict[str, Any]) -> list[str]:
    """Schema errors of a report (empty list when valid).

    jsonschema is optional at run time (its compiled dependency is a burden on a
    phone); without it only the top-level required keys are checked.
    """
    try:
        import jsonschema
    except ImportError:
        schema = load_schema()
        return [f"(root): missing {k!r}" for k in schema["required"] if k not in report]

    validator = jsonschema.Draft202012Validator(load_schema())
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in sorted(validator.iter_errors(report), key=lambda e: list(e.absolute_path))]


def read_report(path: str | Path) -> dict[str, Any]:
    """Load a saved report for `payprobe show`; UsageError with one sentence if it is not one."""
    from probe.errors import UsageError, read_input

    p = Path(path)
    raw = read_input(p, "a payprobe JSON report")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise UsageError(f"{p}: not a JSON file, expected a payprobe report") from None
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        raise UsageError(f"{p}: not a payprobe report (schema_version {SCHEMA_VERSION} expected)")
    errors = validate(data)
    if errors:
        raise UsageError(f"{p}: not a valid payprobe report: {errors[0]}")
    return data
