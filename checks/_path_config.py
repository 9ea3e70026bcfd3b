"""The path check's options, read from its config section.

The section is ``[path]`` (:class:`payprobe.settings.PathConfig`, same field
names); a mapping is read too, for a caller that builds one by hand.
Values are checked here so that a bad one gives one clear error, not a trace
that probes the wrong thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from payprobe.checks._trace import METHODS


@dataclass(frozen=True)
class PathOptions:
    enabled: bool = False          # opt-in: the registry/CLI decide, as for bandwidth
    method: str = "tcp"            # tcp | udp | icmp (see payprobe.checks._trace)
    port: int = 443                # used when the endpoint's URL names no port
    probes: int = 10               # per hop, after discovery; the destination gets twice as many
    max_hops: int = 30
    probe_timeout_s: float = 0.8   # below Linux's 1 s SYN retransmission, so a probe is sent once
    window_s: float = 6.0          # how long the paced rounds may take
    min_loss_ratio: float = 0.1    # loss at the destination below this is not reported
    # The client-side model of a router's ICMP rate limit (Linux: burst 6, 1 per
    # net.ipv4.icmp_ratelimit = 1000 ms); probes to one router never outrun it.
    router_burst: int = 5
    router_per_s: float = 1.0
    families: tuple[str, ...] = ("ipv4", "ipv6")
    timeout_s: float = 0.0


_LIMITS: dict[str, tuple[float, float]] = {
    "port": (1, 65535), "probes": (1, 100), "max_hops": (1, 64), "probe_timeout_s": (0.05, 10.0),
    "window_s": (0.0, 120.0), "min_loss_ratio": (0.0, 1.0), "router_burst": (1, 1000),
    "router_per_s": (0.01, 10000.0), "timeout_s": (0.0, 3600.0),
}


def read_options(section: Any) -> PathOptions:
    """PathOptions from a mapping or an object with the same attribute names."""
    names = [f.name for f in fields(PathOptions)]
    if isinstance(section, Mapping):
        unknown = sorted(set(section) - set(names))
        if unknown:
            raise ValueError(f"path: unknown option(s) {', '.join(unknown)}; known: {', '.join(names)}")
        values = {k: section[k] for k in names if k in section}
    else:
        values = {k: getattr(section, k) for k in names if hasattr(section, k)}
    if "families" in values:
        values["families"] = tuple(values["families"])
    opts = PathOptions(**values)
    _validate(opts)
    return opts


def _validate(opts: PathOptions) -> None:
    if opts.method not in METHODS:
        raise ValueError(f"path.method must be one of {', '.join(METHODS)}, not {opts.method!r}")
    bad = [f for f in opts.families if f not in ("ipv4", "ipv6")]
    if bad or not opts.families:
        raise ValueError(f"path.families must list ipv4 and/or ipv6, not {list(opts.families)!r}")
    for name, (low, high) in _LIMITS.items():
        value = getattr(opts, name)
        if not low <= value <= high:
            raise ValueError(f"path.{name} must be between {low:g} and {high:g}, not {value!r}")
