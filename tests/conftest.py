"""Shared fixtures. The in-process servers' fixtures live in tests/servers/, the
network lab's in tests/lab/fixtures.py."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.lab.fixtures", "tests.servers"]


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    """Every test gets its own data and config dir: nothing touches the real ones."""
    monkeypatch.setenv("PAYPROBE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PAYPROBE_CONFIG_DIR", str(tmp_path / "config"))
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true a skipped test is a failed one: CI installs everything the
    suite needs, so a skip there means something is missing, never "passed"."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI", "").lower() == "true" and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true (every skip fails in CI): {reason}"
