"""argparse value types shared by every sub-command: one wording for bad input."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def csv_list(value: str) -> list[str]:
    """ "a,b" -> ["a", "b"]; an empty list ("," or "") is an error, never "all of them"."""
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"expected one or more names separated by commas, got {value!r}")
    return items


def positive_seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {value!r}") from None
    if not number > 0 or number == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {value!r}")
    return number


def int_at_least(minimum: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
        if number < minimum:
            raise argparse.ArgumentTypeError(f"expected {minimum} or more, got {value!r}")
        return number
    parse.__name__ = f"int_at_least_{minimum}"
    return parse
