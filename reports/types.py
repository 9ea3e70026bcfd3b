"""The report's shape as Python types: TypedDicts mirroring reports/schema/report-v1.json.

| type          | where in the report                 | schema                 |
|---------------|-------------------------------------|------------------------|
| Report        | the document                        | (root)                 |
| Tool, Host    | ``tool``, ``host``                  | properties.tool, .host |
| Summary       | ``summary`` (optional)              | properties.summary     |
| Cause         | ``causes[]``                        | $defs/cause            |
| CheckEntry    | ``checks[]``                        | $defs/check            |
| MetricEntry   | ``checks[].metrics[]``              | $defs/metric           |
| FindingEntry  | ``checks[].findings[]``             | $defs/finding          |

The schema is the contract; these types only let mypy see it. Fields the
schema constrains to a set of words (statuses, severities) are ``str`` here,
and the allowed words are the tuples below, which the reader of reports from
outside (payprobe.reports.reader) checks. Optional keys sit in a ``total=False``
subclass because ``NotRequired`` needs Python 3.11.
"""

from __future__ import annotations

from typing import Any, TypedDict

from payprobe.api import CHECK_STATUSES, SEVERITIES

SCHEMA_VERSION = 1
RUN_STATUSES = ("healthy", "degraded", "unhealthy", "unknown")
CONFIDENCES = ("high", "medium", "low")
TRIGGERS = ("manual", "schedule", "watch", "ticket", "test")
REPORT_LANGS = ("en", "zh")


class Tool(TypedDict):
    name: str                   # always "payprobe"
    version: str


class Host(TypedDict):
    platform: str               # android | linux | darwin | windows
    termux: bool
    os: str
    python: str


class MetricEntry(TypedDict):
    name: str
    value: float
    unit: str
    labels: dict[str, str]


class FindingEntry(TypedDict):
    code: str
    severity: str               # one of SEVERITIES
    message: str
    target: str
    data: dict[str, Any]


class _CheckRequired(TypedDict):
    name: str
    version: str
    status: str                 # one of CHECK_STATUSES
    duration_s: float
    summary: str
    metrics: list[MetricEntry]
    findings: list[FindingEntry]
    error: str | None


class CheckEntry(_CheckRequired, total=False):
    evidence: list[dict[str, Any]]


class _CauseRequired(TypedDict):
    code: str
    severity: str               # one of SEVERITIES
    confidence: str             # one of CONFIDENCES
    title: str
    explanation: str
    remedies: list[str]
    findings: list[str]         # finding codes


class Cause(_CauseRequired, total=False):
    target: str
    # What the text is made from (payprobe.reports.wording re-makes it in any language):
    variant: str                # which wording of the cause (catalog "variants"), when not the plain one
    params: dict[str, Any]      # placeholder -> phrase (payprobe.reports.phrase), never translated text
    remedy_keys: list[str]      # keys of the catalog's "remedies", in order


class Summary(TypedDict, total=False):
    """What diagnosis says in plain words. The schema asks only for an object, so
    a report from elsewhere may lack any of these; diagnosis writes them all."""

    verdict: str
    verdict_code: str
    network_ok: bool
    top_cause: str | None
    ruled_out: list[str]
    next_steps_intro: str
    next_steps: list[str]
    # What the text is made from (payprobe.reports.wording):
    verdict_params: dict[str, Any]   # placeholder -> phrase of summary "verdict.<verdict_code>"
    ruled_out_keys: list[str]        # summary "ruled_out.<key>"
    next_step_keys: list[str]        # summary "next.<key>"


class ReportExtra(TypedDict, total=False):
    lang: str                   # one of REPORT_LANGS
    summary: Summary
    # Display names the config gave its endpoints: endpoint name -> language -> name.
    endpoint_names: dict[str, dict[str, str]]
    # A --no-redact run only: salted hashes (never the values) of what identifies the
    # device, so a later bundle redacts with the secrets of the run (reports/redact.py).
    redaction_fingerprints: dict[str, Any]


class _ReportRequired(TypedDict):
    schema_version: int
    tool: Tool
    run_id: str                 # uuid4, lower-case hex
    started_at: str             # 2026-11-26T01:02:03.123Z
    duration_s: float
    trigger: str                # one of TRIGGERS
    partial: bool
    redacted: bool
    host: Host
    status: str                 # one of RUN_STATUSES
    causes: list[Cause]
    checks: list[CheckEntry]


class Report(_ReportRequired, ReportExtra):
    """The whole report (DESIGN §5)."""


__all__ = [
    "CHECK_STATUSES", "CONFIDENCES", "REPORT_LANGS", "RUN_STATUSES", "SCHEMA_VERSION", "SEVERITIES",
    "TRIGGERS", "Cause", "CheckEntry", "FindingEntry", "Host", "MetricEntry", "Report", "ReportExtra",
    "Summary", "Tool",
]
