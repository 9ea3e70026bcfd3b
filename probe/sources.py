"""Reading device facts that a platform may refuse to give.

On Android, psutil raises AccessDenied for much of /proc, termux-api commands
may be missing or hang, and their output may be garbage. Each such source is
recorded as "ok" or "skipped: reason"; a real bug still raises.

Two readers live here because every layer needs them (the checks, and the
watch's bandwidth gate), and each must exist once:

============================  ==================================================
``ipv4_default_routes``       interfaces holding a default route, from the
``ipv6_default_routes``       kernel's /proc/net/route and /proc/net/ipv6_route
``run_termux_api``            one termux-api command, its JSON object or a
                              :class:`TermuxApiError` saying why not
============================  ==================================================
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from payprobe import classify as fc
from payprobe.api import CheckCancelled
from payprobe.external import CommandNotFound, CommandTimedOut, ExternalCommandError, run_external

# ---------------------------------------------------------------- unreadable sources


class TermuxApiError(Exception):
    """A termux-api command gave no usable answer; the message says why, for people."""


def unreadable_reason(exc: BaseException) -> str | None:
    """Why a source could not be read, or None when ``exc`` is a real bug."""
    name = type(exc).__name__
    if isinstance(exc, TermuxApiError):
        return str(exc)
    if isinstance(exc, subprocess.TimeoutExpired):
        cmd = exc.cmd[0] if isinstance(exc.cmd, (list, tuple)) else exc.cmd
        return f"{cmd} timed out after {exc.timeout:.1f} s"
    if name in ("AccessDenied", "NoSuchProcess", "ZombieProcess") or isinstance(
            exc, (PermissionError, FileNotFoundError, NotImplementedError)):
        return f"{name}: {fc.scrub(str(exc))}" if str(exc) else name
    if isinstance(exc, OSError):
        return f"{name}: {exc.strerror or fc.scrub(str(exc))}"
    if isinstance(exc, (ValueError, KeyError, IndexError)):
        return f"unreadable output ({name})"
    return None


def why_unreadable(exc: BaseException) -> str:
    """:func:`unreadable_reason`, or the exception's type where it names no better reason."""
    return unreadable_reason(exc) or type(exc).__name__


@dataclass
class SourceLog:
    """What each source gave: "ok" or "skipped: reason" (kept as evidence)."""

    state: dict[str, str] = field(default_factory=dict)

    def read(self, source: str, fn: Callable[[], Any]) -> Any:
        """``fn()``, or None with the reason recorded when the source is unreadable."""
        try:
            value = fn()
        except CheckCancelled:
            self.state[source] = "skipped: deadline reached"
            return None
        except Exception as exc:  # noqa: BLE001 - classified just below
            reason = unreadable_reason(exc)
            if reason is None:
                raise
            self.state[source] = f"skipped: {reason}"
            return None
        self.state[source] = "ok" if value is not None else "skipped: not available here"
        return value

    def ok(self, source: str) -> None:
        self.state[source] = "ok"

    def skip(self, source: str, reason: str) -> None:
        self.state[source] = f"skipped: {reason}"

    def readable(self) -> list[str]:
        return [s for s, v in self.state.items() if v == "ok"]

    def unreadable(self) -> list[str]:
        return [s for s, v in self.state.items() if v != "ok"]


# ---------------------------------------------------------------- default routes

PROC_NET_ROUTE = "/proc/net/route"
PROC_NET_IPV6_ROUTE = "/proc/net/ipv6_route"
RTF_UP = 0x0001
RTF_REJECT = 0x0200
_HALF_MASK_V4 = 0x80000000


def parse_ipv4_default_routes(text: str) -> list[str]:
    """Interfaces holding an IPv4 default route in /proc/net/route text, in table order.

    Two /1 routes on one interface (0.0.0.0/1 and 128.0.0.0/1) count as a
    default route: they win over it by being more specific, which is how
    OpenVPN's redirect-gateway def1 and many VPN apps take all traffic while
    leaving the original default route in place. Routes that are down or
    "reject" are not routes.
    """
    found: list[str] = []
    halves: dict[str, set[int]] = {}
    for line in text.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 8:
            continue
        try:
            dest, flags, mask = int(cols[1], 16), int(cols[3], 16), int(cols[7], 16)
        except ValueError:
            continue
        if not flags & RTF_UP or flags & RTF_REJECT:
            continue
        # The kernel prints addresses in host byte order: back to network order.
        dest_n, mask_n = _host_to_net(dest), _host_to_net(mask)
        if mask_n == 0 and dest_n == 0:
            _add_once(found, cols[0])
        elif mask_n == _HALF_MASK_V4 and dest_n in (0, _HALF_MASK_V4):
            got = halves.setdefault(cols[0], set())
            got.add(dest_n)
            if len(got) == 2:
                _add_once(found, cols[0])
    return found


def parse_ipv6_default_routes(text: str) -> list[str]:
    """Interfaces holding an IPv6 default route in /proc/net/ipv6_route text, in table order.

    ::/1 with 8000::/1 on one interface counts as a default route (as for IPv4).
    The kernel keeps an "unreachable" default on lo (RTF_REJECT): not a route.
    """
    found: list[str] = []
    halves: dict[str, set[str]] = {}
    for line in text.splitlines():
        cols = line.split()
        if len(cols) < 10:
            continue
        try:
            prefix_len, flags = int(cols[1], 16), int(cols[8], 16)
        except ValueError:
            continue
        dest, iface = cols[0], cols[9]
        if not flags & RTF_UP or flags & RTF_REJECT or iface == "lo":
            continue
        if set(dest) == {"0"} and prefix_len == 0:
            _add_once(found, iface)
        elif prefix_len == 1 and dest[:1] in ("0", "8") and set(dest[1:]) == {"0"}:
            got = halves.setdefault(iface, set())
            got.add(dest[:1])
            if len(got) == 2:
                _add_once(found, iface)
    return found


def ipv4_default_routes(path: str | os.PathLike[str] = PROC_NET_ROUTE) -> list[str]:
    """Interfaces holding an IPv4 default route; OSError where /proc/net is unreadable (Android)."""
    with open(path, encoding="ascii", errors="replace") as fh:
        return parse_ipv4_default_routes(fh.read())


def ipv6_default_routes(path: str | os.PathLike[str] = PROC_NET_IPV6_ROUTE) -> list[str]:
    """Interfaces holding an IPv6 default route; OSError where /proc/net is unreadable."""
    with open(path, encoding="ascii", errors="replace") as fh:
        return parse_ipv6_default_routes(fh.read())


def _host_to_net(value: int) -> int:
    return int.from_bytes(struct.pack("=I", value & 0xFFFFFFFF), "big")


def _add_once(found: list[str], name: str) -> None:
    if name not in found:
        found.append(name)


# ---------------------------------------------------------------- termux-api

# Without the Termux:API app (or with it stopped by Android's battery manager)
# every termux-api command hangs without a word: the likeliest cause of silence.
TERMUX_API_APP_HINT = ("is the Termux:API app installed (from the same store as Termux: "
                       "F-Droid or Google Play) and allowed to run?")
_SHOWN_OUTPUT_CHARS = 60


def run_termux_api(command: str, timeout_s: float) -> dict[str, Any]:
    """The JSON object that termux-api ``command`` prints, within ``timeout_s``.

    A hung command leaves helpers behind (the termux-api client, ``am``): the
    command runs in its own process group, and at ``timeout_s`` the whole group
    is killed and reaped, so no scheduled run leaves processes running. Raises
    :class:`TermuxApiError` when the command is missing, does not answer in
    time, exits non-zero, prints nothing, or prints no JSON object.
    """
    try:
        done = run_external([command], timeout_s, env={**os.environ, "LC_ALL": "C"})
    except CommandNotFound:
        raise TermuxApiError(f"{command} not found (pkg install termux-api)") from None
    except CommandTimedOut:
        raise TermuxApiError(f"{command} did not answer in {timeout_s:.3g} s: "
                             f"{TERMUX_API_APP_HINT}") from None
    except ExternalCommandError as exc:
        raise TermuxApiError(fc.scrub(str(exc))) from None
    stdout, stderr, code = done.stdout, done.stderr, done.returncode
    text = stdout.decode("utf-8", errors="replace").strip()
    if code != 0:
        raise TermuxApiError(_failed(command, code, text or stderr.decode("utf-8", errors="replace")))
    if not text:
        raise TermuxApiError(f"{command} printed nothing: {TERMUX_API_APP_HINT}")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):   # RecursionError: "[[[[..." nested past the parser's stack
        raise TermuxApiError(f"unreadable output from {command} (not JSON: "
                             f"{_shown(text)!r})") from None
    if not isinstance(data, dict):
        raise TermuxApiError(f"unreadable output from {command} (not a JSON object)")
    return data


def _failed(command: str, code: int, output: str) -> str:
    if code < 0:
        try:
            how = f"was stopped by {signal.Signals(-code).name}"
        except ValueError:
            how = f"was stopped by signal {-code}"
    else:
        how = f"failed (exit {code})"
    if not output.strip():
        return f"{command} {how} without output: {TERMUX_API_APP_HINT}"
    return f"{command} {how}: {_shown(output)!r}"


def _shown(output: str) -> str:
    first = output.strip().splitlines()[0] if output.strip() else ""
    return fc.scrub(first)[:_SHOWN_OUTPUT_CHARS]
