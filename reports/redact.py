"""Redaction (first version)."""

from __future__ import annotations

from typing import Any


def redact_report(report: dict[str, Any]) -> dict[str, Any]:
    return report
