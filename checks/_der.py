"""A small, strict DER reader for X.509 certificates, standard library only.

It reads what the tls check needs to say who presented a certificate, on any
install (``cryptography`` is optional): issuer and subject names, validity,
the subjectAltName host names and addresses, and the SHA-256 of the bytes.

The input is hostile: whoever answered on port 443 chose it. So:

- every length is checked against the bytes of the element that holds it, and
  only DER's definite, minimal lengths are accepted;
- the certificate is read by its schema, never by recursing into whatever
  nesting the input has; readers still count their depth (``MAX_DEPTH``);
- input over ``MAX_DER_BYTES``, or over ``MAX_ITEMS`` entries in any list, is
  refused, so the work is bounded by the size of the input;
- every problem raises :class:`DerError` (a ``ValueError``); nothing else escapes.

What is read (RFC 5280 section 4.1)::

    Certificate     SEQUENCE { tbsCertificate, signatureAlgorithm SEQUENCE,
                               signatureValue BIT STRING }
    tbsCertificate  SEQUENCE { [0] EXPLICIT version INTEGER OPTIONAL (absent: v1),
                               serialNumber INTEGER, signature SEQUENCE,
                               issuer Name, validity SEQUENCE { notBefore, notAfter },
                               subject Name, subjectPublicKeyInfo SEQUENCE,
                               [1] issuerUniqueID OPTIONAL, [2] subjectUniqueID OPTIONAL,
                               [3] EXPLICIT extensions SEQUENCE OF Extension OPTIONAL }
    Name            SEQUENCE OF SET OF SEQUENCE { type OID, value (a string type) }
    Time            UTCTime YYMMDDHHMMSSZ | GeneralizedTime YYYYMMDDHHMMSSZ
    Extension       SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
    subjectAltName  (2.5.29.17) SEQUENCE OF GeneralName: [2] dNSName, [7] iPAddress read,
                    the other seven kinds checked for shape and skipped

Names print as ``cryptography`` prints them (RFC 4514, most specific first), so
a report reads the same whichever parser an install has.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timezone

# OpenSSL's default limit for a peer's whole certificate chain.
MAX_DER_BYTES = 100_000
# The schema nests at most 6 deep (subjectAltName entries); a little room, no more.
MAX_DEPTH = 8
# Entries in any list read: RDNs, attributes of one RDN, extensions, SAN entries.
MAX_ITEMS = 4096
# 2.5.29.17 is 3 bytes; real OIDs stay well under this.
MAX_OID_BYTES = 64

_BOOLEAN, _INTEGER, _BIT_STRING, _OCTET_STRING, _OID = 0x01, 0x02, 0x03, 0x04, 0x06
_UTC_TIME, _GENERALIZED_TIME = 0x17, 0x18
_SEQUENCE, _SET = 0x30, 0x31
_VERSION, _ISSUER_UID, _SUBJECT_UID, _EXTENSIONS = 0xA0, 0x81, 0x82, 0xA3
_DNS_NAME, _IP_ADDRESS = 0x82, 0x87
# GeneralName's nine kinds, as their tags: [0] [3] [4] [5] are constructed, the rest primitive.
_GENERAL_NAME_TAGS = frozenset({0xA0, 0x81, 0x82, 0xA3, 0xA4, 0xA5, 0x86, 0x87, 0x88})
SUBJECT_ALT_NAME = "2.5.29.17"

COMMON_NAME = "2.5.4.3"
ORGANIZATION = "2.5.4.10"
ORGANIZATIONAL_UNIT = "2.5.4.11"
# The short names RFC 4514 strings use (the same table as cryptography's); others print dotted.
_SHORT_NAMES = {
    COMMON_NAME: "CN", "2.5.4.7": "L", "2.5.4.8": "ST", ORGANIZATION: "O",
    ORGANIZATIONAL_UNIT: "OU", "2.5.4.6": "C", "2.5.4.9": "STREET",
    "0.9.2342.19200300.100.1.25": "DC", "0.9.2342.19200300.100.1.1": "UID",
}
# How each string type's bytes are text. cryptography reads every type but BMPString and
# UniversalString as UTF-8; TeletexString is usually Latin-1 in the wild, hence the fallback.
_UTF8_TYPES = frozenset({0x0C, 0x12, 0x13, 0x16, 0x1A, 0x1B, 0x1D})
_TELETEX, _BMP, _UNIVERSAL = 0x14, 0x1E, 0x1C


class DerError(ValueError):
    """The bytes are not a DER certificate this reader accepts; says where and why."""


@dataclass(frozen=True)
class Attribute:
    oid: str            # dotted, e.g. "2.5.4.3"
    value: str

    @property
    def short_name(self) -> str:
        return _SHORT_NAMES.get(self.oid, self.oid)


@dataclass(frozen=True)
class Name:
    rdns: tuple[tuple[Attribute, ...], ...]   # as encoded: the most general first

    def first(self, oid: str) -> str:
        """The first value of this attribute type, in encoded order; "" if absent."""
        for rdn in self.rdns:
            for attribute in rdn:
                if attribute.oid == oid:
                    return attribute.value
        return ""

    def rfc4514(self) -> str:
        """"CN=host,O=Org,C=CN": RDNs reversed, as RFC 4514 (and cryptography) print them."""
        return ",".join("+".join(f"{a.short_name}={_escape(a.value)}" for a in rdn)
                        for rdn in reversed(self.rdns))


@dataclass(frozen=True)
class Certificate:
    version: int                           # 1, 2 or 3
    issuer: Name
    subject: Name
    not_before: datetime                   # aware, UTC
    not_after: datetime
    dns_names: tuple[str, ...]             # subjectAltName dNSName entries, in order
    ip_addresses: tuple[str, ...]          # subjectAltName iPAddress entries, as text
    sha256: str                            # hex, of the whole DER


def _escape(value: str) -> str:
    # RFC 4514 section 2.4, character for character as cryptography escapes.
    if not value:
        return ""
    for raw, escaped in (("\\", "\\\\"), ('"', '\\"'), ("+", "\\+"), (",", "\\,"),
                         (";", "\\;"), ("<", "\\<"), (">", "\\>"), ("\0", "\\00")):
        value = value.replace(raw, escaped)
    if value[0] == "#" or (value[0] == " " and len(value) > 1):
        value = "\\" + value
    if value[-1] == " ":
        value = value[:-1] + "\\ "
    return value


@dataclass(frozen=True)
class _Element:
    tag: int
    start: int    # of the contents
    end: int


class _Reader:
    """Consecutive DER elements in ``data[pos:end]``; never reads outside that window."""

    def __init__(self, data: bytes, pos: int, end: int, depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            raise DerError(f"nested deeper than {MAX_DEPTH}")
        self.data, self.pos, self.end, self.depth = data, pos, end, depth

    def more(self) -> bool:
        return self.pos < self.end

    def peek(self) -> int | None:
        return self.data[self.pos] if self.pos < self.end else None

    def next(self, tag: int | None, what: str) -> _Element:
        if self.pos >= self.end:
            raise DerError(f"{what}: missing")
        found = self.data[self.pos]
        if found & 0x1F == 0x1F:
            raise DerError(f"{what}: multi-byte tag (never used in a certificate)")
        if tag is not None and found != tag:
            raise DerError(f"{what}: tag 0x{found:02x} where 0x{tag:02x} belongs")
        length, start = self._length(self.pos + 1, what)
        if length > self.end - start:
            raise DerError(f"{what}: length {length} runs past the {self.end - start} bytes left")
        self.pos = start + length
        return _Element(found, start, start + length)

    def _length(self, pos: int, what: str) -> tuple[int, int]:
        if pos >= self.end:
            raise DerError(f"{what}: no length")
        first = self.data[pos]
        if first < 0x80:
            return first, pos + 1
        count = first & 0x7F
        if count == 0:
            raise DerError(f"{what}: indefinite length (BER, not DER)")
        if count > 4 or count > self.end - pos - 1:
            raise DerError(f"{what}: length of {count} bytes does not fit")
        raw = self.data[pos + 1:pos + 1 + count]
        length = int.from_bytes(raw, "big")
        if raw[0] == 0 or length < 0x80:
            raise DerError(f"{what}: length not in its shortest form")
        return length, pos + 1 + count

    def optional(self, tag: int, what: str) -> _Element | None:
        return self.next(tag, what) if self.peek() == tag else None

    def inside(self, element: _Element) -> _Reader:
        return _Reader(self.data, element.start, element.end, self.depth + 1)

    def contents(self, element: _Element) -> bytes:
        return self.data[element.start:element.end]

    def finish(self, what: str) -> None:
        if self.pos != self.end:
            raise DerError(f"{what}: {self.end - self.pos} bytes after its last element")


def parse_certificate(der: bytes) -> Certificate:
    """Read one DER certificate. Raises DerError, and only that, for anything else."""
    if not isinstance(der, (bytes, bytearray, memoryview)):
        raise DerError(f"expected bytes, got {type(der).__name__}")
    data = bytes(der)
    if len(data) > MAX_DER_BYTES:
        raise DerError(f"{len(data)} bytes, more than the {MAX_DER_BYTES} a certificate may have")
    top = _Reader(data, 0, len(data))
    outer = top.inside(top.next(_SEQUENCE, "certificate"))
    top.finish("certificate")
    tbs = outer.next(_SEQUENCE, "tbsCertificate")
    outer.next(_SEQUENCE, "signatureAlgorithm")
    outer.next(_BIT_STRING, "signatureValue")
    outer.finish("certificate")
    return _tbs(outer.inside(tbs), hashlib.sha256(data).hexdigest())


def _tbs(r: _Reader, sha256: str) -> Certificate:
    version = _version(r)
    serial = r.next(_INTEGER, "serialNumber")
    if serial.start == serial.end:
        raise DerError("serialNumber: empty")
    r.next(_SEQUENCE, "signature")
    issuer = _name(r.inside(r.next(_SEQUENCE, "issuer")), "issuer")
    validity = r.inside(r.next(_SEQUENCE, "validity"))
    not_before, not_after = _time(validity, "notBefore"), _time(validity, "notAfter")
    validity.finish("validity")
    subject = _name(r.inside(r.next(_SEQUENCE, "subject")), "subject")
    r.next(_SEQUENCE, "subjectPublicKeyInfo")
    r.optional(_ISSUER_UID, "issuerUniqueID")
    r.optional(_SUBJECT_UID, "subjectUniqueID")
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    tagged = r.optional(_EXTENSIONS, "extensions")
    if tagged is not None:
        if version != 3:
            raise DerError(f"extensions in a version {version} certificate")
        dns_names, ip_addresses = _extensions(r.inside(tagged))
    r.finish("tbsCertificate")
    return Certificate(version, issuer, subject, not_before, not_after, dns_names,
                       ip_addresses, sha256)


def _version(r: _Reader) -> int:
    tagged = r.optional(_VERSION, "version")
    if tagged is None:
        return 1
    inner = r.inside(tagged)
    raw = inner.contents(inner.next(_INTEGER, "version"))
    inner.finish("version")
    if len(raw) != 1 or raw[0] > 2:
        raise DerError("version: not v1, v2 or v3")
    return raw[0] + 1


def _count(entries_so_far: int, what: str) -> None:
    if entries_so_far >= MAX_ITEMS:
        raise DerError(f"{what}: more than {MAX_ITEMS} entries")


def _name(r: _Reader, what: str) -> Name:
    rdns: list[tuple[Attribute, ...]] = []
    while r.more():
        _count(len(rdns), what)
        rdn = r.inside(r.next(_SET, f"{what} RDN"))
        attributes: list[Attribute] = []
        while rdn.more():
            _count(len(attributes), what)
            pair = rdn.inside(rdn.next(_SEQUENCE, f"{what} attribute"))
            oid = _oid(pair.contents(pair.next(_OID, f"{what} attribute type")), what)
            value = pair.next(None, f"{what} attribute value")
            pair.finish(f"{what} attribute")
            attributes.append(Attribute(oid, _text(value.tag, pair.contents(value), what)))
        if not attributes:
            raise DerError(f"{what}: empty RDN")
        rdns.append(tuple(attributes))
    return Name(tuple(rdns))


def _text(tag: int, raw: bytes, what: str) -> str:
    try:
        if tag in _UTF8_TYPES:
            return raw.decode("utf-8")
        if tag == _TELETEX:
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                return raw.decode("latin-1")
        if tag == _BMP:
            return raw.decode("utf-16-be")
        if tag == _UNIVERSAL:
            return raw.decode("utf-32-be")
    except UnicodeDecodeError as exc:
        raise DerError(f"{what}: a string that is not valid text ({exc.reason})") from None
    # Not a string type (a BIT STRING uniqueIdentifier, say): RFC 4514's "#" and hex.
    return "#" + raw.hex()


def _oid(raw: bytes, what: str) -> str:
    if not raw or len(raw) > MAX_OID_BYTES:
        raise DerError(f"{what}: object identifier of {len(raw)} bytes")
    if raw[-1] & 0x80:
        raise DerError(f"{what}: object identifier cut short")
    arcs: list[int] = []
    value = 0
    fresh = True
    for byte in raw:
        if fresh and byte == 0x80:
            raise DerError(f"{what}: object identifier not in its shortest form")
        value = (value << 7) | (byte & 0x7F)
        fresh = not byte & 0x80
        if fresh:
            arcs.append(value)
            value = 0
    head = min(arcs[0] // 40, 2)
    return ".".join(str(arc) for arc in (head, arcs[0] - 40 * head, *arcs[1:]))


def _time(r: _Reader, what: str) -> datetime:
    element = r.next(None, what)
    raw = r.contents(element)
    if element.tag == _UTC_TIME:
        digits = 12
    elif element.tag == _GENERALIZED_TIME:
        digits = 14
    else:
        raise DerError(f"{what}: tag 0x{element.tag:02x} is not a time")
    if len(raw) != digits + 1 or raw[-1:] != b"Z" or not raw[:-1].isdigit():
        raise DerError(f"{what}: not {'YYMMDDHHMMSSZ' if digits == 12 else 'YYYYMMDDHHMMSSZ'}")
    text = raw[:-1].decode("ascii")
    if digits == 12:
        # RFC 5280 4.1.2.5.1: YY of 50 and over is 19YY, under 50 is 20YY.
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    try:
        return datetime(int(text[0:4]), int(text[4:6]), int(text[6:8]), int(text[8:10]),
                        int(text[10:12]), int(text[12:14]), tzinfo=timezone.utc)
    except ValueError:
        raise DerError(f"{what}: {text} is no date and time") from None


def _extensions(r: _Reader) -> tuple[tuple[str, ...], tuple[str, ...]]:
    listed = r.inside(r.next(_SEQUENCE, "extensions"))
    r.finish("extensions")
    seen: list[str] = []
    found: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    while listed.more():
        _count(len(seen), "extensions")
        extension = listed.inside(listed.next(_SEQUENCE, "extension"))
        oid = _oid(extension.contents(extension.next(_OID, "extnID")), "extnID")
        if oid in seen:
            raise DerError(f"extension {oid} appears twice")
        seen.append(oid)
        critical = extension.optional(_BOOLEAN, "critical")
        if critical is not None and extension.contents(critical) not in (b"\x00", b"\xff"):
            raise DerError(f"extension {oid}: critical is not a DER BOOLEAN")
        value = extension.next(_OCTET_STRING, "extnValue")
        extension.finish(f"extension {oid}")
        if oid == SUBJECT_ALT_NAME:
            found = _subject_alt_names(extension.inside(value))
    return found


def _subject_alt_names(r: _Reader) -> tuple[tuple[str, ...], tuple[str, ...]]:
    entries = r.inside(r.next(_SEQUENCE, "subjectAltName"))
    r.finish("subjectAltName")
    dns_names: list[str] = []
    ip_addresses: list[str] = []
    seen = 0
    while entries.more():
        _count(seen, "subjectAltName")
        seen += 1
        entry = entries.next(None, "subjectAltName entry")
        if entry.tag not in _GENERAL_NAME_TAGS:
            raise DerError(f"subjectAltName: tag 0x{entry.tag:02x} is no GeneralName")
        raw = entries.contents(entry)
        if entry.tag == _DNS_NAME:
            try:
                dns_names.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                raise DerError("subjectAltName: a dNSName that is not text") from None
        elif entry.tag == _IP_ADDRESS:
            if len(raw) == 4:
                ip_addresses.append(str(ipaddress.IPv4Address(raw)))
            elif len(raw) == 16:
                ip_addresses.append(str(ipaddress.IPv6Address(raw)))
            else:
                raise DerError(f"subjectAltName: an iPAddress of {len(raw)} bytes")
    return tuple(dns_names), tuple(ip_addresses)
