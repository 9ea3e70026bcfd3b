"""Diagnosis: findings across checks -> ranked causes (first version: verdict only)."""

from __future__ import annotations

from typing import Any


def diagnose(checks: list[dict[str, Any]], *, lang: str = "en",
             settings: Any = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    return [], {}
