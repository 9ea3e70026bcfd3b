"""Certificates with absurd fields, issued by a trustme CA payprobe is told to trust.

Built with ``cryptography`` directly (trustme's issue_cert would refuse most of
them); the negative serial, which cryptography refuses to write, comes from the
openssl command line. Every certificate names 127.0.0.1 (IP SAN) so that only
the absurd field differs from a valid certificate.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any

KINDS = ("inverted_validity", "expires_year_9999", "cn_10kb", "sans_500", "serial_huge",
         "serial_negative", "unicode_cn", "empty_subject")
_DAY = dt.timedelta(days=1)


def _name(cn: str | None) -> Any:
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    if cn is None:
        return x509.Name([])
    # _validate=False: cryptography refuses a CN over 64 characters otherwise.
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn, _validate=False)])


def issue(ca: Any, kind: str, directory: Path) -> tuple[Path, Path]:
    """(certificate chain PEM, key PEM) of a leaf of this kind, signed by ``ca`` (trustme.CA)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    if kind not in KINDS:
        raise ValueError(f"unknown certificate kind {kind!r}")
    directory.mkdir(parents=True, exist_ok=True)
    chain_path, key_path = directory / f"{kind}.pem", directory / f"{kind}.key"
    key = ec.generate_private_key(ec.SECP256R1())
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    ca_cert = ca._certificate  # trustme keeps these private; stable since trustme 0.5
    ca_key = ca._private_key
    if kind == "serial_negative":
        _openssl_negative_serial(ca, key_path, chain_path, directory)
        return chain_path, key_path

    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    not_before, not_after = now - _DAY, now + 90 * _DAY
    cn: str | None = "127.0.0.1"
    sans: list[Any] = [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    serial = x509.random_serial_number()
    if kind == "inverted_validity":
        # cryptography refuses to build this; built the right way round here and
        # swapped in the DER by _swap_validity below.
        not_before, not_after = now - 30 * _DAY, now + 30 * _DAY
    elif kind == "expires_year_9999":
        not_after = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc)
    elif kind == "cn_10kb":
        cn = "x" * 10240
    elif kind == "sans_500":
        sans = [x509.DNSName(f"san{i}.fault.test") for i in range(499)] + sans
    elif kind == "serial_huge":
        serial = 2**159 - 1
    elif kind == "unicode_cn":
        cn = "支付测试 💳 Ünïcödé"
    elif kind == "empty_subject":
        cn = None
    builder = (x509.CertificateBuilder()
               .subject_name(_name(cn)).issuer_name(ca_cert.subject)
               .public_key(key.public_key()).serial_number(serial)
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               # RFC 5280: with an empty subject the SAN extension must be critical.
               .add_extension(x509.SubjectAlternativeName(sans), critical=cn is None))
    cert = builder.sign(ca_key, hashes.SHA256())
    if kind == "inverted_validity":
        cert = _swap_validity(cert, ca_key)
    chain_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM)
                           + ca_cert.public_bytes(serialization.Encoding.PEM))
    return chain_path, key_path


def _der_header(data: bytes, at: int) -> tuple[int, int]:
    """(offset of the contents, length of the contents) of the DER element at ``at``."""
    first = data[at + 1]
    if first < 0x80:
        return at + 2, first
    n = first & 0x7F
    return at + 2 + n, int.from_bytes(data[at + 2:at + 2 + n], "big")


def _der_seq(contents: bytes) -> bytes:
    n = len(contents)
    if n < 0x80:
        return b"\x30" + bytes([n]) + contents
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return b"\x30" + bytes([0x80 | len(size)]) + size + contents


def _swap_validity(cert: Any, ca_key: Any) -> Any:
    """The same certificate with notBefore and notAfter swapped, re-signed by ``ca_key``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    der = cert.public_bytes(serialization.Encoding.DER)
    tbs = cert.tbs_certificate_bytes
    stamps = []
    for when in (cert.not_valid_before_utc, cert.not_valid_after_utc):
        stamps.append(b"\x17\x0d" + when.strftime("%y%m%d%H%M%SZ").encode())
    i, j = tbs.index(stamps[0]), tbs.index(stamps[1])
    assert j == i + len(stamps[0]), "validity times are not adjacent UTCTimes"
    swapped = tbs[:i] + stamps[1] + stamps[0] + tbs[j + len(stamps[1]):]
    if isinstance(ca_key, ec.EllipticCurvePrivateKey):
        signature = ca_key.sign(swapped, ec.ECDSA(hashes.SHA256()))
    elif isinstance(ca_key, rsa.RSAPrivateKey):
        signature = ca_key.sign(swapped, padding.PKCS1v15(), hashes.SHA256())
    else:
        raise TypeError(f"unsupported CA key {type(ca_key).__name__}")
    # signatureAlgorithm: the element right after the TBS in the original certificate.
    body_at, _ = _der_header(der, 0)
    alg_at = body_at + len(tbs)
    alg_body, alg_len = _der_header(der, alg_at)
    algorithm = der[alg_at:alg_body + alg_len]
    bits = b"\x00" + signature
    bitstring = b"\x03" + (bytes([len(bits)]) if len(bits) < 0x80 else
                           bytes([0x81 if len(bits) < 256 else 0x82])
                           + len(bits).to_bytes(1 if len(bits) < 256 else 2, "big")) + bits
    return x509.load_der_x509_certificate(_der_seq(swapped + algorithm + bitstring))


def _openssl_negative_serial(ca: Any, key_path: Path, chain_path: Path, directory: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise FileNotFoundError("openssl is needed for a negative serial number")
    ca_pem, ca_key = directory / "ca.pem", directory / "ca.key"
    ca.cert_pem.write_to_path(str(ca_pem))
    ca.private_key_pem.write_to_path(str(ca_key))
    csr, leaf = directory / "neg.csr", directory / "neg.pem"
    subprocess.run([openssl, "req", "-new", "-key", str(key_path), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-out", str(csr)],
                   check=True, capture_output=True, timeout=20)
    subprocess.run([openssl, "x509", "-req", "-in", str(csr), "-CA", str(ca_pem), "-CAkey",
                    str(ca_key), "-set_serial", "-1", "-days", "30", "-copy_extensions", "copy",
                    "-out", str(leaf)], check=True, capture_output=True, timeout=20)
    chain_path.write_bytes(leaf.read_bytes() + ca_pem.read_bytes())


def server_context(chain_path: Path, key_path: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(chain_path), str(key_path))
    return ctx
