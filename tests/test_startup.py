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
