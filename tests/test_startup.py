"""Start-up stays light on a phone: payprobe.cli.main imports no heavy library."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("requests", "dns", "rich", "httpx", "ntplib", "speedtest", "psutil", "urllib3",
         "jsonschema", "cryptography", "icmplib", "sqlite3", "platformdirs")


def loaded_after(code: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a fresh interpreter has imported after running ``code``."""
    script = f"import sys\n{code}\nprint(','.join(m for m in {modules!r} if m in sys.modules))\n"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return [m for m in proc.stdout.strip().split(",") if m]


def test_help_and_version_import_no_heavy_modules():
    code = ("import io, contextlib\n"
            "from payprobe.cli.main import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(['--help']); main(['--version'])")
    assert loaded_after(code, HEAVY) == []


def test_importing_check_modules_is_cheap():
    # Checks import their libraries inside run(), so `payprobe checks` stays light too.
    code = "from payprobe.engine import registry\nregistry.discover()"
    assert loaded_after(code, ("requests", "dns", "httpx", "ntplib", "speedtest")) == []


def test_dns_check_loads_dnspython_without_optional_transports():
    # dnspython imports every optional transport it finds installed (httpx, aioquic,
    # trio, cryptography): the dns check does not use them and a phone pays in RSS.
    code = "from payprobe.checks.resolution import _dns_query\n_dns_query()"
    assert loaded_after(code, ("httpx", "httpx2", "aioquic", "trio", "h2")) == []
    assert "dns.query" in loaded_after(code, ("dns.query",))   # it did load what it needs


def test_a_run_imports_only_the_checks_it_runs():
    # The opt-in checks (path, bandwidth) cost a default run nothing; --only picks one.
    found = ("payprobe.checks.path", "payprobe.checks.bandwidth", "payprobe.checks.endpoints",
             "payprobe.checks.clock")
    default = ("from payprobe.engine import registry\n"
               "registry.select(registry.discover(load=False), None, None)")
    assert loaded_after(default, found) == ["payprobe.checks.endpoints", "payprobe.checks.clock"]
    only = ("from payprobe.engine import registry\n"
            "registry.select(registry.discover(load=False), ['path'], None)")
    assert loaded_after(only, found) == ["payprobe.checks.path"]
    everything = "from payprobe.engine import registry\nregistry.discover()"
    assert loaded_after(everything, found) == list(found)


def test_a_check_found_but_not_imported_is_imported_once_it_is_selected():
    from payprobe.engine import registry

    available = registry.discover(load=False)
    assert all(item.cls is None and item.error is None for item in available.values())
    (path,) = registry.select(available, ["path"], None)
    assert path.cls is not None and path.cls.name == "path" and path.loader is None
    assert available["bandwidth"].cls is None   # not picked: still not imported


def test_version_on_its_own_builds_no_parser():
    code = ("import io, contextlib\n"
            "from payprobe.cli.main import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(['--version'])")
    assert loaded_after(code, ("argparse", "payprobe.cli.parser")) == []
    # With anything else on the line the parser is built as usual.
    code_help = code.replace("main(['--version'])", "main(['--debug', '--version'])")
    assert loaded_after(code_help, ("argparse", "payprobe.cli.parser")) == ["argparse", "payprobe.cli.parser"]


def test_warm_up_imports_the_report_modules_in_a_helper_thread_and_stops_at_a_failure():
    code = ("import threading\n"
            "from payprobe.cli import run\n"
            "run._warm_up(['payprobe.reports.render.markdown', 'payprobe.no_such_module',\n"
            "              'payprobe.reports.render.html'])\n"
            "[t.join() for t in threading.enumerate() if t.name == 'warm-up']")
    wanted = ("payprobe.reports.render.markdown", "payprobe.reports.render.html")
    assert loaded_after(code, wanted) == ["payprobe.reports.render.markdown"]
