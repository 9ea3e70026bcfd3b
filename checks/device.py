"""device: CPU load, memory, storage in the data dir and battery.

On Android psutil raises AccessDenied for much of /proc; every source that
cannot be read is listed in the evidence as skipped with the reason, and the
check as a whole is skipped only when nothing could be read.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

from payprobe.api import CheckContext, Finding, Metric, Outcome
from payprobe.checks._optional import PSUTIL_MISSING, load_psutil
from payprobe.settings import DeviceConfig
from payprobe.sources import SourceLog, run_termux_api

MB = 1024 * 1024


class DeviceCheck:
    name: ClassVar[str] = "device"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = "CPU load, free memory and storage, battery (psutil, termux-api)"
    timeout_s: ClassVar[float] = 8.0

    def run(self, ctx: CheckContext[DeviceConfig]) -> Outcome:
        psutil = load_psutil()
        out = Outcome()
        src = SourceLog()
        read = src.read

        if psutil is None:
            src.skip("psutil", PSUTIL_MISSING)
        else:
            self._load(ctx, out, read, psutil)
            self._memory(ctx, out, read, psutil)
            self._connections(out, read, psutil)
        self._storage(ctx, out, read)
        self._battery(ctx, out, read, psutil)

        out.evidence.append({"what": "sources", "sources": dict(src.state)})
        if not src.readable():
            return Outcome.skipped("no device source is readable here: " +
                                   "; ".join(f"{k} {v}" for k, v in src.state.items()),
                                   evidence=out.evidence)
        skipped = src.unreadable()
        bits = [m for m in (self._summary_bits(out)) if m]
        out.summary = ", ".join(bits) + (f" ({len(skipped)} source(s) unreadable: {', '.join(skipped)})"
                                         if skipped else "")
        return out

    @staticmethod
    def _summary_bits(out: Outcome) -> list[str]:
        by_name = {m.name: m.value for m in out.metrics if not m.labels.get("stat")}
        bits = []
        if "memory_available_bytes" in by_name:
            bits.append(f"{by_name['memory_available_bytes'] / MB:.0f} MB memory free")
        if "storage_free_bytes" in by_name:
            bits.append(f"{by_name['storage_free_bytes'] / MB:.0f} MB storage free")
        if "battery_percent" in by_name:
            bits.append(f"battery {by_name['battery_percent']:.0f}%")
        if "load_per_cpu" in by_name:
            bits.append(f"load {by_name['load_per_cpu']:.2f}/CPU")
        return bits

    def _load(self, ctx: CheckContext[DeviceConfig], out: Outcome, read: Callable[..., Any],
              psutil: ModuleType) -> None:
        load = read("load", psutil.getloadavg)
        cpus = psutil.cpu_count() or 1
        if load is None:
            return
        per_cpu = load[0] / cpus
        out.metrics.append(Metric("load_per_cpu", round(per_cpu, 3), "", {"window": "1m"}))
        if per_cpu >= ctx.config.high_load_per_cpu:
            out.findings.append(Finding(
                "device.high_load", "warn",
                f"the device is busy: load {load[0]:.1f} on {cpus} CPU(s)",
                data={"load1": load[0], "cpus": cpus, "load_per_cpu": round(per_cpu, 3),
                      "threshold_per_cpu": ctx.config.high_load_per_cpu}))

    def _memory(self, ctx: CheckContext[DeviceConfig], out: Outcome, read: Callable[..., Any],
                psutil: ModuleType) -> None:
        mem = read("memory", psutil.virtual_memory)
        if mem is None:
            return
        out.metrics.append(Metric("memory_available_bytes", float(mem.available), "bytes"))
        out.metrics.append(Metric("memory_total_bytes", float(mem.total), "bytes"))
        if mem.available < ctx.config.low_memory_mb * MB:
            out.findings.append(Finding(
                "device.low_memory", "warn",
                f"only {mem.available / MB:.0f} MB of memory free; apps may be killed mid-payment",
                data={"available_mb": round(mem.available / MB),
                      "threshold_mb": ctx.config.low_memory_mb}))

    def _connections(self, out: Outcome, read: Callable[..., Any], psutil: ModuleType) -> None:
        conns = read("connections", lambda: psutil.net_connections(kind="inet"))
        if conns is None:
            return
        # Without privileges psutil lists other users' sockets with pid None: the process
        # count is then a lower bound, and the evidence says so.
        pids = {c.pid for c in conns if c.pid}
        unattributed = sum(1 for c in conns if not c.pid)
        established = sum(1 for c in conns if getattr(c, "status", "") == "ESTABLISHED")
        out.metrics.append(Metric("network_processes", float(len(pids)), ""))
        out.metrics.append(Metric("network_connections", float(len(conns)), ""))
        out.evidence.append({"what": "network_processes", "processes": len(pids),
                             "connections": len(conns), "established": established,
                             "connections_without_process": unattributed,
                             "lower_bound": unattributed > 0})

    def _storage(self, ctx: CheckContext[DeviceConfig], out: Outcome, read: Callable[..., Any]) -> None:
        # The storage payprobe and the apps write to: the data dir the runner
        # names, else the home folder (on Android both sit on the data partition).
        folder = Path(str(ctx.options.get("data_dir") or Path.home()))
        while not folder.exists() and folder.parent != folder:
            folder = folder.parent
        usage = read("storage", lambda: shutil.disk_usage(folder))
        if usage is None:
            return
        out.metrics.append(Metric("storage_free_bytes", float(usage.free), "bytes"))
        if usage.free < ctx.config.low_storage_mb * MB:
            out.findings.append(Finding(
                "device.low_storage", "warn",
                f"only {usage.free / MB:.0f} MB of storage free; apps cannot update or cache",
                data={"free_mb": round(usage.free / MB), "threshold_mb": ctx.config.low_storage_mb}))

    def _battery(self, ctx: CheckContext[DeviceConfig], out: Outcome, read: Callable[..., Any],
                 psutil: ModuleType | None) -> None:
        battery: dict[str, Any] | None = None
        if ctx.host is not None and ctx.host.termux and shutil.which("termux-battery-status"):
            battery = read("battery", lambda: _termux_battery(ctx))
        elif psutil is not None and hasattr(psutil, "sensors_battery"):
            b = read("battery", psutil.sensors_battery)
            if b is not None:
                battery = {"percentage": b.percent, "plugged": bool(b.power_plugged)}
        if not battery or battery.get("percentage") is None:
            return
        percent = float(battery["percentage"])
        plugged = battery.get("plugged")
        out.metrics.append(Metric("battery_percent", percent, "%"))
        if ctx.host is not None and ctx.host.termux and battery.get("power_saving") is None:
            battery["power_saving"] = read("power_saving", lambda: _android_power_saving(ctx))
        out.evidence.append({"what": "battery", "percent": percent, "plugged": plugged,
                             "status": battery.get("status"),
                             "temperature_c": battery.get("temperature"),
                             "power_saving": battery.get("power_saving")})
        if percent <= ctx.config.low_battery_percent and not plugged:
            saving = (" and power saving is on" if battery.get("power_saving") else "")
            out.findings.append(Finding(
                "device.low_battery", "warn",
                f"battery at {percent:.0f}% and not charging{saving}; power saving may cut "
                "background data",
                data={"percent": percent, "threshold_percent": ctx.config.low_battery_percent,
                      "plugged": bool(plugged), "power_saving": battery.get("power_saving")}))


def _termux_battery(ctx: CheckContext[DeviceConfig]) -> dict[str, Any]:
    """termux-battery-status's answer; termux-api can take seconds, or hang.

    One knob caps every termux-api call: ``connectivity.termux_api_timeout_s``.
    """
    cap_s = float(ctx.settings.connectivity.termux_api_timeout_s)
    data = run_termux_api("termux-battery-status", ctx.timeout(cap_s))
    plugged = str(data.get("plugged", "")).upper()
    return {"percentage": data.get("percentage"),
            "plugged": plugged not in ("", "UNPLUGGED"),
            "status": data.get("status"),
            "temperature": data.get("temperature"),
            "power_saving": data.get("power_saving")}


def _android_power_saving(ctx: CheckContext[DeviceConfig]) -> bool | None:
    """Battery saver state from Android's settings (global low_power), when readable.

    termux-battery-status does not report it; `settings` is readable from Termux on
    some Android versions only, so None (unknown) is a normal answer.
    """
    if not shutil.which("settings"):
        return None
    proc = subprocess.run(["settings", "get", "global", "low_power"], capture_output=True,
                          text=True, timeout=ctx.timeout(3.0), check=False)
    value = proc.stdout.strip()
    if proc.returncode != 0 or value not in ("0", "1"):
        return None
    return value == "1"
