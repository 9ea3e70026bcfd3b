"""The settings a run is given: frozen dataclasses, one per config section (DESIGN §4).

Part of the plugin surface (standard library only): a check reads its own
section as ``ctx.config`` and the whole of it as ``ctx.settings``. Loading,
merging and validating a TOML file into these is the engine's job
(``payprobe.engine.config``); the field metadata (``min``, ``choices``) is what
it validates against.
"""

from __future__ import annotations

import copy
import types
from dataclasses import dataclass, field, fields, is_dataclass
from functools import partial
from typing import Any

# More samples per endpoint than this measures nothing new and floods the path.
MAX_SAMPLES = 100


def _opt(default: Any, *, minimum: float | None = None, maximum: float | None = None,
         choices: tuple[str, ...] | None = None, doc: str = "") -> Any:
    # The engine validates against this metadata (payprobe.engine.config).
    meta = {"min": minimum, "max": maximum, "choices": choices, "doc": doc}
    if isinstance(default, (list, dict)):
        return field(default_factory=partial(copy.copy, default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Resolver:
    name: str
    address: str = ""       # "ip" or "ip:port" ("[v6]:port")
    url: str = ""           # for DoH
    protocol: str = _opt("udp", choices=("udp", "tcp", "dot", "doh"))
    hostname: str = ""      # TLS name for DoT/DoH when address is an IP


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: str
    provider: str = ""
    group: str = _opt("cn", doc="cn | intl: which region the endpoint serves")
    method: str = _opt("HEAD", choices=("HEAD", "GET"))
    display_name_zh: str = _opt("", doc="the name a Chinese report shows (built-in endpoints have one)")


@dataclass(frozen=True)
class ConnectivityConfig:
    check_urls: list[str] = _opt([])
    weak_signal_dbm: float = -75.0
    termux_api_timeout_s: float = _opt(4.0, minimum=0.1, maximum=60.0)
    timeout_s: float = _opt(0.0, minimum=0.0, maximum=3600.0)


@dataclass(frozen=True)
class DnsConfig:
    names: list[str] = _opt([])
    resolvers: list[Resolver] = _opt([])
    slow_ms: float = _opt(300.0, minimum=0.0)
    timeout_s: float = _opt(0.0, minimum=0.0, maximum=3600.0)


@dataclass(frozen=True)
class TlsConfig:
    slow_ms: float = _opt(800.0, minimum=0.0)
    expiry_warn_days: float = _opt(14.0, minimum=0.0)
    targets: list[str] = _opt([], doc="host or host:port; empty: the https endpoints")
    timeout_s: float = _opt(0.0, minimum=0.0, maximum=3600.0)


@dataclass(frozen=True)
class ClockConfig:
    ntp_servers: list[str] = _opt([])
    http_date_urls: list[str] = _opt([])
    warn_s: float = _opt(30.0, minimum=0.0)
    fail_s: float = _opt(300.0, minimum=0.0)
    timeout_s: float = _opt(0.0, minimum=0.0, maximum=3600.0)


@dataclass(frozen=True)
class LatencyConfig:
    samples: int = _opt(5, minimum=1, maximum=MAX_SAMPLES)
    warn_ms: float = _opt(300.0, minimum=0.0)
    fail_ms: float = _opt(1000.0, minimum=0.0)
    loss_warn_ratio: float = _opt(0.1, minimum=0.0)
    loss_fail_ratio: float = _opt(0.5, minimum=0.0)
    icmp: bool = True
    timeout_s: float = _opt(0.0, minimum=0.0, maximum=3600.0)


@dataclass(frozen=True)
class ProxyConfig:
    local_ports: list[int] = _opt([])
    connect_timeout_s: float = _opt(0.3, minimum=0.01, maximum=60.0)
    timeout_s: float = _opt(0.0, minimum=0.0, maximum=3600.0)


@dataclass(frozen=True)
class BandwidthConfig:
    enabled: bool = False
    mini_server: str = ""
    max_bytes: int = _opt(25_000_000, minimum=0, doc="cap on data used by one test")
    low_download_bps: float = _opt(2_000_000.0, minimum=0.0)
    low_upload_bps: float = _opt(500_000.0, minimum=0.0)
    bufferbloat_ms: float = _opt(200.0, minimum=0.0,
                                 doc="latency the load may add before net.bufferbloat (DSLReports grade D)")
    on_schedule: bool = False
    timeout_s: float = _opt(0.0, minimum=0.0, maximum=3600.0)


@dataclass(frozen=True)
class PathConfig:
    """The path trace (opt-in: ``--path``). Field names are checks/_path_config.PathOptions'."""

    enabled: bool = False
    method: str = _opt("tcp", choices=("tcp", "udp", "icmp"))
    port: int = _opt(443, minimum=1, maximum=65535)
    probes: int = _opt(10, minimum=1, maximum=100, doc="per hop; the destination gets twice as many")
    max_hops: int = _opt(30, minimum=1, maximum=64)
    probe_timeout_s: float = _opt(0.8, minimum=0.05, maximum=10.0)
    window_s: float = _opt(6.0, minimum=0.0, maximum=120.0, doc="how long the paced rounds may take")
    min_loss_ratio: float = _opt(0.1, minimum=0.0, maximum=1.0)
    router_burst: int = _opt(5, minimum=1, maximum=1000)
    router_per_s: float = _opt(1.0, minimum=0.01, maximum=10000.0)
    families: list[str] = _opt(["ipv4", "ipv6"])
    timeout_s: float = _opt(0.0, minimum=0.0, maximum=3600.0)


@dataclass(frozen=True)
class DeviceConfig:
    low_memory_mb: float = _opt(200.0, minimum=0.0)
    low_storage_mb: float = _opt(500.0, minimum=0.0)
    low_battery_percent: float = _opt(15.0, minimum=0.0)
    high_load_per_cpu: float = _opt(2.0, minimum=0.0)
    timeout_s: float = _opt(0.0, minimum=0.0, maximum=3600.0)


@dataclass(frozen=True)
class HistoryConfig:
    enabled: bool = True
    keep_reports: int = _opt(200, minimum=0, doc="full reports kept for the last N runs")
    keep_unhealthy_days: float = _opt(30.0, minimum=0.0)
    keep_days: float = _opt(90.0, minimum=0.0, doc="summary rows older than this are pruned")


@dataclass(frozen=True)
class AlertsConfig:
    notify: bool = True
    webhook_url: str = ""


@dataclass(frozen=True)
class UploadConfig:
    url: str = ""
    token_env: str = "PAYPROBE_UPLOAD_TOKEN"
    token: str = ""


@dataclass(frozen=True)
class Settings:
    deadline_s: float = _opt(20.0, minimum=0.5, maximum=3600.0)
    lang: str = _opt("auto", choices=("auto", "en", "zh"))
    ca_file: str = ""
    connectivity: ConnectivityConfig = field(default_factory=ConnectivityConfig)
    dns: DnsConfig = field(default_factory=DnsConfig)
    tls: TlsConfig = field(default_factory=TlsConfig)
    clock: ClockConfig = field(default_factory=ClockConfig)
    latency: LatencyConfig = field(default_factory=LatencyConfig)
    proxy: ProxyConfig = field(default_factory=ProxyConfig)
    bandwidth: BandwidthConfig = field(default_factory=BandwidthConfig)
    path: PathConfig = field(default_factory=PathConfig)
    device: DeviceConfig = field(default_factory=DeviceConfig)
    history: HistoryConfig = field(default_factory=HistoryConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    upload: UploadConfig = field(default_factory=UploadConfig)
    endpoints: list[Endpoint] = _opt([])
    plugins: dict[str, Any] = _opt({}, doc="free-form sections for third-party checks")
    source: str = field(default="<defaults>", compare=False)

    def section(self, check_name: str) -> Any:
        """The config section of a check: a built-in section or plugins.<name>."""
        if check_name == "endpoints":
            return self.latency
        if check_name in {f.name for f in fields(self)} and is_dataclass(getattr(self, check_name)):
            return getattr(self, check_name)
        return types.MappingProxyType(dict(self.plugins.get(check_name, {})))
