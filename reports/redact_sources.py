"""What identifies this device and this user, gathered for the redactor.

| source                         | kind of value                                       |
|--------------------------------|-----------------------------------------------------|
| socket.gethostname()           | hostname, and its first label                       |
| getpass.getuser(), the home    | user; home path (also resolved); the home's last    |
|                                | part when it is a person's folder (/home/Alice Smith)|
| psutil.net_if_addrs()          | interface addresses and MACs                        |
| ``*_proxy`` variables          | user name and password of each proxy URL            |
| the config                     | user name, password and query values of every URL,  |
|                                | the upload token (from the config or its variable)  |
| the report                     | SSIDs written under an SSID key                     |

Each source is optional: on Android several of them raise. Values are kept as
written; the redactor compares them in canonical form (redact_forms), so a
percent-encoded password and its decoded text are the same value.
"""

from __future__ import annotations

import getpass
import ipaddress
import os
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from payprobe.net import split_hostport
from payprobe.reports.redact_forms import canonical_ip, canonical_mac, canonical_text

MIN_CREDENTIAL_CHARS = 3     # shorter user names and passwords would match ordinary words
MIN_QUERY_VALUE_CHARS = 6    # shorter query values are flags (?a=1), not keys
SSID_KEYS = frozenset({"ssid", "wifi_ssid", "network_name", "essid"})
_PERSONAL_HOME_ROOTS = ("/home", "/Users")
_GENERIC_HOSTNAMES = {"localhost", "localhost.localdomain"}


@dataclass
class Secrets:
    """Identifying values of one device, as written."""

    hostname: set[str] = field(default_factory=set)
    users: set[str] = field(default_factory=set)
    homes: set[str] = field(default_factory=set)
    literals: set[str] = field(default_factory=set)    # passwords, tokens, query keys
    addresses: set[str] = field(default_factory=set)   # interface addresses (always tokenised)
    macs: set[str] = field(default_factory=set)
    ssids: set[str] = field(default_factory=set)

    def merged(self, other: Secrets) -> Secrets:
        return Secrets(self.hostname | other.hostname, self.users | other.users, self.homes | other.homes,
                       self.literals | other.literals, self.addresses | other.addresses,
                       self.macs | other.macs, self.ssids | other.ssids)

    def canonical(self) -> dict[str, set[str]]:
        """By fingerprint kind (redact_match.KINDS), in canonical form."""
        def texts(values: Iterable[str]) -> set[str]:
            return {c for c in (canonical_text(v) for v in values) if len(c) >= 2}

        addresses = {ip for ip in (canonical_ip(a) for a in self.addresses) if ip is not None}
        return {
            "home": texts(self.homes), "hostname": texts(self.hostname), "user": texts(self.users),
            "ssid": texts(self.ssids), "literal": texts(self.literals),
            # Loopback names no one (every device has 127.0.0.1), and a local proxy
            # listener on it is exactly what support needs to see.
            "address": {str(ip) for ip in addresses if not ip.is_loopback},
            "mac": {m for m in (canonical_mac(v) for v in self.macs) if m is not None},
        }


# ------------------------------------------------------------------ this device


def _hostnames() -> set[str]:
    try:
        name = socket.gethostname()
    except OSError:
        return set()
    if not name or name.lower() in _GENERIC_HOSTNAMES:
        return set()
    return {name, name.split(".")[0]}


def _homes_and_owners() -> tuple[set[str], set[str]]:
    homes: set[str] = set()
    try:
        home = str(Path.home())
    except (RuntimeError, KeyError, OSError):
        return set(), set()
    if home in ("/", ""):
        return set(), set()
    homes.add(home)
    try:
        homes.add(os.path.realpath(home))   # Termux: /data/data/... and /data/user/0/... name one folder
    except OSError:
        pass
    # /home/Alice Smith: the folder's name is the person's, wherever it appears.
    owners = {PurePath(h).name for h in homes if str(PurePath(h).parent) in _PERSONAL_HOME_ROOTS}
    return homes, {o for o in owners if o}


def _interfaces() -> tuple[set[str], set[str]]:
    addresses: set[str] = set()
    macs: set[str] = set()
    try:
        import psutil
        for entries in psutil.net_if_addrs().values():
            for entry in entries:
                value = str(entry.address)
                if canonical_ip(value) is not None:
                    addresses.add(value)
                elif canonical_mac(value) is not None:
                    macs.add(value)
    except Exception:  # noqa: BLE001 - AccessDenied/PermissionError on Android, ImportError
        pass
    return addresses, macs


def url_credentials(url: str) -> set[str]:
    """User name and password of ``url`` (``user:pass@host`` without a scheme too)."""
    if "@" not in url:
        return set()
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        found = {parts.username or "", parts.password or ""}
    except ValueError:
        return set()
    return {v for v in found if len(canonical_text(v)) >= MIN_CREDENTIAL_CHARS}


def url_query_values(url: str) -> set[str]:
    try:
        query = urlsplit(url).query
    except ValueError:
        return set()
    return {v for _, v in parse_qsl(query, keep_blank_values=False) if len(v) >= MIN_QUERY_VALUE_CHARS}


def local_secrets() -> Secrets:
    """Hostname, user, home, interface addresses and MACs, proxy credentials of this device."""
    s = Secrets(hostname=_hostnames())
    try:
        s.users.add(getpass.getuser())
    except Exception:  # noqa: BLE001 - no passwd entry (Android) raises KeyError/OSError
        pass
    s.homes, owners = _homes_and_owners()
    s.users |= owners
    s.addresses, s.macs = _interfaces()
    for var, value in os.environ.items():
        if var.lower().endswith("_proxy"):
            s.literals |= url_credentials(value)
    return s


# ------------------------------------------------------------------ the config


def config_urls(settings: Any) -> Iterator[str]:
    """Every URL written in the config."""
    if settings is None:
        return
    for r in getattr(settings.dns, "resolvers", []) or []:
        if r.url:
            yield r.url
    yield from getattr(settings.clock, "http_date_urls", []) or []
    yield from getattr(settings.connectivity, "check_urls", []) or []
    yield from (e.url for e in getattr(settings, "endpoints", []) or [])
    for section, key in (("bandwidth", "mini_server"), ("alerts", "webhook_url"), ("upload", "url")):
        value = getattr(getattr(settings, section, None), key, "")
        if value:
            yield value


def config_secrets(settings: Any) -> Secrets:
    """Credentials, query values and the upload token written in (or named by) the config."""
    s = Secrets()
    if settings is None:
        return s
    for url in config_urls(settings):
        s.literals |= url_credentials(url) | url_query_values(url)
    upload = getattr(settings, "upload", None)
    for token in (getattr(upload, "token", ""), os.environ.get(getattr(upload, "token_env", "") or "", "")):
        if token and len(token) >= MIN_QUERY_VALUE_CHARS:
            s.literals.add(token)
    return s


def config_addresses(settings: Any) -> set[str]:
    """Address literals the user wrote in the config (resolvers, NTP, URLs): kept as written."""
    found: set[str] = set()

    def add_host(value: str) -> None:
        value = value.strip()
        try:
            host = split_hostport(value, 0)[0]
        except Exception:  # noqa: BLE001 - a value that is not host[:port]
            host = value
        try:
            found.add(str(ipaddress.ip_address(host.strip("[]"))))
        except ValueError:
            pass

    def host_of(url: str) -> str:
        try:
            return urlsplit(url).hostname or ""
        except ValueError:
            return ""

    if settings is None:
        return found
    for r in getattr(settings.dns, "resolvers", []) or []:
        if r.address:
            add_host(r.address)
    for value in getattr(settings.clock, "ntp_servers", []) or []:
        add_host(value)
    for url in config_urls(settings):
        add_host(host_of(url))
    return found


# ------------------------------------------------------------------ the report


def collect_ssids(obj: Any, out: set[str]) -> set[str]:
    """SSIDs written under an SSID key anywhere in ``obj``: removed wherever text repeats them."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if str(k).lower() in SSID_KEYS and isinstance(v, str) and len(v) >= 2:
                out.add(v)
            else:
                collect_ssids(v, out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            collect_ssids(v, out)
    return out
