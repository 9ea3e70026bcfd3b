"""What ``lab.payprobe(...)`` returns, and small readers for its JSON report.

Kept apart from lab.py so that scenario tests read reports the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Result:
    """What ``lab.payprobe(...)`` returns."""
    returncode: int
    report: dict[str, Any] | None
    stdout: str
    stderr: str
    argv: list[str]

    def check(self, name: str) -> dict[str, Any]:
        """The result of one check in the report (raises KeyError if absent)."""
        assert self.report is not None, f"no JSON report; stderr:\n{self.stderr}"
        for item in self.report.get("checks", []):
            if item.get("name") == name:
                return item
        raise KeyError(name)


# Every finding code a lab scenario of issue 5 produces: none of them may
# appear on the healthy lab.
SCENARIO_CODES: tuple[str, ...] = (
    "clock.skew", "clock.ntp_blocked", "clock.unknown",
    "proxy.env", "proxy.system", "proxy.local_listener", "vpn.interface",
    "endpoint.unreachable", "endpoint.slow", "endpoint.loss", "endpoint.http_error",
    "bandwidth.low", "bandwidth.unavailable",
    "device.low_memory", "device.low_storage", "device.low_battery", "device.high_load",
)


def codes(check: dict[str, Any]) -> list[str]:
    """Finding codes of one check, in report order."""
    return [f["code"] for f in check.get("findings", [])]


def all_codes(report: dict[str, Any]) -> list[str]:
    return [f["code"] for c in report.get("checks", []) for f in c.get("findings", [])]


def findings(check: dict[str, Any], code: str, target: str | None = None) -> list[dict[str, Any]]:
    return [f for f in check.get("findings", [])
            if f["code"] == code and (target is None or f.get("target") == target)]


def finding(check: dict[str, Any], code: str, target: str | None = None) -> dict[str, Any]:
    """The one finding ``code`` (on ``target``); fails with the check's findings if absent."""
    found = findings(check, code, target)
    assert len(found) == 1, (code, target, [(f["code"], f.get("target")) for f in check.get("findings", [])],
                             check.get("summary"))
    return found[0]


def metric(check: dict[str, Any], name: str, **labels: str) -> float:
    """The value of the one metric ``name`` whose labels include ``labels``."""
    values = [m["value"] for m in check.get("metrics", [])
              if m["name"] == name and all(m.get("labels", {}).get(k) == v for k, v in labels.items())]
    assert len(values) == 1, (name, labels, [(m["name"], m.get("labels")) for m in check.get("metrics", [])])
    return float(values[0])


def evidence(check: dict[str, Any], what: str) -> list[dict[str, Any]]:
    return [e for e in check.get("evidence", []) if e.get("what") == what]


def run_check(lab: Any, name: str, **overrides: Any) -> dict[str, Any]:
    """`payprobe run --only NAME` in the lab with a lab config (plus overrides): that check."""
    result = lab.payprobe("run", "--only", name, config=lab.write_config(**overrides))
    assert result.report is not None, result.stderr
    return result.check(name)


def by_target(check: dict[str, Any], target: str) -> dict[str, dict[str, Any]]:
    """The check's findings for one target, by code."""
    return {f["code"]: f for f in check["findings"] if f["target"] == target}
