"""Shared fixtures. The in-process servers' fixtures live in tests/servers/, the
network lab's in tests/lab/fixtures.py."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.lab.fixtures", "tests.servers"]


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    """Every test gets its own data and config dir: nothing touches the real ones."""
    monkeypatch.setenv("PAYPROBE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PAYPROBE_CONFIG_DIR", str(tmp_path / "config"))
    yield
