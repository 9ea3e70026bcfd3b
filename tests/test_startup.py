"""Start-up stays light on a phone: probe.cli imports no heavy library."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("requests", "dns", "rich", "httpx", "ntplib", "speedtest", "psutil", "urllib3",
         "jsonschema", "cryptography", "icmplib", "sqlite3", "platformdirs")


def test_help_and_version_import_no_heavy_modules():
    code = (
        "import sys, io, contextlib\n"
        "from probe.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help']); main(['--version'])\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == ""


def test_importing_check_modules_is_cheap():
    # Checks import their libraries inside run(), so `payprobe checks` stays light too.
    code = (
        "import sys\n"
        "from probe import registry\n"
        "registry.discover()\n"
        "print(','.join(m for m in ('requests', 'dns', 'httpx', 'ntplib', 'speedtest') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == ""


def test_dns_check_loads_dnspython_without_optional_transports():
    # dnspython imports every optional transport it finds installed (httpx, aioquic,
    # trio, cryptography): the dns check does not use them and a phone pays in RSS.
    code = (
        "import sys\n"
        "from checks.resolution import _dns_query\n"
        "_dns_query()\n"
        "print(','.join(m for m in ('httpx', 'httpx2', 'aioquic', 'trio', 'h2') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == ""
