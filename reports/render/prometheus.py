"""Prometheus text exposition format (version 0.0.4), e.g. for node_exporter's
textfile collector or a Pushgateway.

- ``payprobe_check_status{check, status}``: a state set, 1 for the check's
  status and 0 for the other statuses, so alerts can match on either label.
- ``payprobe_check_duration_seconds{check}``.
- ``payprobe_status{status}`` (the run, as a state set), ``payprobe_run_duration_seconds``,
  ``payprobe_cause{code, severity, confidence}`` (1 per cause).
- every check metric as ``payprobe_<name>`` with its labels plus ``check``; the path
  check's per-hop series keep only their bounded labels (see PATH_LABELS).

Prometheus wants base units: a metric whose name carries another time unit
(``tls_cert_days_left``) is exported in seconds (``payprobe_tls_cert_seconds_left``,
value x 86400), so ``promtool check metrics`` passes; the JSON report keeps the
DESIGN name. Metric and label names are sanitised to the allowed alphabet; label values are
escaped (backslash, double quote, newline) as the format requires, and other control
characters (CR, ESC, NUL, C1, U+2028/2029), which the format has no escape for and which
break its one-sample-per-line reading and a terminal showing it, become U+FFFD. A family's
samples are written together under one HELP and TYPE line, and duplicate
series are dropped (the format forbids them).
"""

from __future__ import annotations

import math
import re
from dataclasses import fields
from typing import Any

from payprobe.settings import PathConfig

CHECK_STATUSES = ("ok", "warn", "fail", "error", "timeout", "skipped")
RUN_STATUSES = ("healthy", "degraded", "unhealthy", "unknown")
# The path check's series (path_hops, path_hop_loss_ratio, path_hop_rtt_seconds: every metric
# named path_*) keep only labels whose values are bounded, so a scrape holds at most
# endpoints x 2 x MAX_HOPS series of each: endpoint (one per endpoint the config names),
# ip_family (ipv4 | ipv6) and hop (1..MAX_HOPS, the config's ceiling on path.max_hops, 64).
# A hop's address never becomes a label: routes change, and every new router would be a new
# series kept for ever. A sample whose family or hop falls outside the bound is dropped.
PATH_LABELS = ("check", "endpoint", "ip_family", "hop")
PATH_FAMILIES = ("ipv4", "ipv6")
MAX_HOPS = int(next(f for f in fields(PathConfig) if f.name == "max_hops").metadata["max"])
_BAD_NAME = re.compile(r"[^a-zA-Z0-9_:]")
_BAD_LABEL = re.compile(r"[^a-zA-Z0-9_]")
# Every control character but the newline, which has its own escape.
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def path_labels(labels: dict[str, Any]) -> dict[str, Any] | None:
    """A path_* metric's labels within their bound (see PATH_LABELS), or None to drop the sample."""
    kept = {k: v for k, v in labels.items() if k in PATH_LABELS}
    if "ip_family" in kept and kept["ip_family"] not in PATH_FAMILIES:
        return None
    if "hop" in kept:
        hop = str(kept["hop"])
        if not (hop.isascii() and hop.isdigit() and 1 <= int(hop) <= MAX_HOPS):
            return None
        kept["hop"] = str(int(hop))   # "07" and "7" are one series
    return kept


def metric_name(name: str) -> str:
    clean = _BAD_NAME.sub("_", str(name))
    if not clean or clean[0].isdigit():
        clean = "_" + clean
    return clean


def label_name(name: str) -> str:
    clean = _BAD_LABEL.sub("_", str(name))
    if not clean or clean[0].isdigit():
        clean = "_" + clean
    if clean.startswith("__"):  # reserved for Prometheus' internal use
        clean = "x" + clean
    return clean


def label_value(value: Any) -> str:
    text = _CONTROL.sub("\ufffd", str(value))
    return text.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")


def help_text(text: str) -> str:
    return _CONTROL.sub("\ufffd", str(text)).replace("\\", "\\\\").replace("\n", "\\n")


def number(value: Any) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "NaN"
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v) if v != int(v) or abs(v) >= 1e15 else str(int(v))


_TIME_UNITS = {"days": 86400.0, "hours": 3600.0, "minutes": 60.0, "milliseconds": 1e-3,
               "microseconds": 1e-6, "nanoseconds": 1e-9}


def base_unit(name: str, value: Any) -> tuple[str, Any]:
    """(name, value) with a non-base time unit in the name converted to seconds."""
    parts = name.split("_")
    for i, part in enumerate(parts):
        factor = _TIME_UNITS.get(part)
        if factor is not None:
            parts[i] = "seconds"
            try:
                return "_".join(parts), float(value) * factor
            except (TypeError, ValueError):
                return "_".join(parts), value
    return name, value


class _Families:
    def __init__(self) -> None:
        self.order: list[str] = []
        self.help: dict[str, str] = {}
        self.samples: dict[str, list[str]] = {}
        self.seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()

    def add(self, name: str, labels: dict[str, Any], value: Any, help_: str) -> None:
        name = metric_name(name)
        clean: dict[str, str] = {}
        for k, v in labels.items():
            clean.setdefault(label_name(k), str(v))
        key = (name, tuple(sorted(clean.items())))
        if key in self.seen:
            return
        self.seen.add(key)
        if name not in self.help:
            self.order.append(name)
            self.help[name] = help_
            self.samples[name] = []
        rendered = ",".join(f'{k}="{label_value(v)}"' for k, v in sorted(clean.items()))
        self.samples[name].append(f"{name}{{{rendered}}} {number(value)}" if rendered
                                  else f"{name} {number(value)}")

    def text(self) -> str:
        out: list[str] = []
        for name in self.order:
            out.append(f"# HELP {name} {help_text(self.help[name])}")
            out.append(f"# TYPE {name} gauge")
            out += self.samples[name]
        return "\n".join(out) + "\n"


def render(report: dict[str, Any], *, lang: str = "en", colour: bool = False) -> str:
    fam = _Families()
    status = str(report.get("status", "unknown"))
    for s in RUN_STATUSES:
        fam.add("payprobe_status", {"status": s}, 1 if s == status else 0,
                "Overall status of the run (1 for the current status).")
    fam.add("payprobe_run_duration_seconds", {}, report.get("duration_s", 0), "Duration of the whole run.")
    fam.add("payprobe_run_partial", {}, 1 if report.get("partial") else 0,
            "1 when the run was interrupted and the report is partial.")
    checks = report.get("checks") or []
    for check in checks:
        name = str(check.get("name", ""))
        for s in CHECK_STATUSES:
            fam.add("payprobe_check_status", {"check": name, "status": s},
                    1 if check.get("status") == s else 0, "Status of each check (1 for its current status).")
    for check in checks:
        fam.add("payprobe_check_duration_seconds", {"check": check.get("name", "")},
                check.get("duration_s", 0), "How long each check took.")
    for cause in report.get("causes") or []:
        fam.add("payprobe_cause", {"code": cause.get("code", ""), "severity": cause.get("severity", ""),
                                   "confidence": cause.get("confidence", ""),
                                   "target": cause.get("target", "")},
                1, "Diagnosed causes, most likely first (1 per cause).")
    for check in checks:
        for m in check.get("metrics") or []:
            labels = {"check": check.get("name", "")}
            labels.update({str(k): v for k, v in (m.get("labels") or {}).items()})
            raw = str(m.get("name", "unnamed"))
            if raw.startswith("path_"):
                bounded = path_labels(labels)
                if bounded is None:
                    continue
                labels = bounded
            name, value = base_unit(raw, m.get("value"))
            unit = "s" if name != raw else (m.get("unit") or "")
            fam.add(f"payprobe_{name}", labels, value,
                    f"payprobe metric {raw}" + (f" ({unit})" if unit else "") + ".")
    return fam.text()
