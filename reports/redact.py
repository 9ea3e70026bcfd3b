"""Redaction: what leaves the device must not identify the person or the place.

On by default (``payprobe run --no-redact`` skips it and the report says
``"redacted": false``). Every string in the report, dict keys included, goes
through the same rules, so a value is caught wherever a check put it (summary,
finding message or data, metric label, evidence):

1. Secrets with a syntax: URL credentials (``scheme://user:pass@``, also
   ``user:pass@host``) become ``***@``; URL query values and fragments,
   ``Authorization:`` values, ``Bearer …`` and ``token=…``-like pairs become
   ``***`` (the key stays: it says what was there).
2. Values of secret-like keys (password, token, authorization, cookie...)
   become ``***``.
3. Known identifying values, compared in canonical form (case-folded,
   percent-decoded, white space collapsed; redact_forms): the home path
   becomes ``~``, the hostname ``<hostname>`` (also ``ALICES-PHONE.lan``,
   ``alices-phone-5g``), the user ``<user>``, an SSID ``ssid-xxxxxx``, a proxy
   or config password or upload token ``***``. Other people's home paths
   (``/home/NAME``, ``/Users/NAME``, ``C:\\Users\\NAME``) become ``~`` too.
4. SSID/BSSID values (keys ``ssid``, ``bssid``, ``wifi_ssid``...) become
   ``ssid-xxxxxx`` / ``mac-xxxxxx``.
5. MAC addresses in any common notation (``3c:22:fb:aa:bb:cc``,
   ``3C-22-FB-AA-BB-CC``, ``3c22.fbaa.bbcc``, ``3c22fbaabbcc``) become ``mac-xxxxxx``.
6. IPv4/IPv6 literals, also IPv4-mapped (``::ffff:203.0.114.9``) and dashed in
   a host name (``ip-203-0-114-9``), are compared as the address they name.
   KEPT when they identify nobody and help the diagnosis: loopback, unspecified,
   documentation ranges, the 198.18.0.0/15 benchmark range (fake-IP proxies
   answer from it), well-known public resolvers, and every address literal
   written in the config. The device's own interface addresses and everything
   else become a stable token: ``addr-xxxxxx`` for a public address,
   ``lan-xxxxxx`` for a private, CGNAT, link-local or ULA one.

Tokens are the first 6 hex digits of SHA-256(salt + kind + canonical value).
The salt is random, created on first use in the data dir (``redact-salt``,
mode 0600), so the same address gets the same token in every report of this
device while nobody else can recompute it from a guessed address.

A ``--no-redact`` report records what identified the device at run time as
salted fingerprints (``redaction_fingerprints``, redact_match): never the
values themselves. A bundle made from it later, maybe in another shell with
another proxy or hostname, removes those values as well as today's.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets as _secrets
from collections.abc import Iterable, Mapping
from typing import Any, cast

from payprobe.reports.redact_forms import (
    IPV4,
    IPV4_DASHED,
    IPV6,
    MAC_ANY,
    OWN_TOKEN,
    canonical_ip,
    canonical_mac,
    canonical_text,
    looks_like_bare_mac,
    mask_home_paths,
    mask_secret_syntax,
)
from payprobe.reports.redact_match import Fingerprints, Hasher, replace_literals
from payprobe.reports.redact_sources import (
    SSID_KEYS,
    Secrets,
    collect_ssids,
    config_addresses,
    config_secrets,
    local_secrets,
)
from payprobe.reports.types import Report

__all__ = ["RECORD_KEY", "Redactor", "Secrets", "config_addresses", "fingerprint_record", "local_secrets",
           "make_redactor", "recorded_fingerprints", "redact_report", "redact_value"]

# The report key of a --no-redact run's fingerprints (optional, schema_version 1).
RECORD_KEY = "redaction_fingerprints"

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
_BSSID_KEYS = {"bssid", "wifi_bssid", "ap_mac"}
_SECRET_KEYS = re.compile(r"pass(word)?|passwd|secret|token|authorization|cookie|api_?key|credential",
                          re.I)
_SECRET_KEY_EXCEPTIONS = {"has_credentials"}
_TEXT_MEMO_ENTRIES = 20_000   # bounds the memo on a 1,000-endpoint report
_LITERAL_TOKENS = {"home": "~", "hostname": "<hostname>", "user": "<user>", "literal": "***"}


class Redactor:
    """Redacts text and JSON-like values against one set of fingerprints."""

    def __init__(self, fingerprints: Fingerprints, hasher: Hasher, salt: bytes,
                 keep_addresses: Iterable[str] = ()) -> None:
        self.fingerprints = fingerprints
        self.hasher = hasher
        self.salt = salt
        keep = (canonical_ip(a) for a in (*WELL_KNOWN_ADDRESSES, *keep_addresses))
        self.keep = {str(ip) for ip in keep if ip is not None}
        self._known_addresses = fingerprints.digests.get("address", frozenset())
        self._known_macs = fingerprints.digests.get("mac", frozenset())
        # A report repeats its strings (keys, units, statuses: ~300 distinct of
        # ~5,000), and text() depends on nothing but the string and this
        # redactor's fingerprints and salt: each distinct string is redacted once.
        self._text_memo: dict[str, str] = {}

    def token(self, kind: str, value: str) -> str:
        digest = hashlib.sha256(self.salt + kind.encode() + b"\0" + value.encode("utf-8", "surrogatepass"))
        return f"{kind}-{digest.hexdigest()[:6]}"

    # -- strings

    def text(self, value: str) -> str:
        found = self._text_memo.get(value)
        if found is None:
            if len(self._text_memo) >= _TEXT_MEMO_ENTRIES:
                self._text_memo.clear()
            found = self._text_memo[value] = self._redact_text(value)
        return found

    def _redact_text(self, value: str) -> str:
        value = mask_secret_syntax(value)
        # Known values before the generic home pattern: /home/Alice Smith at the end of
        # a message is the local home as a whole, not /home/Alice and a word.
        value = replace_literals(value, self.fingerprints, self.hasher, self._literal)
        value = mask_home_paths(value)
        value = MAC_ANY.sub(self._mac, value)
        value = IPV6.sub(self._address, value)
        value = IPV4.sub(self._address, value)
        value = IPV4_DASHED.sub(self._address, value)
        # Once more: a token can end a value that an address's colons had cut short
        # ("Bearer x::ffff:a"); masking it now keeps a second redaction a no-op.
        return mask_secret_syntax(value)

    def _literal(self, kind: str, canonical: str) -> str:
        if kind == "ssid":
            return self.token("ssid", canonical)
        return _LITERAL_TOKENS.get(kind, "***")

    def _mac(self, match: re.Match[str]) -> str:
        raw = match.group(0)
        mac = canonical_mac(raw)
        if mac is None:
            return raw
        bare = not any(sep in raw for sep in ":.-")
        if bare and not looks_like_bare_mac(raw) and self.hasher.digest(mac) not in self._known_macs:
            return raw
        return self.token("mac", mac)

    def _address(self, match: re.Match[str]) -> str:
        raw = match.group(0)
        ip = canonical_ip(raw)
        if ip is None:
            return raw
        norm = str(ip)
        if self.hasher.digest(norm) not in self._known_addresses:
            if ip.is_loopback or ip.is_unspecified or norm in self.keep:
                return raw
            if any(ip in net for net in _KEEP_NETS if net.version == ip.version):
                return raw
        lan = ip.is_private or ip.is_link_local or any(ip in n for n in _LAN_NETS if n.version == ip.version)
        return self.token("lan" if lan else "addr", norm)

    # -- structures

    def value(self, obj: Any) -> Any:
        if isinstance(obj, dict):
            return {self.text(k) if isinstance(k, str) else k: self.field(k, v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [self.value(v) for v in obj]
        if isinstance(obj, str):
            return self.text(obj)
        return obj

    def field(self, key: Any, value: Any) -> Any:
        """``value`` found under ``key``: the key says what kind of value it is."""
        k = str(key).lower()
        if value in (None, "", [], {}) or isinstance(value, bool):
            return value
        if k in _SECRET_KEY_EXCEPTIONS:
            return value
        if _SECRET_KEYS.search(k) and isinstance(value, (str, int, float)):
            return "***"
        if isinstance(value, str) and OWN_TOKEN.fullmatch(value):
            return value   # redacted before: a bundle redacts again
        if k in SSID_KEYS and isinstance(value, str):
            return self.token("ssid", canonical_text(value))
        if k in _BSSID_KEYS and isinstance(value, str):
            return self.token("mac", canonical_mac(value) or canonical_text(value))
        return self.value(value)

    def report(self, report: Mapping[str, Any]) -> Report:
        """A redacted copy of ``report``: ``redacted`` true, no fingerprint record."""
        out: dict[str, Any] = {}
        for key, value in report.items():
            if key == RECORD_KEY:
                continue
            out[key] = value if key in _FIXED_KEYS else self.field(key, value)
        out["redacted"] = True
        return cast(Report, out)


# ------------------------------------------------------------------ fingerprints


def recorded_fingerprints(report: Any) -> Fingerprints | None:
    """The fingerprints a --no-redact run recorded in ``report``, or None."""
    record = report.get(RECORD_KEY) if isinstance(report, Mapping) else None
    if record is None:
        return None
    try:
        return Fingerprints.from_dict(record)
    except ValueError:
        return None


def fingerprint_record(*, settings: Any = None, secrets: Secrets | None = None,
                       salt: bytes) -> dict[str, Any]:
    """What identifies this device now, as salted fingerprints for the report (JSON-ready)."""
    found = (secrets if secrets is not None else local_secrets()).merged(config_secrets(settings))
    return Fingerprints.of(Hasher(salt), found.canonical()).to_dict()


def make_redactor(report: Any = None, *, settings: Any = None, secrets: Secrets | None = None,
                  salt: bytes | None = None, related: Any = None) -> Redactor:
    """A redactor for ``report`` (and ``related`` values such as history summaries).

    It removes this device's secrets (``secrets``, by default read now), the
    config's, the SSIDs the values themselves name, and the secrets a
    --no-redact run recorded in ``report`` when they were made with ``salt``.
    """
    # Without the device's salt, a random one: tokens are then stable within
    # this report only, and still cannot be recomputed by anyone.
    salt = salt if salt is not None else _secrets.token_bytes(16)
    hasher = Hasher(salt)
    found = (secrets if secrets is not None else local_secrets()).merged(config_secrets(settings))
    found.ssids |= collect_ssids(related, collect_ssids(report, set()))
    fingerprints = Fingerprints.of(hasher, found.canonical())
    recorded = recorded_fingerprints(report)
    if recorded is not None and recorded.check == hasher.check:
        fingerprints = fingerprints.merged(recorded)
    return Redactor(fingerprints, hasher, salt, config_addresses(settings))


def redact_value(obj: Any, *, settings: Any = None, secrets: Secrets | None = None,
                 salt: bytes | None = None) -> Any:
    """Redact any JSON-like value (history summaries, ad-hoc evidence)."""
    return make_redactor(obj, settings=settings, secrets=secrets, salt=salt).value(obj)


def redact_report(report: Report, *, settings: Any = None,
                  secrets: Secrets | None = None, salt: bytes | None = None) -> Report:
    """A redacted copy of ``report`` (``redacted`` set to True)."""
    return make_redactor(report, settings=settings, secrets=secrets, salt=salt).report(report)
