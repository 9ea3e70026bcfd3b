"""The fake phone: after ``lab.phone()``, lab.exec/lab.payprobe run as on Termux.

Termux's environment, a ``$PREFIX/etc/resolv.conf`` naming a resolver nobody
answers, ``/etc/resolv.conf`` hidden in a private mount namespace (glibc then
falls back to 127.0.0.1, which DNAT sends to the system resolver), termux-api
commands printing recorded answers, and unprivileged ICMP on or off.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.lab.namespace import UNREACHABLE_RESOLVER, Fault, LabCore

# Recorded termux-api answers (Android 13, no location permission: the SSID and
# BSSID are placeholders). Tests override any key through lab.phone(...).
TERMUX_WIFI = {
    "bssid": "02:00:00:00:00:00", "frequency_mhz": 2437, "ip": "192.168.43.117",
    "link_speed_mbps": 6, "mac_address": "02:00:00:00:00:00", "network_id": -1,
    "rssi": -86, "ssid": "<unknown ssid>", "ssid_hidden": True, "supplicant_state": "COMPLETED",
}
TERMUX_BATTERY = {
    "present": True, "technology": "Li-poly", "health": "GOOD", "plugged": "UNPLUGGED",
    "status": "DISCHARGING", "temperature": 31.4, "voltage": 3512, "current": -412000,
    "current_average": -398000, "percentage": 6, "level": 6, "scale": 100,
    "charge_counter": 251000, "energy": None, "cycle": 312,
}
TERMUX_TELEPHONY = {
    "data_enabled": "true", "data_activity": "none", "data_state": "connected",
    "device_id": None, "device_software_version": "01", "phone_count": 2, "phone_type": "gsm",
    "network_operator": "46000", "network_operator_name": "CHINA MOBILE",
    "network_country_iso": "cn", "network_type": "lte", "network_roaming": False,
    "sim_country_iso": "cn", "sim_operator": "46000", "sim_operator_name": "CMCC",
    "sim_serial_number": None, "sim_subscriber_id": None, "sim_state": "ready",
}
TERMUX_CELLINFO = [
    {"type": "lte", "registered": True, "asu": 8, "dbm": -124, "level": 1, "ci": 0,
     "pci": 301, "tac": 0, "mcc": 460, "mnc": 0, "rsrp": -124, "rsrq": -17, "rssi": -89,
     "rssnr": -3, "timing_advance": 2147483647},
]


@dataclass
class Phone:
    """What lab.phone() set up: Termux/Android as near as this machine allows."""
    prefix: Path
    home: Path
    env: dict[str, str]
    hide_resolv_conf: bool
    etc_view: Path | None


class PhoneMixin(LabCore):
    """lab.phone, and how lab.exec runs once the lab is a phone."""

    def _init_phone(self) -> None:
        self._phone: Phone | None = None

    def phone(self, *, wifi: dict[str, Any] | None = None, battery: dict[str, Any] | None = None,
              telephony: dict[str, Any] | None = None, cellinfo: list[dict[str, Any]] | None = None,
              ping_group_range: bool = False, hide_resolv_conf: bool = True,
              termux_api: bool = True) -> Phone:
        """From now on lab.exec/lab.payprobe run as on a Termux phone.

        TERMUX_VERSION/PREFIX set; $PREFIX/etc/resolv.conf names a resolver that
        cannot be reached; /etc/resolv.conf hidden (private mount namespace), so
        glibc falls back to 127.0.0.1, where DNAT sends queries to the system
        resolver; termux-api scripts print the recorded JSON above (merged with
        the given keys); unprivileged ICMP on or off.
        """
        prefix = self.dir / "data/data/com.termux/files/usr"
        home = self.dir / "data/data/com.termux/files/home"
        for folder in (prefix / "bin", prefix / "etc", prefix / "tmp", home):
            folder.mkdir(parents=True, exist_ok=True)
        (prefix / "etc/resolv.conf").write_text(f"nameserver {UNREACHABLE_RESOLVER}\n")
        if termux_api:
            self._install_termux_api(prefix / "bin", {
                "termux-wifi-connectioninfo": {**TERMUX_WIFI, **(wifi or {})},
                "termux-battery-status": {**TERMUX_BATTERY, **(battery or {})},
                "termux-telephony-deviceinfo": {**TERMUX_TELEPHONY, **(telephony or {})},
                "termux-telephony-cellinfo": cellinfo if cellinfo is not None else TERMUX_CELLINFO,
            })
        self.exec(["sysctl", "-qw", f"net.ipv4.ping_group_range={'0 2147483647' if ping_group_range else '1 0'}"],
                  check=True, raw=True)
        etc_view = None
        if hide_resolv_conf:
            etc_view = self._etc_without_resolv_conf()
            if self._system_resolver:
                fault = Fault("phone dns fallback", lab=self)
                for proto in ("udp", "tcp"):
                    self._iptables("nat", ["OUTPUT", "-p", proto, "-d", "127.0.0.1", "--dport", "53", "-j",
                                           "DNAT", "--to-destination", f"{self._system_resolver}:53"], fault)
        env = {"TERMUX_VERSION": "0.118.1", "PREFIX": str(prefix), "HOME": str(home),
               "ANDROID_ROOT": "/system", "ANDROID_DATA": "/data", "TMPDIR": str(prefix / "tmp"),
               "PATH": f"{prefix / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
        self._phone = Phone(prefix, home, env, hide_resolv_conf, etc_view)
        return self._phone

    def _install_termux_api(self, bin_dir: Path, answers: dict[str, Any]) -> None:
        """One script per command, printing its recorded JSON answer."""
        for command, answer in answers.items():
            data = self.dir / f"{command}.json"
            data.write_text(json.dumps(answer, indent=2) + "\n")
            script = bin_dir / command
            script.write_text(f"#!/bin/sh\ncat '{data}'\n")
            script.chmod(0o755)

    def _etc_without_resolv_conf(self) -> Path:
        # A copy of /etc made of symlinks into the real one (bind-mounted at
        # REAL), minus resolv.conf; mounted over /etc in a private mount namespace.
        view = self.dir / "etc-view"
        real = self.dir / "etc-real"
        view.mkdir(exist_ok=True)
        real.mkdir(exist_ok=True)
        for entry in os.listdir("/etc"):
            if entry != "resolv.conf":
                with contextlib.suppress(FileExistsError):
                    (view / entry).symlink_to(real / entry)
        return view

    def _wrap(self, argv: Sequence[str], raw: bool) -> list[str]:
        if raw or self._phone is None or self._phone.etc_view is None:
            return self._ns_argv(argv)
        real = self.dir / "etc-real"
        script = (f'mount --bind /etc "{real}" && mount --bind "{self._phone.etc_view}" /etc '
                  '&& exec "$@"')
        return self._ns_argv(["unshare", "--mount", "--propagation", "private",
                              "sh", "-c", script, "lab-phone", *argv])

    def _exec_env(self, raw: bool) -> dict[str, str] | None:
        return self._phone.env if (self._phone is not None and not raw) else None
