"""One failure classifier for every check: exception -> stable failure code.

Codes follow OONI's style (``connection_refused``, ``dns_nxdomain``...). The order
of evidence is errno first, then the exception type, then known message text.
Unknown failures become ``unknown_failure``; their messages are scrubbed of
addresses by :func:`scrub` before they reach a report.
"""

from __future__ import annotations

import errno
import socket
import ssl

from payprobe.api import CheckCancelled
from payprobe.scrub import describe as describe  # re-exported: checks call fc.describe
from payprobe.scrub import scrub as scrub

# Stable codes. Add, never rename.
DNS_NXDOMAIN = "dns_nxdomain"
DNS_NO_ANSWER = "dns_no_answer"
DNS_SERVFAIL = "dns_servfail"
DNS_REFUSED = "dns_refused"
DNS_TIMEOUT = "dns_timeout"
DNS_BOGUS_REPLY = "dns_bogus_reply"
DNS_FAILURE = "dns_failure"
CONNECTION_REFUSED = "connection_refused"
CONNECTION_RESET = "connection_reset"
CONNECTION_ABORTED = "connection_aborted"
EOF_ERROR = "eof_error"
GENERIC_TIMEOUT = "generic_timeout"
NETWORK_UNREACHABLE = "network_unreachable"
HOST_UNREACHABLE = "host_unreachable"
ADDRESS_UNAVAILABLE = "address_unavailable"
PERMISSION_DENIED = "permission_denied"
TLS_UNKNOWN_AUTHORITY = "tls_unknown_authority"
TLS_HOSTNAME_MISMATCH = "tls_hostname_mismatch"
TLS_CERT_EXPIRED = "tls_cert_expired"
TLS_CERT_NOT_YET_VALID = "tls_cert_not_yet_valid"
TLS_PROTOCOL_VERSION = "tls_protocol_version"
TLS_HANDSHAKE_FAILED = "tls_handshake_failed"
HTTP_STATUS_4XX = "http_status_4xx"
HTTP_STATUS_5XX = "http_status_5xx"
HTTP_PROTOCOL_ERROR = "http_protocol_error"
PROXY_ERROR = "proxy_error"
NTP_FAILURE = "ntp_failure"
ACCESS_DENIED = "access_denied"
CANCELLED = "cancelled"
PLUGIN_IMPORT_ERROR = "plugin_import_error"
UNKNOWN_FAILURE = "unknown_failure"

_ERRNO = {
    errno.ECONNREFUSED: CONNECTION_REFUSED,
    errno.ECONNRESET: CONNECTION_RESET,
    errno.ECONNABORTED: CONNECTION_ABORTED,
    errno.EPIPE: CONNECTION_RESET,
    errno.ETIMEDOUT: GENERIC_TIMEOUT,
    errno.ENETUNREACH: NETWORK_UNREACHABLE,
    errno.ENETDOWN: NETWORK_UNREACHABLE,
    errno.EHOSTUNREACH: HOST_UNREACHABLE,
    errno.EHOSTDOWN: HOST_UNREACHABLE,
    errno.EADDRNOTAVAIL: ADDRESS_UNAVAILABLE,
    errno.EACCES: PERMISSION_DENIED,
    errno.EPERM: PERMISSION_DENIED,
}

# getaddrinfo's own error numbers (socket.gaierror.errno).
_GAI = {
    getattr(socket, "EAI_NONAME", None): DNS_NXDOMAIN,
    getattr(socket, "EAI_NODATA", None): DNS_NO_ANSWER,
    getattr(socket, "EAI_AGAIN", None): DNS_TIMEOUT,
    getattr(socket, "EAI_FAIL", None): DNS_SERVFAIL,
}
_GAI.pop(None, None)

_SSL_VERIFY = {
    # OpenSSL X509_V_ERR_* codes carried by ssl.SSLCertVerificationError.verify_code
    9: TLS_CERT_NOT_YET_VALID,
    10: TLS_CERT_EXPIRED,
    18: TLS_UNKNOWN_AUTHORITY,   # self-signed leaf
    19: TLS_UNKNOWN_AUTHORITY,   # self-signed in chain
    20: TLS_UNKNOWN_AUTHORITY,   # unable to get local issuer
    21: TLS_UNKNOWN_AUTHORITY,   # unable to verify leaf signature
    62: TLS_HOSTNAME_MISMATCH,
    64: TLS_HOSTNAME_MISMATCH,   # IP address mismatch
}

_MESSAGES = [
    ("certificate has expired", TLS_CERT_EXPIRED),
    ("certificate is not yet valid", TLS_CERT_NOT_YET_VALID),
    ("hostname mismatch", TLS_HOSTNAME_MISMATCH),
    ("doesn't match", TLS_HOSTNAME_MISMATCH),
    ("unable to get local issuer", TLS_UNKNOWN_AUTHORITY),
    ("self-signed certificate", TLS_UNKNOWN_AUTHORITY),
    ("self signed certificate", TLS_UNKNOWN_AUTHORITY),
    ("unsupported protocol", TLS_PROTOCOL_VERSION),
    ("wrong version number", TLS_PROTOCOL_VERSION),
    ("no protocols available", TLS_PROTOCOL_VERSION),
    ("tlsv1 alert protocol version", TLS_PROTOCOL_VERSION),
    ("connection refused", CONNECTION_REFUSED),
    ("connection reset", CONNECTION_RESET),
    ("network is unreachable", NETWORK_UNREACHABLE),
    ("no route to host", HOST_UNREACHABLE),
    ("name or service not known", DNS_NXDOMAIN),
    ("nodename nor servname", DNS_NXDOMAIN),
    ("no address associated", DNS_NO_ANSWER),
    ("temporary failure in name resolution", DNS_TIMEOUT),
    ("no response received", GENERIC_TIMEOUT),   # ntplib: a silent or blocked NTP server
    ("timed out", GENERIC_TIMEOUT),
    ("timeout", GENERIC_TIMEOUT),
    ("eof occurred", EOF_ERROR),
    ("unexpected eof", EOF_ERROR),
    ("remotedisconnected", EOF_ERROR),
    ("remote end closed", EOF_ERROR),
    ("badstatusline", HTTP_PROTOCOL_ERROR),
    ("permission denied", PERMISSION_DENIED),
    ("access denied", ACCESS_DENIED),
]


def classify(exc: BaseException) -> str:
    """Map an exception to a stable failure code."""
    seen: set[int] = set()
    current: BaseException | None = exc
    # Libraries wrap the real cause (requests -> urllib3 -> OSError); walk the chain.
    chain: list[BaseException] = []
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or current.__context__ or _wrapped(current)
    for e in chain:
        code = _by_errno(e)
        if code:
            return code
    for e in chain:
        code = _by_type(e)
        if code:
            return code
    for e in chain:
        code = _by_message(e)
        if code:
            return code
    return UNKNOWN_FAILURE


def _wrapped(exc: BaseException) -> BaseException | None:
    # urllib3's MaxRetryError keeps the cause in .reason; requests keeps it in args[0].
    reason = getattr(exc, "reason", None)
    if isinstance(reason, BaseException):
        return reason
    if exc.args and isinstance(exc.args[0], BaseException):
        return exc.args[0]
    return None


def _by_errno(e: BaseException) -> str | None:
    if isinstance(e, ssl.SSLCertVerificationError):
        code = _SSL_VERIFY.get(getattr(e, "verify_code", -1))
        if code:
            return code
    if isinstance(e, socket.gaierror):
        return _GAI.get(e.errno, DNS_FAILURE)
    if isinstance(e, OSError) and not isinstance(e, ssl.SSLError) and e.errno in _ERRNO:
        return _ERRNO[e.errno]
    return None


def _by_type(e: BaseException) -> str | None:
    name = type(e).__name__
    module = type(e).__module__ or ""
    if isinstance(e, CheckCancelled):
        return CANCELLED if e.stopped else GENERIC_TIMEOUT
    if isinstance(e, (socket.timeout, TimeoutError)):
        return GENERIC_TIMEOUT
    if isinstance(e, ssl.SSLCertVerificationError):
        return _by_message(e) or TLS_UNKNOWN_AUTHORITY
    if isinstance(e, ssl.SSLEOFError):
        return EOF_ERROR
    if isinstance(e, ssl.SSLError):
        return _by_message(e) or TLS_HANDSHAKE_FAILED
    if isinstance(e, ConnectionRefusedError):
        return CONNECTION_REFUSED
    if isinstance(e, ConnectionResetError):
        return CONNECTION_RESET
    if isinstance(e, ConnectionAbortedError):
        return CONNECTION_ABORTED
    if isinstance(e, PermissionError) or name == "AccessDenied":
        return ACCESS_DENIED
    if module.startswith("dns."):
        return {
            "NXDOMAIN": DNS_NXDOMAIN,
            "NoAnswer": DNS_NO_ANSWER,
            "LifetimeTimeout": DNS_TIMEOUT,
            "Timeout": DNS_TIMEOUT,
            "NoNameservers": DNS_SERVFAIL,
            "BadResponse": DNS_BOGUS_REPLY,
            "UnexpectedSource": DNS_BOGUS_REPLY,
            "FormError": DNS_BOGUS_REPLY,
            "ShortHeader": DNS_BOGUS_REPLY,
            "TrailingJunk": DNS_BOGUS_REPLY,
            "Truncated": DNS_BOGUS_REPLY,
            "BadLabelType": DNS_BOGUS_REPLY,
            "BadPointer": DNS_BOGUS_REPLY,
        }.get(name, DNS_FAILURE)
    if module.startswith("ntplib") or name == "NTPException":
        return _by_message(e) or NTP_FAILURE
    if module.startswith(("requests", "urllib3")):
        if "Timeout" in name:
            return GENERIC_TIMEOUT
        if name in ("ProxyError",):
            return PROXY_ERROR
        if name in ("SSLError",):
            return None  # let the message or the wrapped ssl error decide
    if module.startswith("http.client") or name in ("BadStatusLine", "RemoteDisconnected",
                                                     "IncompleteRead", "LineTooLong"):
        return EOF_ERROR if name == "RemoteDisconnected" else HTTP_PROTOCOL_ERROR
    if module.startswith("httpx") or module.startswith("httpcore"):
        if "Timeout" in name:
            return GENERIC_TIMEOUT
    return None


def _by_message(e: BaseException) -> str | None:
    text = f"{type(e).__name__} {e}".lower()
    for needle, code in _MESSAGES:
        if needle in text:
            return code
    return None
