from __future__ import annotations

import errno
import socket
import ssl

import pytest
from payprobe import classify as fc


@pytest.mark.parametrize("exc, code", [
    (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), fc.CONNECTION_REFUSED),
    (OSError(errno.ENETUNREACH, "Network is unreachable"), fc.NETWORK_UNREACHABLE),
    (OSError(errno.EHOSTUNREACH, "No route to host"), fc.HOST_UNREACHABLE),
    (ConnectionResetError(errno.ECONNRESET, "reset"), fc.CONNECTION_RESET),
    (TimeoutError("timed out"), fc.GENERIC_TIMEOUT),
    (TimeoutError(), fc.GENERIC_TIMEOUT),
    (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), fc.DNS_NXDOMAIN),
    (socket.gaierror(socket.EAI_AGAIN, "Temporary failure"), fc.DNS_TIMEOUT),
    (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), fc.TLS_PROTOCOL_VERSION),
    (ssl.SSLEOFError(8, "EOF occurred in violation of protocol"), fc.EOF_ERROR),
    (ssl.SSLError(1, "[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure"),
     fc.TLS_HANDSHAKE_FAILED),
])
def test_classify_maps_stdlib_errors_to_stable_codes(exc, code):
    assert fc.classify(exc) == code


@pytest.mark.parametrize("verify_code, code", [
    (10, fc.TLS_CERT_EXPIRED), (9, fc.TLS_CERT_NOT_YET_VALID), (20, fc.TLS_UNKNOWN_AUTHORITY),
    (19, fc.TLS_UNKNOWN_AUTHORITY), (62, fc.TLS_HOSTNAME_MISMATCH),
])
def test_certificate_errors_are_classified_by_verify_code(verify_code, code):
    exc = ssl.SSLCertVerificationError(1, "certificate verify failed")
    exc.verify_code = verify_code
    assert fc.classify(exc) == code


def test_dnspython_exceptions():
    import dns.exception
    import dns.resolver
    assert fc.classify(dns.resolver.NXDOMAIN()) == fc.DNS_NXDOMAIN
    assert fc.classify(dns.exception.Timeout()) == fc.DNS_TIMEOUT
    assert fc.classify(dns.resolver.NoAnswer()) == fc.DNS_NO_ANSWER
    assert fc.classify(dns.exception.FormError()) == fc.DNS_BOGUS_REPLY


def test_ntplib_and_requests_exceptions():
    import ntplib
    import requests
    assert fc.classify(ntplib.NTPException("No response received from x.")) == fc.GENERIC_TIMEOUT
    assert fc.classify(ntplib.NTPException("Invalid NTP packet")) == fc.NTP_FAILURE
    assert fc.classify(requests.ConnectTimeout()) == fc.GENERIC_TIMEOUT
    wrapped = requests.ConnectionError(OSError(errno.ECONNREFUSED, "refused"))
    assert fc.classify(wrapped) == fc.CONNECTION_REFUSED


def test_errno_wins_over_a_misleading_message():
    exc = OSError(errno.ECONNREFUSED, "timed out (not really)")
    assert fc.classify(exc) == fc.CONNECTION_REFUSED


def test_cause_chain_is_followed():
    try:
        try:
            raise OSError(errno.ENETUNREACH, "unreachable")
        except OSError as inner:
            raise RuntimeError("fetch failed") from inner
    except RuntimeError as outer:
        assert fc.classify(outer) == fc.NETWORK_UNREACHABLE


def test_unknown_failure_and_scrubbed_description():
    exc = ValueError("bad thing at 10.1.2.3:8080 via http://bob:hunter2@proxy.example/ and fe80::1:2")
    assert fc.classify(exc) == fc.UNKNOWN_FAILURE
    text = fc.describe(exc)
    assert "10.1.2.3" not in text and "hunter2" not in text and "bob" not in text
    assert "fe80::1:2" not in text
    assert "<addr>" in text
