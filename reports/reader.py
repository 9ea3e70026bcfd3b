"""The one reader of reports from outside (``show REPORT.json``, ``bundle --report``).

A report from outside may have been written by another version, edited by
hand or made to hurt: its ``status`` and ``run_id`` end up in a file name (the
bundle's ticket code), its strings in a terminal, a web page and a zip. So
every field the renderers, the bundle and the history read is checked for its
type here, with the standard library only: jsonschema is an optional extra at
run time, and a phone without it must be exactly as safe.

Two passes over the parsed JSON:

| pass    | what it checks                                                           |
|---------|--------------------------------------------------------------------------|
| sanity  | the whole tree: nesting depth, list and object sizes, string lengths,   |
|         | strings that are valid Unicode (no lone surrogates: they cannot be      |
|         | written to a UTF-8 stream)                                               |
| shape   | every field of reports/schema/report-v1.json: types, finite numbers,   |
|         | words from a fixed set, patterns (run_id, started_at, codes), required |
|         | keys, no unknown keys where the schema closes an object; and the       |
|         | ``redaction_fingerprints`` a --no-redact run records (hex digests,     |
|         | bounded sizes: a bundle's redactor works through them)                  |

The first problem found is raised as :class:`ReportShapeError` with the JSON
path of the field and what was expected; the value itself is never repeated,
since it may hold terminal escapes.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Callable, Mapping
from typing import cast

from payprobe.api import CHECK_STATUSES, SEVERITIES
from payprobe.reports.redact_match import FORMAT as FINGERPRINT_FORMAT
from payprobe.reports.redact_match import KINDS as FINGERPRINT_KINDS
from payprobe.reports.redact_match import MAX_CHARS as FINGERPRINT_MAX_CHARS
from payprobe.reports.redact_match import MAX_WORDS as FINGERPRINT_MAX_WORDS
from payprobe.reports.types import CONFIDENCES, REPORT_LANGS, RUN_STATUSES, SCHEMA_VERSION, TRIGGERS, Report

MAX_DEPTH = 32               # objects and lists inside each other; a real report needs about 8
MAX_ITEMS = 10_000           # entries in one list or object
MAX_STRING_CHARS = 100_000   # one string (a key or a value)

_RUN_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_STARTED_AT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z")
_CAUSE_CODE = re.compile(r"[a-z_]+")
_FINDING_CODE = re.compile(r"[a-z_]+\.[a-z_]+")
_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_SHOWN_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,40}")
_DIGEST = re.compile(r"[0-9a-f]{32}")
_SURROGATE = re.compile("[\ud800-\udfff]")


class ReportShapeError(ValueError):
    """A field of a report is missing or of the wrong kind: ``path: what``."""

    def __init__(self, path: str, what: str) -> None:
        super().__init__(f"{path or '(root)'}: {what}")
        self.path = path
        self.what = what


Field = Callable[[object, str], None]


def check_report(doc: object) -> Report:
    """``doc`` (parsed JSON) as a :class:`Report`, or :class:`ReportShapeError`."""
    _sane(doc, "", 0)
    _obj(doc, "", _REPORT_REQUIRED, _REPORT_OPTIONAL, closed=False)
    return cast(Report, doc)   # every field was checked above


# ------------------------------------------------------------------ pass 1: sanity


def _key_label(key: str) -> str:
    # A key goes into an error message only when it cannot carry escapes.
    return key if _SHOWN_KEY.fullmatch(key) else "?"


def _join(path: str, key: object) -> str:
    part = str(key) if isinstance(key, int) else _key_label(str(key))
    return f"{path}/{part}" if path else part


def _sane_string(value: str, path: str) -> None:
    if len(value) > MAX_STRING_CHARS:
        raise ReportShapeError(path, f"string longer than {MAX_STRING_CHARS} characters")
    if _SURROGATE.search(value):
        raise ReportShapeError(path, "string is not valid Unicode (a lone surrogate)")


def _sane(value: object, path: str, depth: int) -> None:
    if isinstance(value, str):
        _sane_string(value, path)
        return
    if not isinstance(value, (dict, list)):
        return
    if depth >= MAX_DEPTH:
        raise ReportShapeError(path, f"nested more than {MAX_DEPTH} levels deep")
    if len(value) > MAX_ITEMS:
        raise ReportShapeError(path, f"more than {MAX_ITEMS} entries")
    if isinstance(value, list):
        for i, item in enumerate(value):
            _sane(item, _join(path, i), depth + 1)
        return
    for key, item in value.items():
        _sane_string(str(key), _join(path, key))
        _sane(item, _join(path, key), depth + 1)


# ------------------------------------------------------------------ pass 2: shape


def _string(value: object, path: str) -> None:
    if not isinstance(value, str):
        raise ReportShapeError(path, "expected a string")


def _nonempty_string(value: object, path: str) -> None:
    _string(value, path)
    if not value:
        raise ReportShapeError(path, "expected a non-empty string")


def _boolean(value: object, path: str) -> None:
    if not isinstance(value, bool):
        raise ReportShapeError(path, "expected true or false")


def _number(value: object, path: str) -> None:
    # bool is an int in Python but not a number in JSON; a float must survive
    # float() and formatting, so no NaN, no infinity, no 400-digit integer.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ReportShapeError(path, "expected a number")
    try:
        finite = math.isfinite(float(value))
    except OverflowError:
        finite = False
    if not finite:
        raise ReportShapeError(path, "expected a finite number")


def _seconds(value: object, path: str) -> None:
    _number(value, path)
    if cast(float, value) < 0:
        raise ReportShapeError(path, "expected a number of seconds, at least 0")


def _count_between(least: int, most: int) -> Field:
    def check(value: object, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
            raise ReportShapeError(path, f"expected a whole number from {least} to {most}")
    return check


def _object(value: object, path: str) -> None:
    if not isinstance(value, dict):
        raise ReportShapeError(path, "expected an object")


def _optional_string(value: object, path: str) -> None:
    if value is not None:
        _string(value, path)


def _one_of(words: tuple[str, ...]) -> Field:
    def check(value: object, path: str) -> None:
        if not isinstance(value, str) or value not in words:
            raise ReportShapeError(path, f"expected one of {', '.join(words)}")
    return check


def _matching(pattern: re.Pattern[str], described: str) -> Field:
    def check(value: object, path: str) -> None:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise ReportShapeError(path, f"expected {described}")
    return check


def _list_of(item: Field) -> Field:
    def check(value: object, path: str) -> None:
        if not isinstance(value, list):
            raise ReportShapeError(path, "expected a list")
        for i, entry in enumerate(value):
            item(entry, _join(path, i))
    return check


def _object_of(item: Field) -> Field:
    def check(value: object, path: str) -> None:
        _object(value, path)
        for key, entry in cast(dict[str, object], value).items():
            item(entry, _join(path, key))
    return check


def _obj(value: object, path: str, required: Mapping[str, Field], optional: Mapping[str, Field],
         *, closed: bool) -> None:
    """An object with ``required`` and ``optional`` keys; ``closed``: no others."""
    _object(value, path)
    fields = cast(dict[str, object], value)
    for key, check in required.items():
        if key not in fields:
            raise ReportShapeError(_join(path, key), "missing")
        check(fields[key], _join(path, key))
    for key, check in optional.items():
        if key in fields:
            check(fields[key], _join(path, key))
    if closed:
        for key in fields:
            if key not in required and key not in optional:
                raise ReportShapeError(_join(path, key), "unexpected key")


def _shape(required: Mapping[str, Field], optional: Mapping[str, Field] | None = None, *,
           closed: bool) -> Field:
    def check(value: object, path: str) -> None:
        _obj(value, path, required, optional or {}, closed=closed)
    return check


def _started_at(value: object, path: str) -> None:
    _matching(_STARTED_AT, "a UTC time like 2026-11-26T01:02:03.123Z")(value, path)
    try:
        _dt.datetime.strptime(cast(str, value)[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise ReportShapeError(path, "expected a real date and time") from None


def _schema_version(value: object, path: str) -> None:
    if isinstance(value, bool) or value != SCHEMA_VERSION:
        raise ReportShapeError(path, f"expected {SCHEMA_VERSION}")


_METRIC = _shape({"name": _matching(_METRIC_NAME, "a metric name"), "value": _number, "unit": _string,
                  "labels": _object_of(_string)}, closed=True)
_FINDING = _shape({"code": _matching(_FINDING_CODE, "a finding code like dns.hijack"),
                   "severity": _one_of(SEVERITIES), "message": _string, "target": _string,
                   "data": _object}, closed=True)
_CHECK = _shape({"name": _nonempty_string, "version": _string, "status": _one_of(CHECK_STATUSES),
                 "duration_s": _seconds, "summary": _string, "metrics": _list_of(_METRIC),
                 "findings": _list_of(_FINDING), "error": _optional_string},
                {"evidence": _list_of(_object)}, closed=True)
_CAUSE = _shape({"code": _matching(_CAUSE_CODE, "a cause code like clock_wrong"),
                 "severity": _one_of(SEVERITIES), "confidence": _one_of(CONFIDENCES), "title": _string,
                 "explanation": _string, "remedies": _list_of(_string), "findings": _list_of(_string)},
                {"target": _string, "variant": _string, "params": _object, "remedy_keys": _list_of(_string)},
                closed=False)
_SUMMARY = _shape({}, {"verdict": _string, "verdict_code": _string, "network_ok": _boolean,
                       "top_cause": _optional_string, "ruled_out": _list_of(_string),
                       "next_steps_intro": _string, "next_steps": _list_of(_string),
                       "verdict_params": _object, "ruled_out_keys": _list_of(_string),
                       "next_step_keys": _list_of(_string)}, closed=False)
_TOOL = _shape({"name": _one_of(("payprobe",)), "version": _string}, closed=False)
_HOST = _shape({"platform": _string, "termux": _boolean, "os": _string, "python": _string}, closed=False)

_DIGESTS = _list_of(_matching(_DIGEST, "a fingerprint (32 hex digits)"))
# What a --no-redact run records for a later bundle (payprobe.reports.redact): salted
# hashes only; its sizes bound the matcher's work, so they are bounded here.
_FINGERPRINTS = _shape({"format": _one_of((FINGERPRINT_FORMAT,)), "check": _matching(_DIGEST, "32 hex digits"),
                        "max_chars": _count_between(0, FINGERPRINT_MAX_CHARS),
                        "max_words": _count_between(1, FINGERPRINT_MAX_WORDS),
                        "digests": _shape({}, dict.fromkeys(FINGERPRINT_KINDS, _DIGESTS), closed=True)},
                       closed=True)

_REPORT_REQUIRED: dict[str, Field] = {
    "schema_version": _schema_version, "tool": _TOOL,
    "run_id": _matching(_RUN_ID, "a lower-case UUID"), "started_at": _started_at,
    "duration_s": _seconds, "trigger": _one_of(TRIGGERS), "partial": _boolean, "redacted": _boolean,
    "host": _HOST, "status": _one_of(RUN_STATUSES), "causes": _list_of(_CAUSE), "checks": _list_of(_CHECK),
}
_REPORT_OPTIONAL: dict[str, Field] = {"lang": _one_of(REPORT_LANGS), "summary": _SUMMARY,
                                      "redaction_fingerprints": _FINGERPRINTS,
                                      "endpoint_names": _object_of(_object_of(_string))}
