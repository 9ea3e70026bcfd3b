"""Saved reports and bundles stay bounded in the data dir (README: Security and privacy)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from payprobe.agent import saved

from tests.test_history import make_report


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PAYPROBE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_save_report_when_more_than_keep_removes_the_oldest_and_keeps_this_run(data_dir: Path) -> None:
    err = io.StringIO()
    written = [saved.save_report(make_report("healthy"), err, keep=3) for _ in range(5)]
    left = sorted(p.name for p in (data_dir / "reports").glob("report-*.json"))
    assert len(left) == 3 and written[-1] is not None and written[-1].name in left
    assert err.getvalue() == ""


def test_save_report_when_keep_is_zero_still_keeps_this_run(data_dir: Path) -> None:
    path = saved.save_report(make_report("healthy"), io.StringIO(), keep=0)
    assert path is not None and path.exists()
    assert len(list((data_dir / "reports").glob("report-*.json"))) == 1


def test_prune_when_a_symlink_matches_never_removes_its_target(tmp_path: Path) -> None:
    target = tmp_path / "precious.json"
    target.write_text("{}")
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "report-0.json").symlink_to(target)
    for i in range(1, 4):
        (folder / f"report-{i}.json").write_text("{}")
        os.utime(folder / f"report-{i}.json", (i, i))
    assert saved.prune(folder, "report-*.json", keep=1) == 2
    assert target.exists() and (folder / "report-0.json").is_symlink()
    assert sorted(p.name for p in folder.glob("report-*.json")) == ["report-0.json", "report-3.json"]
