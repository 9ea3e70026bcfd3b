"""Wi-Fi and cellular facts from termux-api (Android under Termux).

``termux-wifi-connectioninfo`` gives the signal (RSSI), link speed and band;
``termux-telephony-deviceinfo`` the cellular network type and operator.
SSID and BSSID stay in the evidence only, where the redactor scrubs them.
"""

from __future__ import annotations

import shutil
from typing import Any

from payprobe import classify as fc
from payprobe.api import CheckCancelled, CheckContext, Finding, Metric, Outcome
from payprobe.settings import ConnectivityConfig
from payprobe.sources import SourceLog, run_termux_api, unreadable_reason

WIFI_COMMAND = "termux-wifi-connectioninfo"
TELEPHONY_COMMAND = "termux-telephony-deviceinfo"
# termux-wifi-connectioninfo placeholders when the app lacks location permission.
UNKNOWN_SSID = "<unknown ssid>"
UNKNOWN_BSSID = "02:00:00:00:00:00"
# Android's RSSI when Wi-Fi is off or not associated.
NO_SIGNAL_DBM = -127


def radio_commands(ctx: CheckContext[ConnectivityConfig]) -> list[str]:
    """The termux-api commands worth running here."""
    termux = bool(getattr(ctx.host, "termux", False))
    # On Termux a missing command is worth a "skipped" line (install termux-api);
    # elsewhere it simply does not apply.
    return [cmd for cmd in (WIFI_COMMAND, TELEPHONY_COMMAND) if termux or shutil.which(cmd)]


def ask_radio(command: str, ctx: CheckContext[ConnectivityConfig]) -> dict[str, Any]:
    """One termux-api command's answer; termux-api can take seconds, or hang."""
    return run_termux_api(command, ctx.timeout(ctx.config.termux_api_timeout_s))


def record_radio(ctx: CheckContext[ConnectivityConfig], out: Outcome, src: SourceLog,
                 results: dict[str, Any]) -> None:
    """Evidence, metrics and ``net.weak_signal`` from each command's answer (or why none)."""
    for cmd, r in results.items():
        key = "wifi" if cmd == WIFI_COMMAND else "telephony"
        if isinstance(r, CheckCancelled):
            src.skip(key, "deadline reached")
        elif isinstance(r, BaseException):
            src.skip(key, unreadable_reason(r) or fc.describe(r))
        elif key == "wifi":
            src.ok(key)
            _wifi(ctx, out, r)
        else:
            src.ok(key)
            out.evidence.append({
                "what": "cellular", "network_type": r.get("network_type"),
                "operator": r.get("network_operator_name"),
                "data_state": r.get("data_state"), "roaming": r.get("network_roaming")})


def _wifi(ctx: CheckContext[ConnectivityConfig], out: Outcome, info: dict[str, Any]) -> None:
    ssid = info.get("ssid")
    bssid = info.get("bssid")
    rssi = info.get("rssi")
    rssi_dbm = float(rssi) if isinstance(rssi, (int, float)) else None
    state = str(info.get("supplicant_state", "COMPLETED")).upper()
    connected = state == "COMPLETED" and rssi_dbm is not None and rssi_dbm > NO_SIGNAL_DBM
    out.evidence.append({
        "what": "wifi", "connected": connected, "rssi_dbm": rssi,
        "link_speed_mbps": info.get("link_speed_mbps"), "frequency_mhz": info.get("frequency_mhz"),
        "ssid": ssid, "bssid": bssid,
        "location_permission": not (ssid == UNKNOWN_SSID or bssid == UNKNOWN_BSSID),
    })
    if not connected or rssi_dbm is None:
        return
    out.metrics.append(Metric("wifi_rssi_dbm", rssi_dbm, "dBm"))
    speed = info.get("link_speed_mbps")
    if isinstance(speed, (int, float)) and speed > 0:
        out.metrics.append(Metric("wifi_link_speed_bits_per_second", float(speed) * 1e6, "bit/s"))
    freq = info.get("frequency_mhz")
    if isinstance(freq, (int, float)) and freq > 0:
        out.metrics.append(Metric("wifi_frequency_hertz", float(freq) * 1e6, "Hz"))
    threshold = float(ctx.config.weak_signal_dbm)
    if rssi_dbm < threshold:
        out.findings.append(Finding(
            "net.weak_signal", "warn",
            f"weak Wi-Fi signal: {rssi_dbm:.0f} dBm (below {threshold:.0f} dBm); move closer to "
            "the router or switch to mobile data",
            target="wifi", data={"rssi_dbm": rssi_dbm, "threshold_dbm": threshold}))
