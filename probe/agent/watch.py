"""`payprobe watch`: periodic runs in the foreground, and the one scheduled run.

Each run is a child process (``python -m payprobe run --trigger watch --quiet``):
a check thread blocked in a system call dies with its process instead of
leaking into the next run. The run lock keeps a watch and scheduled runs from
overlapping. Between runs the watch sleeps in ``Event.wait`` (no polling: no CPU
until the next run). SIGINT/SIGTERM are forwarded to a running child, which
writes a partial report and exits 130; then the watch stops.
"""

from __future__ import annotations

import io
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from payprobe.agent.schedule import RunLock
from payprobe.engine.exitcodes import ExitStatus
from payprobe.host import is_termux
from payprobe.settings import ConnectivityConfig
from payprobe.sources import TermuxApiError, ipv4_default_routes, run_termux_api

# A child gets its run deadline plus this (the bandwidth test runs after the deadline,
# report writing and history take a moment); past that it is stopped.
CHILD_GRACE_S = 120.0
CHILD_TERM_WAIT_S = 10.0
# What a child's exit status says about its run (exit statuses of `payprobe run`).
STATUS_BY_EXIT: dict[int, str] = {
    ExitStatus.HEALTHY: "healthy", ExitStatus.DEGRADED: "degraded",
    ExitStatus.UNHEALTHY: "unhealthy", ExitStatus.INTERNAL_ERROR: "unknown",
    ExitStatus.INTERRUPTED: "interrupted", ExitStatus.USAGE: "bad usage",
}


@dataclass
class RunOptions:
    """The `payprobe run` options a watch passes on to every run."""

    config: str | None = None
    only: list[str] | None = None
    skip: list[str] | None = None
    deadline: float | None = None
    lang: str | None = None
    push: str | None = None
    extra: list[str] = field(default_factory=list)

    def argv(self, trigger: str, bandwidth: bool) -> list[str] | None:
        """The child's argv, or None when bandwidth gating leaves nothing to run."""
        argv = [sys.executable, "-m", "payprobe", "run", "--trigger", trigger, "--quiet"]
        only = list(self.only or [])
        skip = list(self.skip or [])
        if bandwidth:
            argv.append("--bandwidth")
        else:
            # The run command also drops bandwidth for schedule/watch unless on_schedule;
            # skipping it here covers on_schedule=true on a metered or low-battery device.
            only = [n for n in only if n != "bandwidth"]
            if self.only and not only:
                return None
            if not only and "bandwidth" not in skip:
                skip.append("bandwidth")
        if self.config:
            argv += ["--config", self.config]
        if only:
            argv += ["--only", ",".join(only)]
        if skip:
            argv += ["--skip", ",".join(skip)]
        if self.deadline is not None:
            argv += ["--deadline", repr(float(self.deadline))]
        if self.lang:
            argv += ["--lang", self.lang]
        if self.push:
            argv += ["--push", self.push]
        return argv + list(self.extra)


# ------------------------------------------------------------------ bandwidth gate


def _default_route_interface(route_file: Path) -> str | None:
    try:
        interfaces = ipv4_default_routes(route_file)
    except OSError:  # unreadable on Android
        return None
    return interfaces[0] if interfaces else None


def link_kind(sys_net: Path = Path("/sys/class/net"), route_file: Path = Path("/proc/net/route"),
              timeout_s: float = ConnectivityConfig.termux_api_timeout_s) -> tuple[str, str]:
    """('wifi'|'ethernet'|'cellular'|'unknown', how we know)."""
    if is_termux():
        try:
            info = run_termux_api("termux-wifi-connectioninfo", timeout_s)
        except TermuxApiError as exc:
            return "unknown", str(exc)
        if str(info.get("supplicant_state", "")).upper() == "COMPLETED":
            return "wifi", "termux-wifi-connectioninfo"
        return "cellular", "not connected to Wi-Fi"
    iface = _default_route_interface(route_file)
    if not iface:
        return "unknown", "no default route found"
    if (sys_net / iface / "wireless").exists() or (sys_net / iface / "phy80211").exists():
        return "wifi", iface
    if iface.startswith(("wwan", "rmnet", "ccmni", "ppp", "usb")):
        return "cellular", iface
    try:
        if_type = (sys_net / iface / "type").read_text().strip()
    except OSError:
        if_type = ""
    if if_type == "1" and (sys_net / iface / "device").exists():
        return "ethernet", iface
    return "unknown", iface


def battery_low(threshold_percent: float,
                timeout_s: float = ConnectivityConfig.termux_api_timeout_s) -> tuple[bool, str]:
    if is_termux():
        try:
            info = run_termux_api("termux-battery-status", timeout_s)
            percent = float(info.get("percentage", 100))
        except (TermuxApiError, TypeError, ValueError) as exc:
            return False, f"battery unknown ({exc})"
        charging = str(info.get("plugged", "")).upper() not in ("", "UNPLUGGED")
        return (percent < threshold_percent and not charging), f"battery {percent:.0f}%"
    try:
        import psutil
        battery = psutil.sensors_battery()
    except (ImportError, OSError, RuntimeError, AttributeError):  # AccessDenied lives in psutil
        return False, "battery unknown"
    except Exception:  # noqa: BLE001 - psutil.AccessDenied on Android
        return False, "battery unknown"
    if battery is None:
        return False, "no battery"
    return (battery.percent < threshold_percent and not battery.power_plugged), f"battery {battery.percent:.0f}%"


def bandwidth_allowed(settings: Any) -> tuple[bool, str]:
    """Run the bandwidth test on a schedule only when asked to, on Wi-Fi or unmetered
    Ethernet, and not on a low battery: a scheduled test must not eat a data plan."""
    if not settings.bandwidth.on_schedule:
        return False, "[bandwidth] on_schedule is false"
    # One knob caps every termux-api call, here as in the checks.
    timeout_s = float(settings.connectivity.termux_api_timeout_s)
    kind, how = link_kind(timeout_s=timeout_s)
    if kind not in ("wifi", "ethernet"):
        return False, f"not on Wi-Fi or Ethernet ({how})"
    low, battery = battery_low(float(settings.device.low_battery_percent), timeout_s)
    if low:
        return False, f"{battery}, below [device] low_battery_percent"
    return True, f"{kind}, {battery}"


# ------------------------------------------------------------------ one child run


class ChildRunner:
    """Runs one child and forwards SIGINT/SIGTERM to it while it runs."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.signal_received: int | None = None
        self._child: subprocess.Popen[bytes] | None = None
        self._old: dict[int, Any] = {}

    def install_signals(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._on_signal)
            except (ValueError, OSError):  # not the main thread (tests)
                pass

    def restore_signals(self) -> None:
        for sig, old in self._old.items():
            try:
                signal.signal(sig, old)
            except (ValueError, OSError, TypeError):
                pass
        self._old.clear()

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.signal_received = signum
        self.stop.set()
        child = self._child
        if child is not None and child.poll() is None:
            try:
                child.send_signal(signum)
            except OSError:
                pass

    def run(self, argv: list[str], timeout_s: float, env: dict[str, str] | None = None) -> int:
        kwargs: dict[str, Any] = {}
        if os.name == "posix":
            # Own session: a terminal Ctrl-C reaches the child once (from us), not twice.
            kwargs["start_new_session"] = True
        self._child = subprocess.Popen(argv, env=env, **kwargs)
        child = self._child
        try:
            if self.stop.is_set():  # a signal came while we were starting it
                child.send_signal(self.signal_received or signal.SIGTERM)
            try:
                return child.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                child.terminate()  # SIGTERM: the run writes a partial report
                try:
                    return child.wait(timeout=CHILD_TERM_WAIT_S)
                except subprocess.TimeoutExpired:
                    child.kill()
                    return child.wait()
        finally:
            self._child = None


# ------------------------------------------------------------------ the loop


@dataclass
class WatchPlan:
    every_s: float
    jitter_s: float = 0.0
    count: int | None = None
    trigger: str = "watch"


def next_delay(plan: WatchPlan, rng: random.Random | None = None) -> float:
    r = rng or random
    return max(0.0, plan.every_s + r.uniform(-plan.jitter_s, plan.jitter_s))


def watch(plan: WatchPlan, options: RunOptions, settings: Any, out: TextIO, err: TextIO, *,
          runner: ChildRunner | None = None, lock: Any = None,
          on_run: Callable[[int], None] | None = None, banner: str = "") -> int:
    """Run until count runs are done or a signal arrives. Returns an exit code."""
    runner = runner or ChildRunner()
    lock = lock or RunLock()
    lock.acquire(f"payprobe {plan.trigger} (every {plan.every_s:g} s)" if plan.trigger == "watch"
                 else "a scheduled payprobe run")
    if banner:
        out.write(banner)
        out.flush()
    runner.install_signals()
    deadline_s = options.deadline if options.deadline is not None else float(settings.deadline_s)
    done = 0
    last_code = int(ExitStatus.HEALTHY)
    try:
        while not runner.stop.is_set():
            allowed, why = bandwidth_allowed(settings)
            if settings.bandwidth.on_schedule and not allowed:
                err.write(f"payprobe watch: no bandwidth test this time: {why}\n")
            argv = options.argv(plan.trigger, allowed)
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            if argv is None:
                out.write(f"{stamp}  nothing to run (only bandwidth was selected and it is skipped)\n")
                last_code = int(ExitStatus.HEALTHY)
            else:
                last_code = runner.run(argv, deadline_s + CHILD_GRACE_S)
                out.write(f"{stamp}  run {done + 1}: "
                          f"{STATUS_BY_EXIT.get(last_code, f'exit {last_code}')}\n")
            done += 1
            if on_run is not None:
                on_run(last_code)
            if runner.stop.is_set() or (plan.count is not None and done >= plan.count):
                break
            delay = next_delay(plan)
            out.write(f"{'':19}  next run at {time.strftime('%H:%M:%S', time.localtime(time.time() + delay))}"
                      " (Ctrl-C to stop)\n")
            out.flush()
            # Event.wait sleeps in the kernel; a signal handler sets the event to wake it.
            runner.stop.wait(delay)
    finally:
        runner.restore_signals()
        lock.release()
    out.flush()
    if runner.signal_received is not None:
        err.write(f"payprobe watch: stopped by {signal.Signals(runner.signal_received).name} "
                  f"after {done} run(s)\n")
        return int(ExitStatus.INTERRUPTED)
    return last_code if plan.count == 1 else int(ExitStatus.HEALTHY)


def scheduled_run(options: RunOptions, settings: Any, out: TextIO, err: TextIO,
                  max_delay_s: float = 0.0) -> int:
    """What an installed job runs: an optional random delay, then one run under the lock."""
    runner = ChildRunner()
    if max_delay_s > 0:
        runner.install_signals()
        try:
            runner.stop.wait(random.uniform(0, max_delay_s))
        finally:
            runner.restore_signals()
        if runner.stop.is_set():
            return int(ExitStatus.INTERRUPTED)
    # An installed job has no one to read the per-run line: it goes nowhere.
    return watch(WatchPlan(every_s=1.0, count=1, trigger="schedule"), options, settings,
                 io.StringIO(), err, runner=runner)
