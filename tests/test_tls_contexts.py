"""``net.tls_context`` (payprobe.tls_contexts): one shared context per configuration (issue 15, CPU).

Loading the CA store costs about 20 ms of CPU for each context (Debian's 144
roots), and the default DoH resolver used to ask for a new one for each of its
17 queries. The neighbours that matter here: a shared context must not carry
one caller's setting into another's (the HTTP Date fallback skips certificate
dates; the old-protocol probe weakens the ciphers), must notice a CA file
that changed, and must not turn full handshakes into resumed ones.

Everything runs against TLS servers on 127.0.0.1 in this process.
"""

from __future__ import annotations

import datetime
import os
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from payprobe import net
from payprobe.checks._tls_probe import ALPN_OFFER
from payprobe.checks.clock import date_tls_context
from payprobe.tls_contexts import X509_V_FLAG_NO_CHECK_TIME as NO_CHECK_TIME

from tests.servers import StreamServer, new_ca, server_ctx, write_ca_file

HOST = "pay.test"
OLD = ssl.TLSVersion.MINIMUM_SUPPORTED
WEAK = "ALL:@SECLEVEL=0"


def _wait_for_close(conn: socket.socket, stop: threading.Event) -> None:
    conn.settimeout(5)
    try:
        conn.recv(1)
    except OSError:
        pass


@pytest.fixture
def tls_server() -> Iterator[Any]:
    made: list[StreamServer] = []

    def start(cert: trustme.LeafCert, *, tls12: bool = False) -> StreamServer:
        ctx = server_ctx(cert)
        if tls12:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2   # session IDs: resumption testable at once
        server = StreamServer(_wait_for_close, tls=ctx)
        made.append(server)
        return server

    yield start
    for server in made:
        server.close()


def handshake(port: int, context: ssl.SSLContext, session: ssl.SSLSession | None = None) -> ssl.SSLSocket:
    sock, _ = net.connect("127.0.0.1", port, timeout=5.0)
    if session is None:
        tls, _ = net.tls_handshake(sock, HOST, context=context, timeout=5.0)
        return tls
    tls = context.wrap_socket(sock, server_hostname=HOST, session=session)
    return tls


def test_same_arguments_give_one_context_and_each_difference_its_own(tmp_path: Path) -> None:
    ca_file = write_ca_file(new_ca(), tmp_path)
    shared = net.tls_context(ca_file=ca_file, alpn=["http/1.1"])
    assert net.tls_context(ca_file=ca_file, alpn=["http/1.1"]) is shared
    others = [net.tls_context(ca_file=ca_file),
              net.tls_context(ca_file=ca_file, alpn=["h2", "http/1.1"]),
              net.tls_context(ca_file=ca_file, alpn=["http/1.1"], check_time=False),
              net.tls_context(ca_file=ca_file, alpn=["http/1.1"], ciphers=WEAK),
              net.tls_context(ca_file=ca_file, alpn=["http/1.1"], minimum_version=OLD),
              net.tls_context(verify=False, alpn=["http/1.1"]),
              net.tls_context(alpn=["http/1.1"])]   # the system's CA store
    assert len({id(c) for c in [shared, *others]}) == 1 + len(others)


def test_the_date_fallback_context_leaves_the_shared_one_judging_dates(tmp_path: Path, tls_server: Any) -> None:
    ca = new_ca()
    ca_file = write_ca_file(ca, tmp_path)
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=400)
    expired = tls_server(ca.issue_cert(HOST, not_before=past, not_after=past + datetime.timedelta(days=30)))

    date_ctx = date_tls_context(ca_file)
    shared = net.tls_context(ca_file=ca_file)
    assert date_ctx is not shared
    assert date_ctx.verify_flags & NO_CHECK_TIME
    assert not shared.verify_flags & NO_CHECK_TIME
    # The fallback still verifies the chain and the name, only not the dates...
    handshake(expired.port, date_ctx).close()
    # ...and every other caller still refuses the expired certificate.
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        handshake(expired.port, shared)
    assert info.value.verify_code == 10   # X509_V_ERR_CERT_HAS_EXPIRED


def test_the_old_protocol_context_has_weak_ciphers_and_the_verifying_one_keeps_the_defaults(
        tmp_path: Path) -> None:
    ca_file = write_ca_file(new_ca(), tmp_path)
    old = net.tls_context(ca_file=ca_file, alpn=ALPN_OFFER, minimum_version=OLD, ciphers=WEAK)
    shared = net.tls_context(ca_file=ca_file, alpn=ALPN_OFFER)
    defaults = {c["name"] for c in ssl.create_default_context(cafile=ca_file).get_ciphers()}
    assert {c["name"] for c in shared.get_ciphers()} == defaults
    assert shared.minimum_version == ssl.create_default_context().minimum_version
    assert {c["name"] for c in old.get_ciphers()} > defaults
    assert old.minimum_version == OLD


def test_a_ca_file_rewritten_in_place_gives_a_new_context(tmp_path: Path, tls_server: Any) -> None:
    first, second = new_ca(), new_ca()
    ca_file = write_ca_file(first, tmp_path)
    before = net.tls_context(ca_file=ca_file)
    server = tls_server(second.issue_cert(HOST))
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(server.port, before)

    second.cert_pem.write_to_path(ca_file)     # same path, another CA: what an update does
    stamp = os.stat(ca_file)
    os.utime(ca_file, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1_000_000_000))
    after = net.tls_context(ca_file=ca_file)
    assert after is not before
    handshake(server.port, after).close()
    assert net.tls_context(ca_file=ca_file) is after


def test_a_missing_ca_file_is_an_error_each_time_and_never_a_context(tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere.pem")
    for _ in range(2):
        with pytest.raises(OSError):
            net.tls_context(ca_file=missing)


def test_a_shared_context_never_resumes_a_session(tmp_path: Path, tls_server: Any) -> None:
    ca = new_ca()
    ca_file = write_ca_file(ca, tmp_path)
    server = tls_server(ca.issue_cert(HOST), tls12=True)
    context = net.tls_context(ca_file=ca_file)
    first = handshake(server.port, context)
    session = first.session
    second = handshake(server.port, context)
    assert not first.session_reused and not second.session_reused
    first.close()
    second.close()
    # The server does resume when a client asks (so the assertion above could fail):
    # only an explicit session= makes a handshake a resumed one.
    resumed = handshake(server.port, context, session=session)
    assert resumed.session_reused
    resumed.close()


def test_threads_asking_at_once_share_one_context(tmp_path: Path) -> None:
    ca_file = write_ca_file(new_ca(), tmp_path)
    got: list[ssl.SSLContext] = []
    barrier = threading.Barrier(8, timeout=10)

    def ask() -> None:
        barrier.wait()
        got.append(net.tls_context(ca_file=ca_file, alpn=["h2"]))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(got) == 8 and len({id(c) for c in got}) == 1


def test_a_system_ca_store_that_is_missing_or_unreadable_still_gives_a_context(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A phone (Termux) or a container: the CA paths OpenSSL was built with may not
    # exist. The key must not fail on them; the context then trusts nothing extra,
    # and a later store that appears there gives a new context.
    from payprobe import tls_contexts

    bundle = tmp_path / "cert.pem"
    paths = ssl.DefaultVerifyPaths(str(bundle), str(tmp_path / "certs"), "SSL_CERT_FILE", str(bundle),
                                   "SSL_CERT_DIR", str(tmp_path / "certs"))
    monkeypatch.setattr(tls_contexts.ssl, "get_default_verify_paths", lambda: paths)
    without = net.tls_context(alpn=["payprobe-test"])
    assert net.tls_context(alpn=["payprobe-test"]) is without
    write_ca = new_ca()
    write_ca.cert_pem.write_to_path(str(bundle))
    assert net.tls_context(alpn=["payprobe-test"]) is not without
