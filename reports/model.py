"""The report (DESIGN §5, schema_version 1): built from a run, checked when read back."""

from __future__ import annotations

import datetime as _dt
import json
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from payprobe.engine.errors import UsageError
from payprobe.engine.results import RunResult
from payprobe.host import HostInfo
from payprobe.reports.reader import ReportShapeError, check_report
from payprobe.reports.types import SCHEMA_VERSION, Cause, CheckEntry, Host, Report, ReportExtra

SCHEMA_PATH = Path(__file__).parent / "schema" / "report-v1.json"


def iso_utc(ts: float) -> str:
    dt = _dt.datetime.fromtimestamp(ts, tz=_dt.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def overall_status(checks: Sequence[CheckEntry], causes: Sequence[Cause]) -> str:
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


def check_entries(run: RunResult) -> list[CheckEntry]:
    """The run's results as the report's ``checks``."""
    # CheckResult.to_dict() writes exactly the schema's check keys; the engine
    # cannot name this package's types, so the cast is made here, once.
    return [cast(CheckEntry, r.to_dict()) for r in run.results]


def host_entry(host: HostInfo) -> Host:
    return {"platform": host.platform, "termux": host.termux, "os": host.os, "python": host.python}


def build_report(run: RunResult, *, host: Host, trigger: str = "manual",
                 causes: list[Cause] | None = None, version: str,
                 run_id: str | None = None, redacted: bool = True,
                 extra: ReportExtra | None = None) -> Report:
    checks = check_entries(run)
    causes = list(causes or [])
    report: Report = {
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


def report_filename(report: Mapping[str, Any]) -> str:
    stamp = report["started_at"].replace("-", "").replace(":", "").split(".")[0]
    return f"report-{stamp}Z-{report['run_id'][:8]}.json"


def dumps(report: Mapping[str, Any], *, compact: bool = False) -> str:
    """The report as JSON: indented for people (``-f json``), or compact for the
    saved file, where the indentation would be about 45 % of the bytes."""
    if compact:
        return json.dumps(report, ensure_ascii=False, separators=(",", ":")) + "\n"
    return json.dumps(report, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def load_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def validate(report: object) -> list[str]:
    """Schema errors of a report (empty list when valid): the first one the
    built-in reader finds, then jsonschema's when it is installed."""
    try:
        check_report(report)
    except ReportShapeError as exc:
        return [str(exc)]
    return _jsonschema_errors(report, quote_values=True)


def _jsonschema_errors(report: object, *, quote_values: bool) -> list[str]:
    # jsonschema is optional at run time (its compiled dependency is a burden on
    # a phone): the built-in reader alone must be enough, this is a second opinion.
    try:
        import jsonschema
    except ImportError:
        return []
    validator = jsonschema.Draft202012Validator(load_schema())
    errors = sorted(validator.iter_errors(report), key=lambda e: list(map(str, e.absolute_path)))
    # Its messages repeat the offending value, which may hold terminal escapes:
    # for a report from outside only the path and the rule it broke are shown.
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: "
            + (e.message if quote_values else f"does not match the schema ({e.validator})")
            for e in errors]


def parse_report(raw: bytes, source: str) -> Report:
    """A report handed to us from outside (``show``, ``bundle --report``), as
    bytes; UsageError with one sentence naming ``source`` if it is not one."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise UsageError(f"{source}: not a JSON file, expected a payprobe report") from None
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        raise UsageError(f"{source}: not a payprobe report (schema_version {SCHEMA_VERSION} expected)")
    try:
        report = check_report(data)
    except ReportShapeError as exc:
        raise UsageError(f"{source}: not a valid payprobe report: {exc}") from None
    errors = _jsonschema_errors(report, quote_values=False)
    if errors:
        raise UsageError(f"{source}: not a valid payprobe report: {errors[0]}")
    return report
