"""Redaction: what leaves the device must not identify the person or the place.

On by default (``payprobe run --no-redact`` skips it and the report says
``"redacted": false``). Every string in the report, dict keys included, goes
through the same rules, so a value is caught wherever a check put it (summary,
finding message or data, metric label, evidence):

1. URL credentials (``scheme://user:pass@``, also ``user:pass@host`` without a
   scheme) become ``***@``; proxy credentials found in the environment are also
   removed wherever they appear as plain words.
2. Values of secret-like keys (password, token, authorization, cookie...)
   become ``***``.
3. The local user's home path becomes ``~``; ``/home/NAME``, ``/Users/NAME``,
   ``C:\\Users\\NAME`` likewise.
4. The hostname becomes ``<hostname>`` and the user name ``<user>``
   (whole words only).
5. SSID/BSSID values (evidence/data keys ``ssid``, ``bssid``, ``wifi_ssid``...)
   become ``ssid-xxxxxx`` / ``mac-xxxxxx``, and the same SSID text elsewhere too.
6. MAC addresses become ``mac-xxxxxx``.
7. IPv4/IPv6 literals: KEPT when they identify nobody and help the diagnosis:
   loopback, unspecified, documentation ranges (192.0.2.0/24, 198.51.100.0/24,
   203.0.113.0/24, 2001:db8::/32), the 198.18.0.0/15 benchmark range (fake-IP
   proxies answer from it, which is itself evidence), well-known public DNS
   resolvers, and every address literal written in the config (resolvers, NTP
   servers, endpoint URLs: the user chose them, they are not the user).
   Everything else (interface addresses, the public IP, answers of the local
   DNS, the router) becomes a stable token: ``addr-xxxxxx`` for a public
   address, ``lan-xxxxxx`` for a private, CGNAT, link-local or ULA one.

Tokens are the first 6 hex digits of SHA-256(salt + kind + value). The salt is
random, created on first use in the data dir (``redact-salt``, mode 0600), so
the same address gets the same token in every report of this device ("resolver
A answered addr-3f9a2c, the system answered lan-77d0e1") while nobody else can
recompute it from a guessed address.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import secrets as _secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from payprobe.net import split_hostport
from payprobe.reports.types import Report

# Public resolvers and NTP anycast addresses: never personal, useful to keep.
WELL_KNOWN_ADDRESSES = frozenset({
    "223.5.5.5", "223.6.6.6", "119.29.29.29", "119.28.28.28", "182.254.116.116",
    "114.114.114.114", "114.114.115.115", "180.76.76.76", "1.2.4.8", "210.2.4.8",
    "8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9", "149.112.112.112",
    "208.67.222.222", "208.67.220.220",
    "2400:3200::1", "2400:3200:baba::1", "2402:4e00::", "2001:4860:4860::8888",
    "2001:4860:4860::8844", "2606:4700:4700::1111", "2606:4700:4700::1001", "2620:fe::fe",
})
_KEEP_NETS = tuple(ipaddress.ip_network(n) for n in (
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "198.18.0.0/15",
))
_LAN_NETS = tuple(ipaddress.ip_network(n) for n in ("100.64.0.0/10",))

# Report fields that are the tool's own, never identifying: left untouched.
_FIXED_KEYS = {"schema_version", "tool", "run_id", "started_at", "duration_s", "trigger",
               "partial", "redacted", "status", "lang"}
_SSID_KEYS = {"ssid", "wifi_ssid", "network_name", "essid"}
_BSSID_KEYS = {"bssid", "wifi_bssid", "ap_mac"}
_SECRET_KEYS = re.compile(r"pass(word)?|passwd|secret|token|authorization|cookie|api_?key|credential",
                          re.I)
_SECRET_KEY_EXCEPTIONS = {"has_credentials"}

_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)[^/@\s\"'<>]+@", re.I)
_BARE_USERINFO = re.compile(r"(?<![\w/@.:-])[\w.%~+-]+:[^\s/@\"'<>]+@(?=[\w.-]+)")
_HOME_PATH = re.compile(r"(/home/|/Users/|/data/data/[\w.]+/files/home|[A-Za-z]:\\Users\\)([^/\\\s\"']*)")
_MAC = re.compile(r"(?<![0-9A-Fa-f:-])(?:[0-9A-Fa-f]{2}([:-]))(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}"
                  r"(?![0-9A-Fa-f:-])")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
# Broad candidate for IPv6 (validated with ipaddress afterwards): hex groups with
# at least two colons, optionally an embedded IPv4 tail and a %zone.
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?"
                   r"(?:%[\w.-]+)?(?![\w:])")


@dataclass
class Secrets:
    """Local identifying values to remove as literals."""

    hostname: set[str] = field(default_factory=set)
    users: set[str] = field(default_factory=set)
    homes: set[str] = field(default_factory=set)
    literals: set[str] = field(default_factory=set)    # proxy passwords, SSIDs...
    addresses: set[str] = field(default_factory=set)   # interface addresses (always tokenised)
    macs: set[str] = field(default_factory=set)


def local_secrets() -> Secrets:
    """Hostname, user, home, interface addresses and MACs, proxy credentials of
    this device. Each source is optional: on Android several raise."""
    import getpass
    import socket
    from pathlib import Path
    from urllib.parse import urlsplit

    s = Secrets()
    try:
        name = socket.gethostname()
        if name and name.lower() not in ("localhost", "localhost.localdomain"):
            s.hostname.add(name)
            s.hostname.add(name.split(".")[0])
    except OSError:
        pass
    try:
        s.users.add(getpass.getuser())
    except Exception:  # noqa: BLE001 - no passwd entry (Android) raises KeyError/OSError
        pass
    try:
        home = str(Path.home())
        if home not in ("/", ""):
            s.homes.add(home)
    except (RuntimeError, KeyError, OSError):
        pass
    try:
        import psutil
        for addrs in psutil.net_if_addrs().values():
            for a in addrs:
                value = str(a.address).split("%")[0]
                if _MAC.fullmatch(value):
                    s.macs.add(value.lower())
                else:
                    s.addresses.add(value)
    except Exception:  # noqa: BLE001 - AccessDenied/PermissionError on Android, ImportError
        pass
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
                "FTP_PROXY", "ftp_proxy", "SOCKS_PROXY", "socks_proxy"):
        value = os.environ.get(var, "")
        if "@" not in value:
            continue
        parts = urlsplit(value if "://" in value else f"http://{value}")
        for part in (parts.username, parts.password):
            if part and len(part) >= 3:
                s.literals.add(part)
    return s


def config_addresses(settings: Any) -> set[str]:
    """Address literals the user wrote in the config (resolvers, NTP, URLs)."""
    from urllib.parse import urlsplit


    found: set[str] = set()

    def add_host(value: str) -> None:
        value = value.strip()
        try:
            host = split_hostport(value, 0)[0]
        except Exception:  # noqa: BLE001 - a value that is not host[:port]
            host = value
        host = host.strip("[]")
        try:
            found.add(str(ipaddress.ip_address(host)))
        except ValueError:
            pass

    if settings is None:
        return found
    for r in getattr(settings.dns, "resolvers", []) or []:
        if r.address:
            add_host(r.address)
        if r.url:
            add_host(urlsplit(r.url).hostname or "")
    for value in getattr(settings.clock, "ntp_servers", []) or []:
        add_host(value)
    urls = list(getattr(settings.clock, "http_date_urls", []) or [])
    urls += list(getattr(settings.connectivity, "check_urls", []) or [])
    urls += [e.url for e in getattr(settings, "endpoints", []) or []]
    for url in urls:
        add_host(urlsplit(url).hostname or "")
    return found


class Redactor:
    def __init__(self, secrets: Secrets, keep_addresses: Iterable[str] = (), salt: bytes | None = None):
        self.secrets = secrets
        # Without the device's salt, a random one: tokens are then stable within
        # this report only, and still cannot be recomputed by anyone.
        self.salt = salt if salt is not None else _secrets.token_bytes(16)
        self.keep = {self._norm(a) for a in (*WELL_KNOWN_ADDRESSES, *keep_addresses)} - {None}
        # Loopback names no one (every device has 127.0.0.1), and a local proxy
        # listener on it is exactly what support needs to see.
        self.always = {a for a in (self._norm(x) for x in secrets.addresses)
                       if a is not None and not ipaddress.ip_address(a).is_loopback}
        words = sorted(secrets.hostname | secrets.users | secrets.literals, key=len, reverse=True)
        words = [w for w in words if len(w) >= 2]
        self._word_re = (re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, words)) + r")(?![\w-])")
                         if words else None)
        self._homes = sorted(secrets.homes, key=len, reverse=True)

    @staticmethod
    def _norm(value: str) -> str | None:
        try:
            return str(ipaddress.ip_address(value.split("%")[0].strip("[]")))
        except ValueError:
            return None

    def token(self, kind: str, value: str) -> str:
        digest = hashlib.sha256(self.salt + kind.encode() + b"\0" + value.encode()).hexdigest()
        return f"{kind}-{digest[:6]}"

    # -- strings

    def text(self, value: str) -> str:
        value = _URL_USERINFO.sub(r"\g<scheme>***@", value)
        value = _BARE_USERINFO.sub("***@", value)
        for home in self._homes:
            value = value.replace(home, "~")
        value = _HOME_PATH.sub(lambda m: "~" if m.group(2) else m.group(0), value)
        if self._word_re is not None:
            value = self._word_re.sub(self._word, value)
        value = _MAC.sub(lambda m: self.token("mac", m.group(0).lower().replace("-", ":")), value)
        value = _IPV6.sub(self._address, value)
        value = _IPV4.sub(self._address, value)
        return value

    def _word(self, match: re.Match[str]) -> str:
        word = match.group(0)
        if word in self.secrets.hostname:
            return "<hostname>"
        if word in self.secrets.users:
            return "<user>"
        return "***"

    def _address(self, match: re.Match[str]) -> str:
        raw = match.group(0)
        norm = self._norm(raw)
        if norm is None:
            return raw
        ip = ipaddress.ip_address(norm)
        if norm not in self.always:
            if ip.is_loopback or ip.is_unspecified or norm in self.keep:
                return raw
            if any(ip in net for net in _KEEP_NETS if net.version == ip.version):
                return raw
        lan = ip.is_private or ip.is_link_local or any(ip in n for n in _LAN_NETS if n.version == ip.version)
        return self.token("lan" if lan else "addr", norm)

    # -- structures

    def value(self, obj: Any, key: str = "") -> Any:
        if isinstance(obj, dict):
            return {self.text(k) if isinstance(k, str) else k: self._field(k, v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.value(v, key) for v in obj]
        if isinstance(obj, tuple):
            return [self.value(v, key) for v in obj]
        if isinstance(obj, str):
            return self.text(obj)
        return obj

    def _field(self, key: Any, value: Any) -> Any:
        k = str(key).lower()
        if value in (None, "", [], {}) or isinstance(value, bool):
            return value
        if k in _SECRET_KEY_EXCEPTIONS:
            return value
        if _SECRET_KEYS.search(k) and isinstance(value, (str, int, float)):
            return "***"
        if k in _SSID_KEYS and isinstance(value, str):
            return self.token("ssid", value)
        if k in _BSSID_KEYS and isinstance(value, str):
            return self.token("mac", value.lower().replace("-", ":"))
        return self.value(value, k)


def _collect_ssids(obj: Any, out: set[str]) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            if str(k).lower() in _SSID_KEYS and isinstance(v, str) and len(v) >= 2:
                out.add(v)
            else:
                _collect_ssids(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _collect_ssids(v, out)


def make_redactor(report: Any = None, *, settings: Any = None, secrets: Secrets | None = None,
                  salt: bytes | None = None) -> Redactor:
    secrets = secrets if secrets is not None else local_secrets()
    ssids: set[str] = set()
    _collect_ssids(report, ssids)
    # An SSID seen under its key is also removed where a message repeats it.
    secrets = Secrets(secrets.hostname, secrets.users, secrets.homes, secrets.literals | ssids,
                      secrets.addresses, secrets.macs)
    return Redactor(secrets, config_addresses(settings), salt=salt)


def redact_value(obj: Any, *, settings: Any = None, secrets: Secrets | None = None,
                 salt: bytes | None = None) -> Any:
    """Redact any JSON-like value (history summaries, ad-hoc evidence)."""
    return make_redactor(obj, settings=settings, secrets=secrets, salt=salt).value(obj)


def redact_report(report: Report, *, settings: Any = None,
                  secrets: Secrets | None = None, salt: bytes | None = None) -> Report:
    """A redacted copy of ``report`` (``redacted`` set to True)."""
    redactor = make_redactor(report, settings=settings, secrets=secrets, salt=salt)
    out: dict[str, Any] = {}
    for key, value in report.items():
        out[key] = value if key in _FIXED_KEYS else redactor._field(key, value)
    out["redacted"] = True
    return cast(Report, out)
