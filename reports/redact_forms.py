"""Canonical forms and the patterns that find identifying values in text.

The redactor compares values in one canonical form each, so a value is caught
however a tool or a person happened to write it:

===========  ==========================================================  =====================
kind         written as                                                  canonical form
===========  ==========================================================  =====================
literal      ``PIXEL-7-Alice``, ``pa%40ss``, ``Alice  Home 5G``           percent-decoded,
                                                                         case-folded, runs of
                                                                         white space as one
MAC          ``3C-22-FB-AA-BB-CC``, ``3c22.fbaa.bbcc``, ``3c22fbaabbcc``  ``3c:22:fb:aa:bb:cc``
IPv4         ``203.0.114.9``, ``203.000.114.009``, ``ip-203-0-114-9``,    ``203.0.114.9``
             ``::ffff:203.0.114.9``, ``::ffff:cb00:7209``
IPv6         ``FE80::1%wlan0``, ``fe80:0:0::1%25wlan0``, ``[fe80::1]``     ``fe80::1``
===========  ==========================================================  =====================

Secrets that have a syntax rather than a value (URL query values, ``token=…``,
``Authorization: …``, ``Bearer …``) are masked by pattern: the key stays, the
value becomes ``***``.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import unquote

MASK = "***"

# ------------------------------------------------------------------ literals


def canonical_text(value: str) -> str:
    """Percent-decoded, case-folded, white space collapsed: how literals are compared."""
    if "%" in value:
        value = unquote(value)
    return " ".join(value.casefold().split())


# What the redactor itself writes: never matched again, so redacting twice
# gives the same text (a bundle re-redacts a redacted report).
OWN_TOKEN = re.compile(r"<hostname>|<user>|(?:addr|lan|mac|ssid)-[0-9a-f]{6}(?![0-9a-zA-Z])|\*\*\*")

# ------------------------------------------------------------------ MAC addresses

MAC_ANY = re.compile(
    r"(?<![0-9A-Fa-f:.-])(?:"
    r"[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}"      # 3c:22:fb:aa:bb:cc, 3C-22-...
    r"|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}"                # 3c22.fbaa.bbcc (Cisco)
    r"|[0-9A-Fa-f]{12}"                                               # 3c22fbaabbcc
    r")(?![0-9A-Za-z_:-]|\.[0-9A-Fa-f])")


def canonical_mac(raw: str) -> str | None:
    digits = re.sub(r"[:.-]", "", raw).lower()
    if len(digits) != 12 or not all(c in "0123456789abcdef" for c in digits):
        return None
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def looks_like_bare_mac(raw: str) -> bool:
    """Twelve hex digits with no separator are a MAC only when they mix digits and
    letters: a 12-digit number (a byte count, a timestamp) is not one."""
    return any(c.isdigit() for c in raw) and any(c.isalpha() for c in raw)


# ------------------------------------------------------------------ IP addresses

IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
# ip-203-0-114-9.ec2.internal, 203-0-114-9.static.example.net: the address in a host name.
IPV4_DASHED = re.compile(r"(?<![\d.])(?<!\d-)\d{1,3}-\d{1,3}-\d{1,3}-\d{1,3}(?![\d]|-\d)")
# Broad candidate (validated with ipaddress afterwards): hex groups with at least
# two colons, optionally an embedded IPv4 tail (tried first, so ::ffff:203.0.114.9
# is one address) and a %zone, also URL-encoded (%25zone).
IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?"
                  r"(?:%[\w.-]+)?(?![\w:]|\.\d)")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _ipv4_octets(text: str, sep: str) -> ipaddress.IPv4Address | None:
    parts = text.split(sep)
    if len(parts) != 4 or not all(p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts):
        return None
    # int() accepts leading zeros that ipaddress refuses: 203.000.114.009 is still an address.
    return ipaddress.IPv4Address(".".join(str(int(p)) for p in parts))


def canonical_ip(raw: str) -> IPAddress | None:
    """The address a literal names; an IPv4-mapped IPv6 address is its IPv4 address."""
    text = raw.strip("[]")
    if "%" in text:
        text = text.split("%", 1)[0]
    if ":" not in text:
        sep = "-" if "-" in text else "."
        return _ipv4_octets(text, sep)
    try:
        ip = ipaddress.IPv6Address(text)
    except ValueError:
        return None
    return ip.ipv4_mapped or ip


# ------------------------------------------------------------------ secrets by syntax

URL_USERINFO = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)[^/@\s\"'<>]+@", re.I)
BARE_USERINFO = re.compile(r"(?<![\w/@.:-])[\w.%~+-]+:[^\s/@\"'<>]+@(?=[\w.-]+)")
# A URL ends before white space, quotes, angle brackets and trailing punctuation of prose.
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s\"'<>`]*[^\s\"'<>`.,;:!?)\]}]", re.I)
# key=value after ? or & anywhere, also in a path without a scheme (GET /x?key=...);
# like a URL, the value ends before trailing punctuation of prose.
_QUERY_PAIR = re.compile(r"(?P<lead>[?&][^=&#?\s\"'<>]+=)(?P<value>[^&#\s\"'<>]*[^&#\s\"'<>.,;:!?)\]}])")
_AUTH_HEADER = re.compile(r"(?P<lead>\b(?:proxy-)?authorization\s*[:=]\s*(?:(?:bearer|basic|digest|negotiate|"
                          r"token)\s+)?)(?P<value>[^\s\"'<>,;]+)", re.I)
_BEARER = re.compile(r"(?P<lead>\bbearer\s+)(?P<value>[\w.~+/-]{6,}=*)", re.I)
# token=..., api-key: ..., PAYPROBE_UPLOAD_TOKEN=... in free text. Words that are
# also plain English (pass, key, auth) count only with "=" or inside a compound name.
_STRONG = r"password|passwd|pwd|secret|token|api[_-]?key|apikey|credentials?|cookie|signature|access[_-]?key"
_WEAK = r"pass|key|auth|session|sid|sig"
_SECRET_PAIR = re.compile(
    rf"(?P<lead>(?<![\w-])(?:(?:[a-z0-9]+[_-])*(?:{_STRONG})|(?:[a-z0-9]+[_-])+(?:{_WEAK}))\s*[=:]\s*"
    rf"|(?<![\w-])(?:{_WEAK})=)(?P<value>[^\s\"'<>,;&]+)", re.I)


def _mask_value(match: re.Match[str]) -> str:
    return match.group("lead") + MASK


def _mask_url(match: re.Match[str]) -> str:
    url = match.group(0)
    cut = min((i for i in (url.find("?"), url.find("#")) if i >= 0), default=-1)
    if cut < 0:
        return url
    head, tail = url[:cut], url[cut:]
    query, hash_, fragment = tail.partition("#")
    if query:
        pieces = []
        for piece in query[1:].split("&"):
            key, eq, value = piece.partition("=")
            pieces.append(f"{key}={MASK}" if eq and value else (piece if eq or not piece else MASK))
        head += "?" + "&".join(pieces)
    if hash_:
        head += "#" + (MASK if fragment else "")
    return head


def mask_secret_syntax(text: str) -> str:
    """URL credentials, query values, fragments, auth headers, bearer tokens and
    secret-named key=value pairs become ``***``; the keys stay (they say what it was)."""
    text = URL_USERINFO.sub(r"\g<scheme>***@", text)
    text = BARE_USERINFO.sub("***@", text)
    text = _URL.sub(_mask_url, text)
    text = _QUERY_PAIR.sub(_mask_value, text)
    text = _AUTH_HEADER.sub(_mask_value, text)
    text = _BEARER.sub(_mask_value, text)
    return _SECRET_PAIR.sub(_mask_value, text)


# ------------------------------------------------------------------ home directories

# The name may hold spaces (/home/Alice Smith/...) when a path separator follows it.
# A name that is already "~" was redacted before: left alone, so redacting twice changes nothing.
HOME_PATH = re.compile(r"(?P<root>/home/|/Users/|[A-Za-z]:\\Users\\)(?!~)"
                       r"(?P<name>[^/\\\s\"'<>]+(?: [^/\\\s\"'<>]+)*(?=[/\\])|[^/\\\s\"'<>]*)", re.I)


def mask_home_paths(text: str) -> str:
    return HOME_PATH.sub(lambda m: "~" if m.group("name") else m.group(0), text)
