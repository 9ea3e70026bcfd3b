"""payprobe.engine.entrypoints reads entry points as importlib.metadata does, without it."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest
from payprobe.engine import entrypoints, registry

from tests.helpers import make_plugin_dist

GROUP = registry.GROUP


def _as_metadata_reads(group: str) -> list[tuple[str, str]]:
    return [(ep.name, ep.value) for ep in importlib.metadata.entry_points(group=group)]


def test_read_gives_what_importlib_metadata_gives_for_the_installed_distributions():
    assert entrypoints.read(GROUP) == _as_metadata_reads(GROUP)
    assert entrypoints.read("console_scripts") == _as_metadata_reads("console_scripts")


def test_read_with_a_plugin_distribution_on_the_path(tmp_path, monkeypatch):
    site = make_plugin_dist(tmp_path / "site", "pp_extra", {"hello": "class Plugin: pass\n"})
    # A second copy of the same distribution later on the path: the first one wins.
    later = make_plugin_dist(tmp_path / "later", "pp_extra", {"other": "class Plugin: pass\n"})
    monkeypatch.syspath_prepend(str(later))
    monkeypatch.syspath_prepend(str(site))
    read = entrypoints.read(GROUP)
    assert read == _as_metadata_reads(GROUP)
    assert ("hello", "pp_extra_hello:Plugin") in read and ("other", "pp_extra_other:Plugin") not in read


def test_read_parses_comments_blank_lines_and_other_groups(tmp_path, monkeypatch):
    info = tmp_path / "Weird.Name-2.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: Weird.Name\nVersion: 2.0\n")
    (info / "entry_points.txt").write_text(
        "# a comment\n[console_scripts]\nweird = weird:main\n\n[payprobe.checks]\n"
        "  spaced   =   weird.mod : Cls [extra]  \n# another\nplain=weird.plain\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    read = entrypoints.read(GROUP)
    assert read == _as_metadata_reads(GROUP)
    assert ("spaced", "weird.mod : Cls [extra]") in read and ("plain", "weird.plain") in read


def test_read_leaves_a_zip_or_egg_on_the_path_to_importlib_metadata(tmp_path, monkeypatch):
    archive = tmp_path / "bundle.zip"
    archive.write_bytes(b"PK\x05\x06" + b"\0" * 18)   # an empty zip
    monkeypatch.syspath_prepend(str(archive))
    assert entrypoints.read(GROUP) is None
    # discover() then asks importlib.metadata: the built-in checks are all still there.
    assert set(registry.BUILTINS) <= set(registry.discover(load=False))


def test_read_leaves_another_distribution_finder_to_importlib_metadata(monkeypatch):
    class Finder:
        @staticmethod
        def find_distributions(context=None):   # noqa: ARG004 - the protocol's signature
            return iter(())

    monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, Finder()])
    assert entrypoints.read(GROUP) is None


@pytest.mark.parametrize("target", ["json:dumps", "json : dumps [extra]", "os.path:join", "json"])
def test_a_found_entry_point_loads_what_it_names(target):
    obj = registry._import_target(target)
    expected = {"json:dumps": "dumps", "json : dumps [extra]": "dumps", "os.path:join": "join",
                "json": "json"}[target]
    assert obj.__name__ == expected


def test_a_default_run_does_not_import_importlib_metadata():
    code = ("import sys\nfrom payprobe.engine import registry\n"
            "registry.select(registry.discover(load=False), None, None)\n"
            "print('importlib.metadata' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False"


def test_read_skips_an_entry_points_file_that_is_not_text(tmp_path, monkeypatch):
    # A hostile or broken distribution on the path: bytes that are not UTF-8, lines
    # without '=', a header never closed. Nothing from it, and nothing else is lost.
    for name, data in (("garbage-1.0", b"\xff\xfe[payprobe.checks]\nx = \xc3(:Y\n"),
                       ("noeq-1.0", b"[payprobe.checks]\njust words\n[unclosed\nz = z:Z\n")):
        info = tmp_path / f"{name}.dist-info"
        info.mkdir()
        (info / "entry_points.txt").write_bytes(data)
    monkeypatch.syspath_prepend(str(tmp_path))
    read = entrypoints.read(GROUP)
    assert read is not None
    assert [n for n, _ in read if n in {"x", "z"}] == ["z"]   # '[unclosed' is a line, not a header
    assert ("endpoints", registry.BUILTINS["endpoints"]) in read   # the installed ones still found


def test_a_plugin_naming_nothing_importable_is_an_error_result_naming_it(tmp_path, monkeypatch):
    info = tmp_path / "bad_target-1.0.dist-info"
    info.mkdir()
    (info / "entry_points.txt").write_text("[payprobe.checks]\nbroken = ::::\nmissing = no_such_mod:Check\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    available = registry.discover(load=False)
    for name in ("broken", "missing"):
        item = available[name].load()
        assert item.cls is None and f"plugin {name!r}" in (item.error or "")
