"""Fleet export: Prometheus text exposition for node_exporter's textfile
collector, and a push to a Prometheus Pushgateway.

The pushgateway grouping key is job="payprobe" and instance=<this device>;
the instance is a stable salted hash of the hostname unless the report was
made with --no-redact (a redacted report must not name the device anywhere).
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import re
import socket
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote, urlsplit

from payprobe.agent import history, http
from payprobe.engine import paths
from payprobe.engine.files import write_atomic
from payprobe.engine.secrets import salt_file
from payprobe.reports.render import render
from payprobe.reports.types import Report

PUSH_DEADLINE_S = 10.0
# Metrics alone are no secret: plain http to a LAN Pushgateway is fine. Credentials are:
# with user:password@ the URL must be https (or loopback), see http.check_url.
PUSH = http.Purpose("--push", carries_secret=False, credentials_in_url=True)
JOB = "payprobe"
SALT_FILE = "instance-salt"
_STATUS_VALUE = {"healthy": 0, "degraded": 1, "unhealthy": 2, "unknown": 3}


# ------------------------------------------------------------------ exposition


def exposition(report: Report) -> str:
    """Prometheus text for a report: the shared renderer when it exists, else ours."""
    if importlib.util.find_spec("payprobe.reports.render.prometheus") is not None:
        return render(report, "prometheus")
    return fallback_exposition(report)


def _metric_name(name: str) -> str:
    cleaned = re.sub(r"[^a-zA-Z0-9_:]", "_", name)
    return "payprobe_" + cleaned.lstrip("_")


def _label_name(name: str) -> str:
    cleaned = re.sub(r"[^a-zA-Z0-9_]", "_", str(name))
    return cleaned if cleaned and not cleaned[0].isdigit() else "_" + cleaned


def _label_value(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def fallback_exposition(report: Report) -> str:
    """A minimal exposition (gauges, no timestamps: the pushgateway rejects them)."""
    series: dict[str, list[tuple[dict[str, str], float]]] = {}
    helps: dict[str, str] = {}

    def add(name: str, labels: dict[str, Any], value: float, help_text: str = "") -> None:
        series.setdefault(name, []).append(({k: str(v) for k, v in labels.items()}, value))
        if help_text:
            helps.setdefault(name, help_text)

    status = str(report.get("status", "unknown"))
    # A state set, like reports/render/prometheus.py: one series per status, 1 for the current.
    for name in _STATUS_VALUE:
        add("payprobe_status", {"status": name}, 1.0 if name == status else 0.0,
            "Status of the last run (1 for the current status)")
    add("payprobe_run_info", {"status": status, "trigger": report.get("trigger", ""),
                              "version": (report.get("tool") or {}).get("version", "")}, 1,
        "Facts about the last run")
    try:
        add("payprobe_run_timestamp_seconds", {}, history.parse_iso(report["started_at"]),
            "When the last run started (Unix seconds)")
    except (KeyError, ValueError):
        pass
    add("payprobe_run_duration_seconds", {}, float(report.get("duration_s") or 0.0), "Run duration")
    add("payprobe_run_partial", {}, 1.0 if report.get("partial") else 0.0, "1 if the run was interrupted")
    for cause in report.get("causes", []):
        add("payprobe_cause", {"code": cause.get("code", ""), "severity": cause.get("severity", "")}, 1,
            "Causes the diagnosis found in the last run")
    for check in report.get("checks", []):
        add("payprobe_check_status", {"check": check.get("name", ""), "status": check.get("status", "")},
            1, "Status of each check in the last run")
        for m in check.get("metrics", []):
            try:
                value = float(m["value"])
            except (KeyError, TypeError, ValueError):
                continue
            add(_metric_name(str(m.get("name", ""))), dict(m.get("labels") or {}), value)
    lines: list[str] = []
    for name, samples in series.items():
        lines.append(f"# HELP {name} {helps.get(name, 'payprobe metric ' + name[9:])}")
        lines.append(f"# TYPE {name} gauge")
        seen: set[tuple[tuple[str, str], ...]] = set()
        for labels, value in samples:
            key = tuple(sorted((_label_name(k), v) for k, v in labels.items()))
            if key in seen:  # the same series twice would make the whole scrape fail
                continue
            seen.add(key)
            text = ",".join(f'{k}="{_label_value(v)}"' for k, v in key)
            lines.append(f"{name}{{{text}}} {_fmt(value)}" if text else f"{name} {_fmt(value)}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ textfile


def write_textfile(path: str | Path, report: Report, err: TextIO | None = None) -> Path:
    """Atomic write (node_exporter must never read half a file); world-readable
    because node_exporter usually runs as another user."""
    target = Path(path)
    if target.suffix != ".prom" and err is not None:
        err.write(f"payprobe: note: node_exporter's textfile collector reads only *.prom files; "
                  f"{target.name} will be ignored by it\n")
    return write_atomic(target, exposition(report), mode=0o644)


# ------------------------------------------------------------------ pushgateway


def instance_label(report: Report) -> str:
    hostname = socket.gethostname() or "unknown"
    if report.get("redacted") is False:
        return hostname
    # Salted, so the label cannot be reversed by hashing a list of likely hostnames;
    # stable, so one device stays one series in Prometheus.
    digest = hashlib.sha256(_salt() + hostname.encode("utf-8")).hexdigest()
    return "device-" + digest[:16]


def _salt() -> bytes:
    # The hex text, as it always was, so that a device keeps its series; read and
    # created by the one salt keeper, so an empty or corrupt file is never used.
    return salt_file(paths.data_dir() / SALT_FILE).hex().encode("ascii")


def push_target(base: str, instance: str) -> http.Target:
    """Where our group lives: BASE/metrics/job/payprobe/instance/<instance>.

    UsageError for a URL the policy refuses; user:password@ in it becomes a
    Basic header, and makes the URL one that must be https (or loopback).
    """
    target = http.check_url(base, PUSH)
    path = urlsplit(target.url).path.rstrip("/")
    if path.endswith(f"/metrics/job/{JOB}"):
        path = path[: -len(f"/metrics/job/{JOB}")]
    return target.with_path(f"{path}/metrics/job/{JOB}/instance/{quote(instance, safe='')}")


def push_url(base: str, instance: str) -> tuple[str, str | None]:
    """(URL of our group, Basic credentials or None); UsageError for a refused URL."""
    target = push_target(base, instance)
    return target.url, target.basic_auth


def check_push_url(base: str) -> None:
    """Refuse a --push URL before the run (UsageError, exit 64), not after it."""
    push_target(base, "check")


def push(url: str, report: Report, err: TextIO, *, instance: str | None = None,
         deadline_s: float = PUSH_DEADLINE_S, ca_file: str = "") -> bool:
    """PUT the exposition to URL/metrics/job/payprobe/instance/<instance>.

    PUT replaces the whole group, so metrics of an endpoint removed from the
    config do not linger. Failure is a warning, never an error of the run.
    """
    target = push_target(url, instance or instance_label(report))
    headers = {"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}
    if target.basic_auth:
        headers["Authorization"] = target.basic_auth
    try:
        reply = http.send("PUT", target, exposition(report).encode("utf-8"), headers,
                          http.Policy(deadline_s=deadline_s, ca_file=ca_file))
    except http.SendError as exc:
        err.write(f"payprobe: warning: push to {exc}\n")
        return False
    if reply.ok:
        return True
    # The Pushgateway says what it disliked; one line of it, printable only.
    said = re.sub(r"[^\x20-\x7e]+", " ", reply.body[:300].decode("utf-8", "replace")).strip()
    err.write(f"payprobe: warning: push to {target.display} failed: HTTP {reply.status} {said}".rstrip()
              + "\n")
    return False
