"""Client TLS contexts, one per configuration, shared by every check of a process.

Loading the CA store is most of what a context costs: about 20 ms of CPU for
Debian's 144 roots here, more on a phone, and the default DoH resolver used to
build a context for each of its 17 queries. So the same arguments give the same
context, for as long as the CA file it loaded stays the same.

A shared context never resumes a TLS session (Python does only when given
``session=``), so every handshake the checks time is a full one. Never change
a context you got from here: ask for what you need through the arguments.
"""

from __future__ import annotations

import os
import ssl
import threading
from typing import Any

# OpenSSL's X509_V_FLAG_NO_CHECK_TIME (1.1.0+); the ssl module has no name for it.
X509_V_FLAG_NO_CHECK_TIME = 0x200000
# Every cipher OpenSSL has, old ones included: to see what a server presents, never to trust it.
WEAK_CIPHERS = "ALL:@SECLEVEL=0"
# Distinct contexts a process keeps (a run asks for 3 to 5; watch mode for the same).
_CONTEXTS_KEPT = 32
_contexts: dict[tuple[Any, ...], ssl.SSLContext] = {}
_contexts_lock = threading.Lock()


def tls_context(*, ca_file: str = "", verify: bool = True, alpn: list[str] | None = None,
                minimum_version: ssl.TLSVersion | None = None, ciphers: str | None = None,
                check_time: bool = True) -> ssl.SSLContext:
    """The shared client context for these arguments (see the module's docstring).

    ``ciphers`` is applied where OpenSSL accepts it; ``check_time=False`` skips
    only the certificates' validity dates (the HTTP Date fallback of a device
    whose clock is wrong).
    """
    key = (ca_file, verify, tuple(alpn or ()), minimum_version, ciphers, check_time,
           _ca_stamp(ca_file) if verify else None)
    with _contexts_lock:
        ctx = _contexts.get(key)
        if ctx is None:
            ctx = _new_context(ca_file=ca_file, verify=verify, alpn=alpn,
                               minimum_version=minimum_version, ciphers=ciphers, check_time=check_time)
            if len(_contexts) >= _CONTEXTS_KEPT:
                _contexts.clear()
            _contexts[key] = ctx
    return ctx


def _ca_stamp(ca_file: str) -> tuple[Any, ...]:
    """What says the CA store a context would load has changed: the file's identity,
    size and time (a certificate added to the bundle, or a new ca_file at that path)."""
    if ca_file:
        paths: tuple[str | None, ...] = (ca_file,)
    else:
        defaults = ssl.get_default_verify_paths()
        paths = (defaults.cafile, defaults.capath)
    stamp: list[Any] = []
    for path in paths:
        try:
            st = os.stat(path) if path else None
        except OSError:
            st = None
        stamp.append(None if st is None else (path, st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(stamp)


def _new_context(*, ca_file: str, verify: bool, alpn: list[str] | None,
                 minimum_version: ssl.TLSVersion | None, ciphers: str | None,
                 check_time: bool) -> ssl.SSLContext:
    if verify:
        ctx = ssl.create_default_context(cafile=ca_file or None)
        if not check_time:
            try:
                ctx.verify_flags |= X509_V_FLAG_NO_CHECK_TIME
            except (AttributeError, ValueError, OverflowError):
                pass   # an ssl module without it: such a context then judges the dates too
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        # Capture whatever the peer presents, old protocols included.
        minimum_version = minimum_version or ssl.TLSVersion.MINIMUM_SUPPORTED
        ciphers = ciphers or WEAK_CIPHERS
    try:
        if minimum_version is not None:
            ctx.minimum_version = minimum_version
        if ciphers is not None:
            ctx.set_ciphers(ciphers)
    except (ValueError, ssl.SSLError):
        pass   # not offered by this OpenSSL: its defaults stand
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx
