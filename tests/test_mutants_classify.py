"""The failure classifier, pinned entry by entry (mutation testing, docs/mutation.md).

Every table row, every branch and the order of evidence (errno, then type, then
message, along the whole chain of causes) has a test here that fails when it changes.
"""

from __future__ import annotations

import errno
import http.client
import socket
import ssl

import pytest
from payprobe import classify as fc
from payprobe.api import CheckCancelled


def _exc_type(name: str, module: str, base: type[BaseException] = Exception) -> type[BaseException]:
    """An exception class as a third-party library would define it (its name and module)."""
    return type(name, (base,), {"__module__": module})


def _exc(name: str, module: str, *args: object) -> BaseException:
    return _exc_type(name, module)(*args)


@pytest.mark.parametrize("number, code", [
    (errno.ECONNREFUSED, fc.CONNECTION_REFUSED),
    (errno.ECONNRESET, fc.CONNECTION_RESET),
    (errno.ECONNABORTED, fc.CONNECTION_ABORTED),
    (errno.EPIPE, fc.CONNECTION_RESET),
    (errno.ETIMEDOUT, fc.GENERIC_TIMEOUT),
    (errno.ENETUNREACH, fc.NETWORK_UNREACHABLE),
    (errno.ENETDOWN, fc.NETWORK_UNREACHABLE),
    (errno.EHOSTUNREACH, fc.HOST_UNREACHABLE),
    (errno.EHOSTDOWN, fc.HOST_UNREACHABLE),
    (errno.EADDRNOTAVAIL, fc.ADDRESS_UNAVAILABLE),
    (errno.EACCES, fc.PERMISSION_DENIED),
    (errno.EPERM, fc.PERMISSION_DENIED),
])
def test_classify_when_an_oserror_has_a_known_errno_maps_the_errno(number, code):
    assert fc.classify(OSError(number, "x")) == code


def test_classify_when_an_oserror_has_an_unknown_errno_is_unknown_failure():
    assert fc.classify(OSError(errno.ENOENT, "x")) == fc.UNKNOWN_FAILURE


@pytest.mark.parametrize("name, code", [
    ("EAI_NONAME", fc.DNS_NXDOMAIN),
    ("EAI_NODATA", fc.DNS_NO_ANSWER),
    ("EAI_AGAIN", fc.DNS_TIMEOUT),
    ("EAI_FAIL", fc.DNS_SERVFAIL),
])
def test_classify_when_getaddrinfo_fails_maps_its_error_number(name, code):
    number = getattr(socket, name, None)
    if number is None:
        pytest.skip(f"{name} is not defined on this platform")
    assert fc.classify(socket.gaierror(number, "x")) == code


def test_classify_when_getaddrinfo_fails_with_another_number_is_dns_failure():
    assert fc.classify(socket.gaierror(socket.EAI_SERVICE, "x")) == fc.DNS_FAILURE


@pytest.mark.parametrize("verify_code, code", [
    (9, fc.TLS_CERT_NOT_YET_VALID), (10, fc.TLS_CERT_EXPIRED), (18, fc.TLS_UNKNOWN_AUTHORITY),
    (19, fc.TLS_UNKNOWN_AUTHORITY), (20, fc.TLS_UNKNOWN_AUTHORITY), (21, fc.TLS_UNKNOWN_AUTHORITY),
    (62, fc.TLS_HOSTNAME_MISMATCH), (64, fc.TLS_HOSTNAME_MISMATCH),
])
def test_classify_when_certificate_verification_fails_maps_the_verify_code(verify_code, code):
    exc = ssl.SSLCertVerificationError(1, "certificate verify failed")
    exc.verify_code = verify_code
    assert fc.classify(exc) == code


def test_classify_when_the_verify_code_is_unknown_reads_the_message():
    exc = ssl.SSLCertVerificationError(1, "certificate verify failed: Hostname mismatch")
    exc.verify_code = 99
    assert fc.classify(exc) == fc.TLS_HOSTNAME_MISMATCH


def test_classify_when_the_verify_code_and_message_are_unknown_is_unknown_authority():
    exc = ssl.SSLCertVerificationError(1, "certificate verify failed")
    exc.verify_code = 99
    assert fc.classify(exc) == fc.TLS_UNKNOWN_AUTHORITY


def test_classify_when_the_verify_error_has_no_verify_code_reads_the_message():
    exc = ssl.SSLCertVerificationError(1, "certificate verify failed: certificate has expired")
    assert fc.classify(exc) == fc.TLS_CERT_EXPIRED


def test_classify_when_an_ssl_error_carries_a_known_errno_ignores_the_errno():
    # ssl.SSLError numbers are OpenSSL's, not the kernel's: 111 is not ECONNREFUSED there.
    exc = ssl.SSLError(errno.ECONNREFUSED, "[SSL] wrong version number")
    assert fc.classify(exc) == fc.TLS_PROTOCOL_VERSION


def test_classify_when_an_ssl_error_has_an_unknown_message_is_handshake_failed():
    assert fc.classify(ssl.SSLError(errno.ECONNREFUSED, "bad thing")) == fc.TLS_HANDSHAKE_FAILED


@pytest.mark.parametrize("exc, code", [
    (CheckCancelled(), fc.GENERIC_TIMEOUT),
    (CheckCancelled(stopped=True), fc.CANCELLED),
    (CheckCancelled("connection refused", stopped=True), fc.CANCELLED),
    (TimeoutError(), fc.GENERIC_TIMEOUT),
    (TimeoutError(), fc.GENERIC_TIMEOUT),
    (ssl.SSLEOFError(), fc.EOF_ERROR),
    (ssl.SSLError(), fc.TLS_HANDSHAKE_FAILED),
    (ConnectionRefusedError(), fc.CONNECTION_REFUSED),
    (ConnectionResetError(), fc.CONNECTION_RESET),
    (ConnectionAbortedError(), fc.CONNECTION_ABORTED),
    (PermissionError(), fc.ACCESS_DENIED),
])
def test_classify_when_only_the_type_tells_maps_the_type(exc, code):
    assert fc.classify(exc) == code


def test_classify_when_the_type_is_access_denied_from_any_module_is_access_denied():
    assert fc.classify(_exc("AccessDenied", "psutil")) == fc.ACCESS_DENIED


def test_classify_when_a_connection_error_type_has_a_misleading_message_trusts_the_type():
    assert fc.classify(ConnectionResetError("timed out")) == fc.CONNECTION_RESET
    assert fc.classify(ConnectionAbortedError("connection refused")) == fc.CONNECTION_ABORTED


@pytest.mark.parametrize("name, code", [
    ("NXDOMAIN", fc.DNS_NXDOMAIN),
    ("NoAnswer", fc.DNS_NO_ANSWER),
    ("LifetimeTimeout", fc.DNS_TIMEOUT),
    ("Timeout", fc.DNS_TIMEOUT),
    ("NoNameservers", fc.DNS_SERVFAIL),
    ("BadResponse", fc.DNS_BOGUS_REPLY),
    ("UnexpectedSource", fc.DNS_BOGUS_REPLY),
    ("FormError", fc.DNS_BOGUS_REPLY),
    ("ShortHeader", fc.DNS_BOGUS_REPLY),
    ("TrailingJunk", fc.DNS_BOGUS_REPLY),
    ("Truncated", fc.DNS_BOGUS_REPLY),
    ("BadLabelType", fc.DNS_BOGUS_REPLY),
    ("BadPointer", fc.DNS_BOGUS_REPLY),
    ("YXDOMAIN", fc.DNS_FAILURE),
])
def test_classify_when_dnspython_raises_maps_the_exception_name(name, code):
    # The message would say something else: the dnspython type decides.
    assert fc.classify(_exc(name, "dns.resolver", "connection refused")) == code


def test_classify_when_a_module_only_starts_with_dns_is_not_dnspython():
    assert fc.classify(_exc("NXDOMAIN", "dnsx")) == fc.UNKNOWN_FAILURE


def test_classify_when_ntplib_raises_without_a_known_message_is_ntp_failure():
    assert fc.classify(_exc("Whatever", "ntplib")) == fc.NTP_FAILURE
    assert fc.classify(_exc("NTPException", "elsewhere", "bad packet")) == fc.NTP_FAILURE


def test_classify_when_ntplib_raises_with_a_known_message_uses_the_message():
    assert fc.classify(_exc("NTPException", "ntplib", "No response received from x.")) == fc.GENERIC_TIMEOUT


@pytest.mark.parametrize("module", ["requests.exceptions", "urllib3.exceptions"])
def test_classify_when_an_http_library_times_out_is_generic_timeout(module):
    assert fc.classify(_exc("ReadTimeoutError", module, "connection refused")) == fc.GENERIC_TIMEOUT


@pytest.mark.parametrize("module", ["requests.exceptions", "urllib3.exceptions"])
def test_classify_when_an_http_library_reports_a_proxy_error_is_proxy_error(module):
    assert fc.classify(_exc("ProxyError", module, "connection refused")) == fc.PROXY_ERROR


def test_classify_when_requests_raises_another_error_reads_the_message():
    assert fc.classify(_exc("ConnectionError", "requests.exceptions", "Connection refused")) == (
        fc.CONNECTION_REFUSED)
    assert fc.classify(_exc("ChunkedEncodingError", "requests.exceptions", "x")) == fc.UNKNOWN_FAILURE


def test_classify_when_urllib3_reads_a_short_body_is_a_protocol_error():
    import urllib3.exceptions
    assert fc.classify(urllib3.exceptions.IncompleteRead(5, 10)) == fc.HTTP_PROTOCOL_ERROR


def test_classify_when_requests_wraps_an_ssl_error_lets_the_ssl_error_decide():
    inner = ssl.SSLCertVerificationError(1, "certificate verify failed")
    inner.verify_code = 10
    assert fc.classify(_exc("SSLError", "requests.exceptions", inner)) == fc.TLS_CERT_EXPIRED


@pytest.mark.parametrize("exc, code", [
    (http.client.BadStatusLine("x"), fc.HTTP_PROTOCOL_ERROR),
    (http.client.IncompleteRead(b"x"), fc.HTTP_PROTOCOL_ERROR),
    (http.client.LineTooLong("header line"), fc.HTTP_PROTOCOL_ERROR),
    (http.client.HTTPException("x"), fc.HTTP_PROTOCOL_ERROR),
    (http.client.RemoteDisconnected("x"), fc.CONNECTION_RESET),
    # The type decides even when the message says something else.
    (_exc("RemoteDisconnected", "somelib", "connection refused"), fc.EOF_ERROR),
    (_exc("BadStatusLine", "somelib", "connection refused"), fc.HTTP_PROTOCOL_ERROR),
    (_exc("IncompleteRead", "somelib", "connection refused"), fc.HTTP_PROTOCOL_ERROR),
    (_exc("LineTooLong", "somelib", "connection refused"), fc.HTTP_PROTOCOL_ERROR),
])
def test_classify_when_http_client_fails_is_a_protocol_error_or_eof(exc, code):
    assert fc.classify(exc) == code


@pytest.mark.parametrize("module", ["httpx", "httpcore._exceptions"])
def test_classify_when_httpx_times_out_is_generic_timeout(module):
    assert fc.classify(_exc("ReadTimeout", module, "connection refused")) == fc.GENERIC_TIMEOUT


def test_classify_when_httpx_fails_otherwise_is_unknown_failure():
    assert fc.classify(_exc("ConnectError", "httpx")) == fc.UNKNOWN_FAILURE


@pytest.mark.parametrize("text, code", [
    ("Certificate Has Expired", fc.TLS_CERT_EXPIRED),
    ("CERTIFICATE IS NOT YET VALID", fc.TLS_CERT_NOT_YET_VALID),
    ("hostname 'a' doesn't match 'b'", fc.TLS_HOSTNAME_MISMATCH),
    ("Connection Refused by peer", fc.CONNECTION_REFUSED),
    ("No route to host", fc.HOST_UNREACHABLE),
])
def test_classify_when_only_the_message_tells_matches_in_any_case(text, code):
    assert fc.classify(ValueError(text)) == code


def test_classify_when_the_type_name_carries_the_clue_matches_the_name():
    assert fc.classify(_exc("SomeTimeout", "mylib")) == fc.GENERIC_TIMEOUT


def test_classify_when_the_first_message_clue_wins_over_a_later_one():
    assert fc.classify(ValueError("connection refused after timed out")) == fc.CONNECTION_REFUSED


def test_classify_when_errno_and_type_disagree_along_the_chain_errno_wins():
    outer = TimeoutError("timed out")
    outer.__cause__ = OSError(errno.EHOSTUNREACH, "x")
    assert fc.classify(outer) == fc.HOST_UNREACHABLE


def test_classify_when_type_and_message_disagree_along_the_chain_type_wins():
    outer = ValueError("connection refused")
    outer.__cause__ = ConnectionResetError()
    assert fc.classify(outer) == fc.CONNECTION_RESET


def test_classify_when_the_cause_is_only_the_context_follows_it():
    outer = RuntimeError("x")
    outer.__context__ = OSError(errno.ENETDOWN, "x")
    assert fc.classify(outer) == fc.NETWORK_UNREACHABLE


def test_classify_when_cause_and_context_differ_follows_the_cause():
    outer = RuntimeError("x")
    outer.__cause__ = OSError(errno.EHOSTDOWN, "x")
    outer.__context__ = OSError(errno.ENETDOWN, "x")
    assert fc.classify(outer) == fc.HOST_UNREACHABLE


def test_classify_when_a_library_keeps_the_cause_in_reason_follows_it():
    outer = _exc("MaxRetryError", "urllib3.exceptions", "x")
    outer.reason = OSError(errno.ECONNABORTED, "x")  # type: ignore[attr-defined]
    assert fc.classify(outer) == fc.CONNECTION_ABORTED


def test_classify_when_reason_is_text_follows_the_first_argument():
    outer = _exc("ConnectionError", "requests.exceptions", OSError(errno.EPIPE, "x"))
    outer.reason = "not an exception"  # type: ignore[attr-defined]
    assert fc.classify(outer) == fc.CONNECTION_RESET


def test_classify_when_the_first_argument_is_text_does_not_follow_later_ones():
    outer = RuntimeError("x", OSError(errno.EPIPE, "x"))
    assert fc.classify(outer) == fc.UNKNOWN_FAILURE


def test_classify_when_the_chain_loops_ends_with_what_it_found():
    first = RuntimeError("x")
    second = RuntimeError("still nothing")
    first.__cause__ = second
    second.__cause__ = first
    assert fc.classify(first) == fc.UNKNOWN_FAILURE


def test_classify_when_the_chain_loops_back_still_reads_each_link_once():
    first = RuntimeError("x")
    second = OSError(errno.EADDRNOTAVAIL, "x")
    first.__cause__ = second
    second.__cause__ = first
    assert fc.classify(first) == fc.ADDRESS_UNAVAILABLE


def test_classify_when_the_clue_is_deep_in_the_chain_finds_it():
    exc: BaseException = OSError(errno.EACCES, "x")
    for _ in range(5):
        outer = RuntimeError("wrapper")
        outer.__cause__ = exc
        exc = outer
    assert fc.classify(exc) == fc.PERMISSION_DENIED


def test_scrub_when_a_url_has_credentials_keeps_the_scheme_only():
    assert fc.scrub("via http://bob:hunter2@proxy.example/x") == "via http://***@proxy.example/x"


def test_scrub_when_addresses_appear_replaces_each_with_a_marker():
    assert fc.scrub("to 10.1.2.3:8080 and [fe80::1:2]:443 done") == "to <addr> and <addr> done"


def test_scrub_when_the_text_is_long_keeps_the_first_300_characters():
    text = "abcdefghij" * 40
    assert fc.scrub(text) == text[:300]
    assert fc.scrub("short") == "short"


def test_describe_when_the_exception_has_a_message_names_the_type_and_message():
    assert fc.describe(ValueError("bad 10.0.0.1")) == "ValueError: bad <addr>"


def test_describe_when_the_exception_has_no_message_names_the_type():
    assert fc.describe(ValueError()) == "ValueError"
