"""Configuration: built-in defaults (probe/defaults.toml) overridden key by key
by a user TOML file, validated into frozen dataclasses.

Every error is a :class:`ConfigError` that names the file, the key path and what
was expected, e.g. ``config.toml: dns.slow_ms: expected a number, got "fast"``.
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
import typing
from dataclasses import MISSING, fields, is_dataclass
from pathlib import Path
from typing import Any

from payprobe.engine import validate
from payprobe.engine.errors import ConfigError
from payprobe.engine.files import read_input
from payprobe.settings import (
    AlertsConfig,
    BandwidthConfig,
    ClockConfig,
    ConnectivityConfig,
    DeviceConfig,
    DnsConfig,
    Endpoint,
    HistoryConfig,
    LatencyConfig,
    ProxyConfig,
    Resolver,
    Settings,
    TlsConfig,
    UploadConfig,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

# A config larger than this is not one a person wrote.
MAX_CONFIG_BYTES = 1 << 20
# The built-in profile lives at the package root (probe/defaults.toml).
DEFAULTS_PATH = Path(__file__).resolve().parent.parent / "defaults.toml"

__all__ = [
    "AlertsConfig", "BandwidthConfig", "ClockConfig", "ConnectivityConfig", "DeviceConfig", "DnsConfig",
    "Endpoint", "HistoryConfig", "LatencyConfig", "ProxyConfig", "Resolver", "Settings", "TlsConfig",
    "UploadConfig", "DEFAULTS_PATH", "load", "merge", "parse_toml",
]


# ---------------------------------------------------------------- loading


def parse_toml(path: Path) -> dict[str, Any]:
    raw = read_input(path, "a TOML config file", ConfigError, max_bytes=MAX_CONFIG_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text, expected a TOML file") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; any other value (arrays included) replaces."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def load(path: str | Path | None = None, *, overrides: dict[str, Any] | None = None) -> Settings:
    """Defaults, then the user file (if any), then ``overrides``; validated."""
    data = parse_toml(DEFAULTS_PATH)
    source = "<defaults>"
    if path is not None:
        p = Path(path).expanduser()
        user = parse_toml(p)
        _build(Settings, user, str(p), "", partial=True)  # errors name the user's file
        data = merge(data, user)
        source = str(p)
    if overrides:
        data = merge(data, overrides)
    settings = _build(Settings, data, source, "")
    validate.check_semantics(settings, source)
    return _with_source(settings, source)


def _with_source(settings: Settings, source: str) -> Settings:
    return dataclasses.replace(settings, source=source)


_TYPE_WORDS = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _build(cls: type, data: Any, source: str, prefix: str, *, partial: bool = False) -> Any:
    where = prefix or "top level"
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: {where}: expected a table, got {_describe(data)}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls) if f.name != "source"}
    for key in data:
        if key not in known:
            near = difflib.get_close_matches(key, known, n=1)
            hint = f' (did you mean "{near[0]}"?)' if near else ""
            raise ConfigError(f"{source}: {_join(prefix, key)}: unknown key{hint}")
    kwargs: dict[str, Any] = {}
    for name, f in known.items():
        if name not in data:
            if not partial and f.default is MISSING and f.default_factory is MISSING:
                raise ConfigError(f"{source}: {_join(prefix, name)}: missing required key")
            continue
        kwargs[name] = _convert(hints[name], data[name], source, _join(prefix, name), f.metadata,
                                partial=partial)
    if partial:
        return None
    return cls(**kwargs)


def _join(prefix: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else key


def _convert(tp: Any, value: Any, source: str, path: str, meta: Any, *, partial: bool) -> Any:
    origin = typing.get_origin(tp)
    if isinstance(tp, type) and is_dataclass(tp):
        return _build(tp, value, source, path, partial=partial)
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(f"{source}: {path}: expected an array, got {_describe(value)}")
        return [_convert(item_tp, v, source, _join(path, i), {}, partial=partial)
                for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: {path}: expected a table, got {_describe(value)}")
        return dict(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{source}: {path}: expected a number, got {_describe(value)}")
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise ConfigError(f"{source}: {path}: expected a finite number, got {value}")
    elif tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{source}: {path}: expected an integer, got {_describe(value)}")
    elif tp in (str, bool):
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise ConfigError(f"{source}: {path}: expected {_TYPE_WORDS[tp]}, got {_describe(value)}")
    minimum = meta.get("min") if meta else None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{source}: {path}: expected a number >= {minimum:g}, got {value:g}")
    maximum = meta.get("max") if meta else None
    if maximum is not None and value > maximum:
        raise ConfigError(f"{source}: {path}: expected a number <= {maximum:g}, got {value:g}")
    choices = meta.get("choices") if meta else None
    if choices and value not in choices:
        raise ConfigError(f"{source}: {path}: expected one of {', '.join(choices)}, got {_describe(value)}")
    return value
