"""Config rules a type check alone cannot see: addresses, ports, URLs, files.

Run once the TOML is typed into Settings and before anything runs, so a wrong
value is exit 64 naming the file, the key and the value, never a network
failure blamed on the network later.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import stat
from urllib.parse import SplitResult, urlsplit

from payprobe.engine.errors import ConfigError
from payprobe.settings import Settings

MAX_CA_FILE_BYTES = 8 << 20


def _port(where: str, text: str, value: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError(f"{where}: expected a port 1-65535 in {value!r}")
    return int(text)


def ip_and_port(where: str, value: str) -> tuple[str, int | None]:
    """ "ip", "ip:port", "[v6]:port" or a bare v6 address; ConfigError otherwise."""
    text = value.strip()
    host, port = text, None
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ConfigError(f"{where}: expected \"ip\", \"ip:port\" or \"[v6]:port\", got {value!r}")
        port = _port(where, rest[1:], value) if rest else None
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = _port(where, port_text, value)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError(f"{where}: expected an IP address (\"ip\", \"ip:port\" or \"[v6]:port\"), "
                          f"got {value!r}") from None
    return host, port


def host_and_port(where: str, value: str) -> tuple[str, int | None]:
    """ "host", "host:port", "[v6]:port" or a bare v6 address; ConfigError otherwise."""
    text = value.strip()
    if not text or any(c.isspace() or c in "/@?#" for c in text):
        raise ConfigError(f"{where}: expected \"host\" or \"host:port\", got {value!r}")
    if text.startswith("[") or text.count(":") > 1:
        return ip_and_port(where, text)
    host, _, port_text = text.partition(":")
    if not host:
        raise ConfigError(f"{where}: expected \"host\" or \"host:port\", got {value!r}")
    return host, _port(where, port_text, value) if port_text or text.endswith(":") else None


def url(where: str, value: str, schemes: tuple[str, ...]) -> SplitResult:
    """A URL with one of ``schemes``, a host and a valid port; ConfigError otherwise."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
        host = parts.hostname
    except ValueError:
        raise ConfigError(f"{where}: not a valid URL: {value!r}") from None
    if parts.scheme not in schemes or not host:
        wanted = " or ".join(f"{s}://" for s in schemes)
        raise ConfigError(f"{where}: expected a {wanted} URL, got {value!r}")
    return parts


def ca_file(where: str, path: str) -> None:
    """An existing, readable, regular PEM file of certificates that ssl can load."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise ConfigError(f"{where}: {path!r}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{where}: {path!r}: not a regular file, expected a PEM certificate bundle")
    if info.st_size > MAX_CA_FILE_BYTES:
        raise ConfigError(f"{where}: {path!r}: too large for a PEM certificate bundle")
    try:
        with open(path, "rb") as fh:
            head = fh.read(MAX_CA_FILE_BYTES)
        if b"-----BEGIN CERTIFICATE-----" not in head:
            raise ConfigError(f"{where}: {path!r}: no PEM certificate in it (expected "
                              "-----BEGIN CERTIFICATE-----)")
        ssl.create_default_context(cafile=path)
    except ssl.SSLError:
        raise ConfigError(f"{where}: {path!r}: not a valid PEM certificate bundle") from None
    except OSError as exc:
        raise ConfigError(f"{where}: {path!r}: {exc.strerror or exc}") from None


def _resolvers(s: Settings, source: str) -> None:
    for i, r in enumerate(s.dns.resolvers):
        where = f"{source}: dns.resolvers[{i}]"
        if r.protocol == "doh":
            url(f"{where}.url", r.url, ("https",))
        elif not r.address:
            raise ConfigError(f"{where}: protocol {r.protocol} needs address = \"ip\" or \"ip:port\"")
        if r.address:
            ip_and_port(f"{where}.address", r.address)


def _urls(s: Settings, source: str) -> None:
    for i, e in enumerate(s.endpoints):
        url(f"{source}: endpoints[{i}].url", e.url, ("http", "https"))
    names = [e.name for e in s.endpoints]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{source}: endpoints: duplicate name {dupes[0]!r} (names label the metrics)")
    for i, value in enumerate(s.connectivity.check_urls):
        where = f"{source}: connectivity.check_urls[{i}]"
        if url(where, value, ("http", "https")).scheme != "http":
            raise ConfigError(f"{where}: expected a plain http:// URL (a portal can only intercept "
                              f"plain HTTP), got {value!r}")
    for i, value in enumerate(s.clock.http_date_urls):
        url(f"{source}: clock.http_date_urls[{i}]", value, ("http", "https"))
    for key, value in (("bandwidth.mini_server", s.bandwidth.mini_server),
                       ("alerts.webhook_url", s.alerts.webhook_url), ("upload.url", s.upload.url)):
        if value:
            url(f"{source}: {key}", value, ("http", "https"))


# A display name is a label on a phone screen, not a paragraph.
MAX_DISPLAY_NAME_CHARS = 40


def _display_names(s: Settings, source: str) -> None:
    for i, e in enumerate(s.endpoints):
        name = e.display_name_zh
        where = f"{source}: endpoints[{i}].display_name_zh"
        if len(name) > MAX_DISPLAY_NAME_CHARS:
            raise ConfigError(f"{where}: expected at most {MAX_DISPLAY_NAME_CHARS} characters, got {len(name)}")
        if name and (not name.strip() or not all(ch.isprintable() for ch in name)):
            raise ConfigError(f"{where}: expected a printable name (no control characters), got {name!r}")


def check_semantics(s: Settings, source: str) -> None:
    """Rules that span keys or need parsing; ConfigError naming file, key and value."""
    _resolvers(s, source)
    _urls(s, source)
    _display_names(s, source)
    for i, server in enumerate(s.clock.ntp_servers):
        host_and_port(f"{source}: clock.ntp_servers[{i}]", server)
    for i, target in enumerate(s.tls.targets):
        host_and_port(f"{source}: tls.targets[{i}]", target)
    for i, port in enumerate(s.proxy.local_ports):
        if not 0 < port < 65536:
            raise ConfigError(f"{source}: proxy.local_ports[{i}]: expected a port 1-65535, got {port}")
    if s.ca_file:
        ca_file(f"{source}: ca_file", os.path.expanduser(s.ca_file))
    if s.clock.fail_s < s.clock.warn_s:
        raise ConfigError(f"{source}: clock.fail_s: expected a value >= clock.warn_s ({s.clock.warn_s:g})")
    if s.latency.fail_ms < s.latency.warn_ms:
        raise ConfigError(f"{source}: latency.fail_ms: expected a value >= latency.warn_ms "
                          f"({s.latency.warn_ms:g})")
