"""What the tls check probes (its targets) and what it found on each (a Probe).

The targets are ``tls.targets`` when set, else the host of every https endpoint,
each (host, port) once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from payprobe import net
from payprobe.api import CheckContext
from payprobe.checks import _certs


@dataclass
class Target:
    label: str      # metric label / finding target: what the person wrote, or the hostname
    host: str
    port: int


@dataclass
class Probe:
    target: Target
    connect_s: float | None = None
    handshake_s: float | None = None
    verified: bool = False
    failure: str | None = None         # classify() code of what went wrong, if anything
    phase: str | None = None           # resolve | connect | handshake | verify | deadline
    message: str = ""                  # scrubbed error text
    version: str | None = None
    cipher: str | None = None
    alpn: str | None = None
    chain: list[_certs.CertInfo] = field(default_factory=list)
    captured_unverified: bool = False  # chain/version come from the second, unverified handshake
    ip_family: str | None = None       # of the connection Happy Eyeballs picked
    happy_eyeballs_s: float | None = None  # that connect, from its first attempt (an app's wait)
    stalled: bool = False              # the failure is a stall: no progress for net.STALL_S
    # The path drops large packets: the usual handshake stalled, one with this small
    # MSS went through ({"mss": ..., "handshake_s": ...}); chain/version come from it.
    mtu: dict[str, float] | None = None

    @property
    def leaf(self) -> _certs.CertInfo | None:
        return self.chain[0] if self.chain else None


def targets_from(ctx: CheckContext) -> list[Target]:
    cfg = ctx.config
    out: list[Target] = []
    seen: set[tuple[str, int]] = set()
    configured = list(getattr(cfg, "targets", []) or [])
    if configured:
        for raw in configured:
            host, port = net.split_hostport(raw, 443)
            if (host, port) not in seen:
                seen.add((host, port))
                out.append(Target(raw.strip(), host, port))
        return out
    for ep in getattr(ctx.settings, "endpoints", []) or []:
        parts = urlsplit(ep.url)
        if parts.scheme != "https" or not parts.hostname:
            continue
        host, port = parts.hostname, parts.port or 443
        if (host, port) in seen:
            continue
        seen.add((host, port))
        label = host if port == 443 else f"{host}:{port}"
        out.append(Target(label, host, port))
    return out
