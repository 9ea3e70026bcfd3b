"""How the tls check probes one target.

Resolve (A and AAAA), connect as apps do (Happy Eyeballs,
:func:`payprobe.net.connect_happy`: a broken IPv6 path costs a delay, not the
verdict), then a TLS handshake with SNI verified against the trust store (or
``ca_file``), each timed on its own. When verification fails, a second,
unverified handshake captures the certificate that was presented, so the
report can say who answered. A server stuck on TLS 1.0/1.1 is judged with a
context that allows old versions, so an old protocol is one warning, not a mystery.

Every connect and handshake gives up after :data:`payprobe.net.STALL_S` without
progress (a stall). A stalled handshake is not tried again to capture what was
presented (nothing was), but a second handshake with a small MSS runs beside
it (payprobe.checks._mtu), which tells a path that drops large packets from a
server that went silent.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass

from payprobe import classify as fc
from payprobe import net
from payprobe.api import CheckCancelled, CheckContext
from payprobe.checks import _certs, _mtu
from payprobe.checks._tls_targets import Probe, Target
from payprobe.tls_contexts import WEAK_CIPHERS

ALPN_OFFER = ["h2", "http/1.1"]
# Per-phase cap; ctx.timeout() lowers it further near the deadline.
PHASE_CAP_S = 6.0
# Measurements stop this long before the check's deadline, so that a silent
# server times out while there is still time to report what it did.
REPORT_MARGIN_S = 0.2
CERT_FAILURES = frozenset({fc.TLS_UNKNOWN_AUTHORITY, fc.TLS_HOSTNAME_MISMATCH,
                           fc.TLS_CERT_EXPIRED, fc.TLS_CERT_NOT_YET_VALID})


@dataclass(frozen=True)
class Contexts:
    """The TLS contexts every probe shares (loading a trust store is not what we measure)."""

    verify: ssl.SSLContext
    capture: ssl.SSLContext
    ca_file: str


def phase_timeout(ctx: CheckContext) -> float:
    """ctx.timeout() for one phase, ending REPORT_MARGIN_S before the deadline."""
    usable = ctx.remaining() - min(REPORT_MARGIN_S, 0.1 * ctx.remaining())
    if usable <= 0.005:
        raise CheckCancelled("tls: no time left for another phase")
    return ctx.timeout(min(PHASE_CAP_S, usable))


def probe(ctx: CheckContext, t: Target, contexts: Contexts) -> Probe:
    """Resolve, connect, handshake (and capture what was presented): one target."""
    p = Probe(t)
    address: str | None = None
    try:
        p.phase = "resolve"
        addresses = net.resolve(t.host, t.port, timeout=phase_timeout(ctx))
        p.phase = "connect"
        happy = net.connect_happy(addresses, t.port, timeout=phase_timeout(ctx))
        address = happy.address
        p.connect_s, p.ip_family, p.happy_eyeballs_s = happy.connect_s, happy.ip_family, happy.seconds
        p.phase = "handshake"
        _verified_handshake(ctx, p, happy.sock, happy.address, contexts)
    except CheckCancelled:
        # Out of time in the middle of a phase: keep what was measured so far.
        p.failure, p.message = fc.GENERIC_TIMEOUT, "deadline reached"
    except Exception as exc:  # noqa: BLE001 - every failure is classified and reported
        p.failure, p.message = fc.classify(exc), fc.describe(exc)
        p.stalled = isinstance(exc, net.StallError)
        if isinstance(exc, _mtu.MtuBlackhole):
            _read_small_mss_session(p, exc)
        elif p.phase == "handshake" and p.failure not in CERT_FAILURES | {fc.GENERIC_TIMEOUT}:
            # Still try to see what answered (e.g. an old protocol only). Not after
            # a timeout: nothing answered, and a second wait would double the verdict's.
            try:
                _capture(ctx, p, address, contexts.capture)
            except CheckCancelled:
                pass
    return p


def _read_small_mss_session(p: Probe, exc: _mtu.MtuBlackhole) -> None:
    """What the server presented over the small-MSS connection (unverified)."""
    with exc.session as tls:
        p.captured_unverified = True
        read_session(p, tls)
    p.mtu = {"mss": exc.mss, "handshake_s": round(exc.handshake_s, 6)}


def _verified_handshake(ctx: CheckContext, p: Probe, sock: socket.socket, address: str,
                        contexts: Contexts) -> None:
    t = p.target
    sni = "" if net.is_ip(t.host) else t.host
    try:
        tls, hs = _mtu.handshake(sock, address, t.port, sni or t.host, context=contexts.verify,
                                 small_context=contexts.capture, timeout=phase_timeout(ctx))
    except ssl.SSLCertVerificationError as exc:
        _verify_failed(ctx, p, exc, address, contexts)
        return
    except ssl.SSLError as exc:
        if fc.classify(exc) != fc.TLS_PROTOCOL_VERSION:
            raise
        session = _old_protocol_handshake(ctx, p, address, sni, contexts)
        if session is None:
            return
        tls, hs = session
    with tls:
        p.handshake_s = hs
        p.verified = True
        read_session(p, tls)
    p.phase = None


def _old_protocol_handshake(ctx: CheckContext, p: Probe, address: str, sni: str,
                            contexts: Contexts) -> tuple[ssl.SSLSocket, float] | None:
    """A server stuck on TLS 1.0/1.1, which modern defaults refuse: judge its
    certificate anyway, on a new connection with a context that allows old versions."""
    t = p.target
    old_ctx = net.tls_context(ca_file=contexts.ca_file, verify=True, alpn=ALPN_OFFER,
                              minimum_version=ssl.TLSVersion.MINIMUM_SUPPORTED,
                              ciphers=WEAK_CIPHERS)
    sock, _ = net.connect(address, t.port, timeout=phase_timeout(ctx))
    try:
        return net.tls_handshake(sock, sni or t.host, context=old_ctx, timeout=phase_timeout(ctx))
    except ssl.SSLCertVerificationError as exc:
        _verify_failed(ctx, p, exc, address, contexts)
        return None


def _verify_failed(ctx: CheckContext, p: Probe, exc: ssl.SSLCertVerificationError, address: str,
                   contexts: Contexts) -> None:
    p.phase, p.failure, p.message = "verify", fc.classify(exc), fc.describe(exc)
    _capture(ctx, p, address, contexts.capture)


def _capture(ctx: CheckContext, p: Probe, address: str | None,
             capture_ctx: ssl.SSLContext) -> None:
    """An unverified handshake to record the certificate that was presented."""
    t = p.target
    try:
        if address is None:
            addresses = net.resolve(t.host, t.port, timeout=phase_timeout(ctx))
            sock = net.connect_happy(addresses, t.port, timeout=phase_timeout(ctx)).sock
        else:
            sock, _ = net.connect(address, t.port, timeout=phase_timeout(ctx))
        tls, hs = net.tls_handshake(sock, "" if net.is_ip(t.host) else t.host,
                                    context=capture_ctx, timeout=phase_timeout(ctx))
    except CheckCancelled:
        raise
    except Exception:  # noqa: BLE001 - the first failure is what we report
        return
    with tls:
        p.handshake_s = hs
        p.captured_unverified = True
        read_session(p, tls)


def read_session(p: Probe, tls: ssl.SSLSocket) -> None:
    p.version = tls.version()
    cipher = tls.cipher()
    p.cipher = cipher[0] if cipher else None
    p.alpn = tls.selected_alpn_protocol()
    ders = _certs.chain_der(tls)
    # ssl's dict form exists only for a verified peer; it is the fallback
    # when cryptography is not installed.
    leaf_dict = tls.getpeercert() if p.verified else None
    p.chain = [_certs.parse(der, leaf_dict if i == 0 else None) for i, der in enumerate(ders)]
