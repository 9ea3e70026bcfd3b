"""The report (DESIGN §5, schema_version 1): built from a run, checked when read back."""

from __future__ import annotations

import datetime as _dt
import json
import uuid
from pathlib import Path
from typing import Any

from payprobe.engine.errors import UsageError

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


def parse_report(raw: bytes, source: str) -> dict[str, Any]:
    """A report handed to us from outside (``show``, ``bundle --report``), as
    bytes; UsageError with one sentence naming ``source`` if it is not one."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise UsageError(f"{source}: not a JSON file, expected a payprobe report") from None
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        raise UsageError(f"{source}: not a payprobe report (schema_version {SCHEMA_VERSION} expected)")
    errors = validate(data)
    if errors:
        raise UsageError(f"{source}: not a valid payprobe report: {errors[0]}")
    return data
