"""Network-lab scenarios of issue 12 that depend on nothing but payprobe itself:

- **DoH bootstrap with a hijacked system resolver.** The DoH resolver is reached
  at its configured address; its name is never looked up through the system
  resolver (which would send it to the hijacker). Its answers are the true ones,
  the hijack is found, and it is not reported unreachable.
- **An interceptor on a plain install.** payprobe runs with ``cryptography``
  unimportable against a TLS server whose certificate comes from a CA named as
  Charles Proxy's is; the tls finding names the issuer and the interceptor, the
  same as on an install with ``cryptography``.

The DoH and the "Charles" TLS servers run in this test process, on sockets
opened inside the lab's network namespace (a thread enters it with setns(2)),
so they need nothing from the lab but its public API.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import socket
import ssl
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from payprobe.checks import _certs

from tests.lab.doh import DOH_NAME, DOH_URL, LabDoh, in_lab
from tests.lab.lab import REPO_ROOT, Lab, Result

DEADLINE_S = 5.0
NAMES = ["api.stripe.com", "openapi.alipay.com"]
INTERCEPTED = "api.stripe.com"
# As Charles Proxy names the root it makes on each install ("XK72" is its maker).
CHARLES_CN = "Charles Proxy CA (12 Mar 2024, lab-laptop)"
CHARLES_O = "XK72 Ltd"


# ---------------------------------------------------------------- servers inside the lab


class LabTls:
    """A TLS server at ``address``:443 inside the lab with ``context``'s certificate; it says nothing."""

    def __init__(self, lab: Lab, context: ssl.SSLContext) -> None:
        self.address = lab.alloc("tls")
        self.context = context
        self.handshakes = 0
        self.sock: socket.socket = in_lab(lab, self._listen)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True, name="lab-tls")
        self.thread.start()

    def _listen(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.address, 443))
        sock.listen(16)
        sock.settimeout(0.1)
        return sock

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(5.0)
        try:
            with self.context.wrap_socket(conn, server_side=True) as tls:
                self.handshakes += 1
                while tls.recv(4096):
                    pass
        except OSError:  # the client refused the certificate, or hung up
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2.0)
        self.sock.close()


# ---------------------------------------------------------------- DoH bootstrap


@pytest.fixture
def lab_doh(lab: Lab, tmp_path: Path) -> Iterator[tuple[LabDoh, Path]]:
    """A DoH server with the lab's true answers, and a ca_file trusting it and the lab."""
    ca = trustme.CA(organization_name="Lab DoH CA")
    server = LabDoh(lab, {name: [addr] for name, addr in lab.hosts.items()},
                    ca.issue_cert(DOH_NAME))
    ca_file = tmp_path / "lab-and-doh-ca.pem"
    ca_file.write_bytes(Path(lab.ca_file).read_bytes() + ca.cert_pem.bytes())
    yield server, ca_file
    server.close()


def run_dns(lab: Lab, ca_file: Path, resolvers: list[dict[str, Any]]) -> Result:
    cfg = lab.write_config(deadline_s=DEADLINE_S, ca_file=str(ca_file),
                           dns={"names": NAMES, "resolvers": resolvers})
    result = lab.payprobe("run", "--only", "dns", config=cfg)
    assert result.report is not None, f"no report (exit {result.returncode}):\n{result.stderr}"
    return result


def doh_resolver(server: LabDoh) -> dict[str, Any]:
    return {"name": "Lab DoH", "protocol": "doh", "url": DOH_URL, "address": server.address}


def system_answer(lab: Lab, name: str) -> str:
    """What getaddrinfo inside the lab says for ``name`` (the system resolver)."""
    proc = lab.exec(["getent", "ahostsv4", name])
    return proc.stdout.split()[0] if proc.returncode == 0 and proc.stdout else ""


def findings(result: Result, code: str) -> dict[str, dict[str, Any]]:
    return {f["target"]: f for f in result.check("dns")["findings"] if f["code"] == code}


def doh_answers(result: Result) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["name"], e["type"]): e for e in result.check("dns")["evidence"]
            if e.get("what") == "dns_query" and e["resolver"] == "Lab DoH"}


def assert_doh_true_and_hijack_found(lab: Lab, server: LabDoh, result: Result) -> dict[str, Any]:
    """The DoH resolver answered every name truly, was reached by its address, and the
    hijack of every payment name was found with its answers; returns the hijacks."""
    answers = doh_answers(result)
    for name in NAMES:
        assert answers[(name, "A")]["rcode"] == "NOERROR", answers[(name, "A")]
        assert answers[(name, "A")]["answers"] == [lab.host_address(name)]
    # Reached at its address with the URL's name for TLS and HTTP, never looked up.
    assert server.requests and set(server.requests) == {("/dns-query", DOH_NAME)}
    assert set(server.sni) == {DOH_NAME}
    assert "Lab DoH" not in findings(result, "dns.resolver_unreachable")
    assert not [e for e in result.check("dns")["evidence"]
                if e.get("what") == "resolver_not_bootstrapped"]
    hijacks = findings(result, "dns.hijack")
    assert set(hijacks) == set(NAMES), result.check("dns")["findings"]
    for name, f in hijacks.items():
        assert f["data"]["system_answers"] == [lab.rogue_address]
        assert f["data"]["resolver_answers"]["Lab DoH"] == [lab.host_address(name)]
        assert f["data"]["reason"] == "tls_failed"
    assert result.check("dns")["status"] == "fail"
    return hijacks


@pytest.mark.lab
def test_doh_when_system_resolver_hijacks_answers_truly_by_its_address_and_hijack_found(
        lab, lab_doh):
    server, ca_file = lab_doh
    lab.set_system_resolver(lab.dns("hijack"))
    # Looked up through the system resolver, the DoH name would lead to the hijacker.
    assert system_answer(lab, DOH_NAME) == lab.ad_address
    result = run_dns(lab, ca_file, [doh_resolver(server)])
    hijacks = assert_doh_true_and_hijack_found(lab, server, result)
    assert all(f["data"]["agreeing_resolvers"] == [] for f in hijacks.values())
    # It also tells the names that do not exist (NXDOMAIN) from the hijacker's ad page.
    (probe,) = [e for e in result.check("dns")["evidence"] if e.get("what") == "nxdomain_probe"]
    assert probe["resolvers_nxdomain"] == ["Lab DoH"] and probe["rewrite"] is True
    assert "1/1 trusted resolvers answered" in result.check("dns")["summary"]


@pytest.mark.lab
def test_doh_when_all_port_53_is_intercepted_is_the_one_true_resolver_and_hijack_found(
        lab, lab_doh):
    # The system resolver and the configured plain resolver are both DNAT'ed to
    # the hijacker (an ISP or router intercepting port 53): only DoH tells the truth.
    server, ca_file = lab_doh
    hijacker = lab.dns("hijack")
    plain = lab.system_resolver
    lab.intercept_dns(plain, hijacker)
    assert system_answer(lab, NAMES[0]) == lab.rogue_address
    result = run_dns(lab, ca_file, [{"name": "Lab DNS", "address": plain}, doh_resolver(server)])
    hijacks = assert_doh_true_and_hijack_found(lab, server, result)
    for f in hijacks.values():
        assert f["data"]["agreeing_resolvers"] == ["Lab DNS"]
        assert f["data"]["resolver_answers"]["Lab DNS"] == [lab.rogue_address]
    assert "2/2 trusted resolvers answered" in result.check("dns")["summary"]


# ---------------------------------------------------------------- the interceptor, named without cryptography


def charles_chain(hostname: str, directory: Path) -> tuple[Path, Path, bytes]:
    """(chain PEM, key PEM, leaf DER): a leaf for ``hostname`` from a Charles-named root."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, CHARLES_CN),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "https://charlesproxy.com/ssl"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, CHARLES_O),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "Auckland"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Auckland"),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "NZ")])

    def build(subject: Any, key: Any, *, ca: bool) -> Any:
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(days=1))
                   .not_valid_after(now + dt.timedelta(days=365))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        return builder.sign(ca_key, hashes.SHA256())

    root = build(ca_name, ca_key, ca=True)
    leaf = build(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]), leaf_key, ca=False)
    chain_path, key_path = directory / "charles-chain.pem", directory / "charles-key.pem"
    chain_path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (leaf, root)))
    key_path.write_bytes(leaf_key.private_bytes(serialization.Encoding.PEM,
                                                serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    return chain_path, key_path, leaf.public_bytes(serialization.Encoding.DER)


@pytest.fixture
def charles(lab: Lab, tmp_path: Path) -> Iterator[tuple[LabTls, bytes]]:
    """The intercepted payment host: a Charles-issued certificate at a lab address."""
    chain_path, key_path, leaf_der = charles_chain(INTERCEPTED, tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(chain_path), str(key_path))
    server = LabTls(lab, context)
    lab.add_host(INTERCEPTED, server.address)
    yield server, leaf_der
    server.close()


def plain_install_env(directory: Path) -> dict[str, str]:
    """An environment in which ``import cryptography`` fails, as on ``pip install .``.

    Its sitecustomize also writes the pid of every process it ran in to a marker
    file, so the test knows the block was active in payprobe's own process.
    """
    site = directory / "no-cryptography"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import os, sys\n"
        "sys.modules['cryptography'] = None  # import cryptography now raises ImportError\n"
        "with open(os.environ['PLAIN_INSTALL_MARKER'], 'a') as fh:\n"
        "    fh.write(f'{os.getpid()}\\n')\n")
    return {"PYTHONPATH": f"{site}{os.pathsep}{REPO_ROOT}",
            "PLAIN_INSTALL_MARKER": str(directory / "plain-install-pids")}


def run_tls(lab: Lab, env: dict[str, str] | None = None) -> Result:
    cfg = lab.write_config(deadline_s=DEADLINE_S, tls={"targets": [INTERCEPTED], "slow_ms": 5000.0})
    result = lab.payprobe("run", "--only", "tls", config=cfg, env=env)
    assert result.report is not None, f"no report (exit {result.returncode}):\n{result.stderr}"
    return result


def untrusted(result: Result) -> dict[str, Any]:
    found = result.check("tls")["findings"]
    assert [(f["code"], f["target"]) for f in found] == [("tls.untrusted_issuer", INTERCEPTED)], found
    return dict(found[0])


def chain_of(result: Result) -> list[dict[str, Any]]:
    (tls,) = [e for e in result.check("tls")["evidence"] if e.get("what") == "tls"]
    return list(tls["chain"])


@pytest.mark.lab
def test_tls_when_charles_intercepts_on_plain_install_names_issuer_and_interceptor(
        lab, charles, tmp_path):
    server, leaf_der = charles
    env = plain_install_env(tmp_path)
    probe = lab.exec([sys.executable, "-c", "import cryptography"], env=env)
    assert probe.returncode != 0 and "import of cryptography halted" in probe.stderr, probe.stderr
    (tmp_path / "plain-install-pids").unlink()

    plain = run_tls(lab, env)
    assert (tmp_path / "plain-install-pids").read_text().strip(), "the block was not active"
    f = untrusted(plain)
    assert f["severity"] == "fail"
    assert f["data"]["interceptor"] == "Charles"
    assert f["data"]["issuer"] == f"{CHARLES_CN} / {CHARLES_O}"
    assert f["data"]["failure"] == "tls_unknown_authority"
    assert f["data"]["sha256"] == hashlib.sha256(leaf_der).hexdigest()
    assert "issued by Charles" in f["message"]
    assert server.handshakes >= 1  # the unverified second look at what it presented

    # What an install with cryptography reports: the same finding, the same chain,
    # and cryptography's own reading of the leaf is what the plain install printed.
    full = run_tls(lab)
    assert untrusted(full) == f
    assert chain_of(full) == chain_of(plain)
    by_cryptography = _certs._with_cryptography(hashlib.sha256(leaf_der).hexdigest(), leaf_der)
    assert by_cryptography is not None
    assert chain_of(plain)[0] == by_cryptography.to_dict()
    assert chain_of(plain)[0]["issuer"].startswith(f"C=NZ,ST=Auckland,L=Auckland,O={CHARLES_O}")
