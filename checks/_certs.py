"""Certificate facts shared by the tls and endpoints checks.

The chain comes from the handshake itself (DER bytes), read by payprobe's own
DER reader (checks/_der.py, standard library only), so a plain ``pip install``
on a phone names the issuer of an intercepting certificate as well as a laptop
with ``cryptography`` does. Only a certificate that reader refuses is handed to
``cryptography`` (when installed), then to the ssl module's dict form (which
exists for a verified peer only); failing those, only the fingerprint is known.
"""

from __future__ import annotations

import hashlib
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from payprobe.checks import _der

# Names of a certificate given in the evidence (the rest are counted in sans_total):
# a CDN certificate can carry hundreds, and the report's size matters on a phone.
# The hostname check itself always reads every name.
MAX_SANS = 20
# Substrings of an issuer (CN/O/OU) that name a known interception tool, so the
# report can say who answered instead of just "unknown authority".
INTERCEPTORS: tuple[tuple[str, str], ...] = (
    ("fiddler", "Fiddler"),
    ("charles proxy", "Charles"),
    ("charlesproxy", "Charles"),
    ("mitmproxy", "mitmproxy"),
    ("portswigger", "Burp Suite"),
    ("proxyman", "Proxyman"),
    ("http toolkit", "HTTP Toolkit"),
    ("httptoolkit", "HTTP Toolkit"),
    ("surge", "Surge"),
    ("quantumult", "Quantumult"),
    ("shadowrocket", "Shadowrocket"),
    ("reqable", "Reqable"),
    ("httpcanary", "HttpCanary"),
    ("whistle", "whistle"),
    ("anyproxy", "AnyProxy"),
    ("kaspersky", "Kaspersky"),
    ("avast", "Avast"),
    ("eset ssl filter", "ESET"),
    ("bitdefender", "Bitdefender"),
    ("sangfor", "Sangfor"),
    ("fortinet", "Fortinet"),
    ("fortigate", "Fortinet"),
    ("zscaler", "Zscaler"),
    ("palo alto", "Palo Alto"),
    ("sophos", "Sophos"),
    ("cisco umbrella", "Cisco Umbrella"),
)


@dataclass
class CertInfo:
    sha256: str                               # hex fingerprint of the DER bytes
    subject: str = ""                         # "CN=...,O=..." (RFC 4514 order)
    issuer: str = ""
    issuer_cn: str = ""
    issuer_o: str = ""
    sans: list[str] = field(default_factory=list)
    not_before: datetime | None = None        # aware, UTC
    not_after: datetime | None = None
    self_signed: bool = False
    parsed: bool = False                      # False: only the fingerprint is known

    @property
    def issuer_label(self) -> str:
        """CN/O string for the report: "Fiddler Root / DO_NOT_TRUST"."""
        bits = [b for b in (self.issuer_cn, self.issuer_o) if b]
        return " / ".join(dict.fromkeys(bits)) or self.issuer

    def to_dict(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "subject": self.subject, "issuer": self.issuer, "sans": list(self.sans[:MAX_SANS]),
            "not_before": iso(self.not_before), "not_after": iso(self.not_after),
            "sha256": self.sha256, "self_signed": self.self_signed}
        if len(self.sans) > MAX_SANS:
            item["sans_total"] = len(self.sans)
        return item


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def interceptor(info: CertInfo | None) -> str | None:
    """The name of a known interception tool that issued this certificate, if any."""
    if info is None:
        return None
    text = f"{info.issuer} {info.issuer_cn} {info.issuer_o}".lower()
    for needle, label in INTERCEPTORS:
        if needle in text:
            return label
    return None


def chain_der(tls: ssl.SSLSocket) -> list[bytes]:
    """The chain the peer sent, leaf first, as DER.

    Python < 3.13 has no public get_unverified_chain(); the C object has had
    it since 3.10, so use it when present and fall back to the leaf alone.
    """
    sslobj = getattr(tls, "_sslobj", None)
    getter = getattr(sslobj, "get_unverified_chain", None)
    if getter is not None:
        try:
            import _ssl
            encoding = getattr(_ssl, "ENCODING_DER", 2)
            chain = getter() or []
            ders = [c.public_bytes(encoding) for c in chain]
            if ders:
                return ders
        except Exception:  # noqa: BLE001 - private API: any surprise means "leaf only"
            pass
    leaf = tls.getpeercert(binary_form=True)
    return [leaf] if leaf else []


def parse(der: bytes, fallback: dict[str, Any] | None = None) -> CertInfo:
    """Parse one DER certificate; ``fallback`` is ssl's dict form if we have it."""
    sha256 = hashlib.sha256(der).hexdigest()
    try:
        return _from_der(sha256, _der.parse_certificate(der))
    except _der.DerError:
        pass
    info = _with_cryptography(sha256, der)
    if info is None:
        info = CertInfo(sha256=sha256)
        if fallback:
            _from_ssl_dict(info, fallback)
    return info


def _from_der(sha256: str, cert: _der.Certificate) -> CertInfo:
    return CertInfo(sha256=sha256, subject=cert.subject.rfc4514(), issuer=cert.issuer.rfc4514(),
                    issuer_cn=cert.issuer.first(_der.COMMON_NAME),
                    issuer_o=cert.issuer.first(_der.ORGANIZATION),
                    sans=[*cert.dns_names, *cert.ip_addresses], not_before=cert.not_before,
                    not_after=cert.not_after, self_signed=cert.issuer == cert.subject, parsed=True)


def _with_cryptography(sha256: str, der: bytes) -> CertInfo | None:
    """cryptography's reading of ``der``, if it is installed and accepts it."""
    try:
        from cryptography import x509
    except ImportError:
        return None
    import warnings
    info = CertInfo(sha256=sha256)
    with warnings.catch_warnings():
        # A hostile certificate (negative serial, 10 KB CN) makes cryptography warn;
        # that must not reach the person's terminal. What matters is in the report.
        warnings.simplefilter("ignore")
        try:
            # Extensions are parsed lazily, inside _fill: keep it under the same guard.
            _fill(info, x509.load_der_x509_certificate(der))
        except (ValueError, x509.DuplicateExtension):
            return None
    return info


def _fill(info: CertInfo, cert: Any) -> None:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    def first(name: Any, oid: Any) -> str:
        attrs = name.get_attributes_for_oid(oid)
        return str(attrs[0].value) if attrs else ""

    info.subject = cert.subject.rfc4514_string()
    info.issuer = cert.issuer.rfc4514_string()
    info.issuer_cn = first(cert.issuer, NameOID.COMMON_NAME)
    info.issuer_o = first(cert.issuer, NameOID.ORGANIZATION_NAME)
    info.self_signed = cert.issuer == cert.subject
    # cryptography >= 42 has the *_utc properties; older ones return naive UTC.
    nb = getattr(cert, "not_valid_before_utc", None) or cert.not_valid_before.replace(
        tzinfo=timezone.utc)
    na = getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after.replace(
        tzinfo=timezone.utc)
    info.not_before, info.not_after = nb, na
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        info.sans = [str(v) for v in ext.get_values_for_type(x509.DNSName)]
        info.sans += [str(v) for v in ext.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        pass
    info.parsed = True


def _from_ssl_dict(info: CertInfo, d: dict[str, Any]) -> None:
    def flat(rdns: Any) -> dict[str, str]:
        return {k: v for rdn in rdns or () for k, v in rdn}

    subj, iss = flat(d.get("subject")), flat(d.get("issuer"))
    info.subject = ",".join(f"{k}={v}" for k, v in subj.items())
    info.issuer = ",".join(f"{k}={v}" for k, v in iss.items())
    info.issuer_cn = iss.get("commonName", "")
    info.issuer_o = iss.get("organizationName", "")
    info.self_signed = bool(subj) and subj == iss
    info.sans = [v for _, v in d.get("subjectAltName", ())]
    for key, attr in (("notBefore", "not_before"), ("notAfter", "not_after")):
        if d.get(key):
            ts = ssl.cert_time_to_seconds(d[key])
            setattr(info, attr, datetime.fromtimestamp(ts, tz=timezone.utc))
    info.parsed = True


def hostname_matches(host: str, sans: list[str]) -> bool:
    """RFC 6125 matching, as browsers do: one left-most wildcard label only."""
    host = host.rstrip(".").lower()
    for san in sans:
        pattern = san.rstrip(".").lower()
        if pattern == host:
            return True
        if pattern.startswith("*."):
            suffix = pattern[1:]
            head, dot, rest = host.partition(".")
            if dot and head and "." + rest == suffix:
                return True
    return False
