"""Message catalogs (first version)."""

from __future__ import annotations


def explain(code: str, lang: str = "en") -> str | None:
    return None
