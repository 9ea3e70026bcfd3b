"""Fault injection: every network check against hostile servers.

Each fault starts in-process servers on 127.0.0.1 (tests/faults/), points the
config at them through ``payprobe.engine.config.load(overrides=...)`` and runs the
checks it concerns through the real runner, all of them at once, with a short
deadline. Each check must then end classified (ok/warn/fail with findings, or
error/timeout with a failure code of probe/classify.py), within the deadline,
without crashing the run, and the report must validate against the schema.
A few faults also run end to end: ``python -m payprobe run`` in a subprocess.

Names resolve through tests/faults/guard.py: IP literals as usual, *.fault.test
to 127.0.0.1, every other name fails at once. Nothing leaves the machine.

One run per fault is shared by the per-check tests (``_run`` caches it), so the
suite costs about one deadline per stalling fault. ``python -m tests.test_faults``
prints the fault x check matrix.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.faults import certs as fault_certs
from tests.faults import dnsfaults, guard, ntpfaults
from tests.faults import servers as srv

DEADLINE_S = 3.0
SLACK_S = 0.5
STATUSES = ("ok", "warn", "fail", "error", "timeout")
RUNNER_STOPPED = "stopped at its deadline"
FAULT_NAME = "pay.fault.test"


# ---------------------------------------------------------------- fault catalogue


@dataclass
class Setup:
    """What a fault's setup gets: where to start servers (stopped after the run) and a scratch dir."""

    stack: contextlib.ExitStack
    scratch: Path
    servers: list[srv.Server] = field(default_factory=list)

    def start(self, server: Any) -> Any:
        self.stack.callback(server.close)
        self.servers.append(server)
        return server


@dataclass(frozen=True)
class Fault:
    id: str
    checks: tuple[str, ...]
    # Starts the hostile servers, returns the config overrides pointing at them.
    setup: Callable[[Setup], dict[str, Any]]


_CA: dict[str, Any] = {}
_CA_LOCK = threading.Lock()


def _trusted_ca(scratch: Path) -> tuple[Any, str]:
    """One trustme CA for the whole suite (payprobe trusts it through ca_file)."""
    with _CA_LOCK:
        if "ca" not in _CA:
            import trustme
            ca = trustme.CA(organization_name="payprobe fault CA")
            path = scratch / "fault-ca.pem"
            ca.cert_pem.write_to_path(str(path))
            _CA.update(ca=ca, path=str(path))
        return _CA["ca"], _CA["path"]


def _endpoint(url: str) -> list[dict[str, Any]]:
    return [{"name": "Hostile", "provider": "hostile", "url": url}]


def _stream_fault(fid: str, behaviour: srv.Behaviour | None, *, tls_layer: bool) -> Fault:
    """A TCP-level fault seen by every check that opens a connection.

    ``tls_layer``: the fault is in the TLS handshake, so point the https users at
    it (tls, endpoints over https, the HTTP Date source over https, DoT, DoH);
    otherwise plain HTTP users too (connectivity, http endpoints and Date).
    """

    def setup(env: Setup) -> dict[str, Any]:
        server = env.start(srv.BacklogServer() if behaviour is None else
                           srv.StreamServer(behaviour, name=fid))
        scheme = "https" if tls_layer else "http"
        resolvers: list[dict[str, Any]] = (
            [{"name": "Hostile DoT", "address": server.address, "protocol": "dot"},
             {"name": "Hostile DoH", "url": server.url("https", "/dns-query"), "protocol": "doh"}]
            if tls_layer else
            [{"name": "Hostile TCP", "address": server.address, "protocol": "tcp"},
             {"name": "Hostile DoH", "url": server.url("https", "/dns-query"), "protocol": "doh"}])
        return {
            "connectivity": {"check_urls": [] if tls_layer else [server.url("http", "/generate_204")]},
            "dns": {"names": [FAULT_NAME], "resolvers": resolvers},
            "tls": {"targets": [server.address]},
            "clock": {"ntp_servers": [], "http_date_urls": [server.url(scheme)]},
            "endpoints": _endpoint(server.url(scheme, "/pay")),
        }

    checks = ("dns", "tls", "clock", "endpoints") if tls_layer else (
        "connectivity", "dns", "tls", "clock", "endpoints")
    return Fault(fid, checks, setup)


def _bandwidth_fault(fid: str, behaviour: srv.Behaviour | None, scheme: str = "http") -> Fault:
    def setup(env: Setup) -> dict[str, Any]:
        tls_ctx = None
        ca_path = ""
        if scheme == "https":
            ca, ca_path = _trusted_ca(env.scratch)
            cert = ca.issue_cert("127.0.0.1")
            chain, key = env.scratch / f"{fid}.pem", env.scratch / f"{fid}.key"
            cert.private_key_and_cert_chain_pem.write_to_path(str(chain))
            cert.private_key_pem.write_to_path(str(key))
            tls_ctx = fault_certs.server_context(chain, key)
        server = env.start(srv.BacklogServer() if behaviour is None else
                           srv.StreamServer(behaviour, tls=tls_ctx, name=fid))
        out: dict[str, Any] = {"bandwidth": {"mini_server": server.url(scheme, "/mini"),
                                             "timeout_s": DEADLINE_S, "max_bytes": 1_000_000}}
        if ca_path:
            out["ca_file"] = ca_path
        return out

    return Fault(fid, ("bandwidth",), setup)


def _dns_fault(mode: str) -> Fault:
    def setup(env: Setup) -> dict[str, Any]:
        server = env.start(dnsfaults.DnsFaultServer(mode))
        protocol = "tcp" if mode in dnsfaults.TCP_MODES else "udp"
        return {"dns": {"names": [FAULT_NAME], "resolvers": [
            {"name": "Hostile", "address": server.address, "protocol": protocol}]}}

    return Fault(f"dns_{mode}", ("dns",), setup)


def _ntp_fault(mode: str) -> Fault:
    def setup(env: Setup) -> dict[str, Any]:
        server = env.start(ntpfaults.NtpFaultServer(mode))
        return {"clock": {"ntp_servers": [server.address], "http_date_urls": []}}

    return Fault(f"ntp_{mode}", ("clock",), setup)


def _cert_fault(kind: str) -> Fault:
    def setup(env: Setup) -> dict[str, Any]:
        ca, ca_path = _trusted_ca(env.scratch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cryptography warns about the very fields we want
            chain, key = fault_certs.issue(ca, kind, env.scratch / "certs")
        server = env.start(srv.StreamServer(srv.http_ok, tls=fault_certs.server_context(chain, key),
                                            name=f"cert-{kind}"))
        return {"ca_file": ca_path,
                "tls": {"targets": [server.address]},
                "clock": {"ntp_servers": [], "http_date_urls": [server.url("https")]},
                "endpoints": _endpoint(server.url("https", "/pay"))}

    return Fault(f"cert_{kind}", ("tls", "clock", "endpoints"), setup)


# Raw Date header values, as bytes: some are not even ASCII.
DATES: dict[str, list[bytes]] = {
    "yesterday": [b"yesterday"],
    "empty": [b""],
    "year_99999": [b"Sat, 01 Jan 99999 00:00:00 GMT"],
    "fifty_years_ahead": [],  # filled at setup: a well-formed Date 50 years ahead
    "two_dates": [],          # filled at setup: two well-formed Dates a day apart
    "non_ascii": ["周四, 26 十一月 2026 01:02:03 GMT".encode() + b" \xff\xfe\x80"],
    "missing": [],
}


def _date_fault(kind: str) -> Fault:
    def setup(env: Setup) -> dict[str, Any]:
        import email.utils
        now = time.time()
        dates = list(DATES[kind])
        if kind == "fifty_years_ahead":
            dates = [email.utils.formatdate(now + 50 * 365.25 * 86400, usegmt=True).encode()]
        elif kind == "two_dates":
            dates = [email.utils.formatdate(now, usegmt=True).encode(),
                     email.utils.formatdate(now - 86400, usegmt=True).encode()]
        server = env.start(srv.StreamServer(srv.http_with_dates(dates), name=f"date-{kind}"))
        return {"connectivity": {"check_urls": [server.url("http", "/generate_204")]},
                "clock": {"ntp_servers": [], "http_date_urls": [server.url("http")]},
                "endpoints": _endpoint(server.url("http", "/pay"))}

    return Fault(f"date_{kind}", ("connectivity", "clock", "endpoints"), setup)


FAULTS: list[Fault] = [
    _stream_fault("tcp_stall", srv.stall, tls_layer=False),
    _stream_fault("tcp_backlog_full", None, tls_layer=False),
    _stream_fault("tls_stall_after_client_hello", srv.tls_stall, tls_layer=True),
    _stream_fault("tls_half_server_hello", srv.tls_half_server_hello, tls_layer=True),
    _stream_fault("tls_drip_server_hello", srv.tls_drip_server_hello, tls_layer=True),
    _stream_fault("http_slowloris_headers", srv.http_slowloris, tls_layer=False),
    _stream_fault("http_endless_body", srv.http_endless_body, tls_layer=False),
    _bandwidth_fault("bandwidth_tcp_stall", srv.stall),
    _bandwidth_fault("bandwidth_backlog_full", None),
    _bandwidth_fault("bandwidth_tls_stall", srv.tls_stall, "https"),
    _bandwidth_fault("bandwidth_slowloris_headers", srv.http_slowloris),
    _bandwidth_fault("bandwidth_endless_body", srv.http_endless_body),
    *[_dns_fault(m) for m in dnsfaults.UDP_MODES + dnsfaults.TCP_MODES],
    *[_ntp_fault(m) for m in ntpfaults.MODES],
    *[_cert_fault(k) for k in fault_certs.KINDS],
    *[_date_fault(k) for k in DATES],
]
BY_ID = {f.id: f for f in FAULTS}


# ---------------------------------------------------------------- running


# Everything the built-in profile would reach on the internet, emptied: a fault
# points only the parts it concerns at its servers.
BASE_OVERRIDES: dict[str, Any] = {
    "connectivity": {"check_urls": []},
    "dns": {"names": [], "resolvers": []},
    "tls": {"targets": []},
    "clock": {"ntp_servers": [], "http_date_urls": []},
    "latency": {"samples": 3, "icmp": False},
    "endpoints": [],
    "history": {"enabled": False},
    "alerts": {"notify": False},
}


@dataclass
class FaultRun:
    fault: Fault
    results: dict[str, Any]              # check name -> payprobe.engine.runner.CheckResult
    wall_s: float
    run_s: float
    report: dict[str, Any]
    schema_errors: list[str]
    leaked_threads: list[str] = field(default_factory=list)
    setup_error: str | None = None


def run_fault(fault: Fault, scratch: Path) -> FaultRun:
    from payprobe.engine import config, registry
    from payprobe.engine.runner import Runner
    from payprobe.host import detect
    from payprobe.reports import model
    from payprobe.reports.pipeline import finish_report

    available = registry.discover()
    selected = [available[name] for name in fault.checks]
    host = detect()
    with contextlib.ExitStack() as stack:
        env = Setup(stack, scratch)
        overrides = config.merge(BASE_OVERRIDES, fault.setup(env))
        settings = config.load(overrides=overrides)
        runner = Runner(settings, host, options={"trigger": "manual", "lang": "en",
                                                 "bandwidth": "bandwidth" in fault.checks})
        t0 = time.monotonic()
        result = runner.run(selected, DEADLINE_S)
        wall = time.monotonic() - t0
        report = finish_report(result, settings=settings, host=host, lang="en", trigger="manual")
        # Through JSON, as a saved report would be: anything not serialisable fails here.
        report = json.loads(model.dumps(report))
        errors = model.validate(report)
    leaked = [name for s in env.servers for name in s.alive_threads()]
    return FaultRun(fault, {r.name: r for r in result.results}, wall, result.duration_s, report,
                    errors, leaked)


_RUNS: dict[str, FaultRun] = {}
_RUN_LOCK = threading.Lock()
# Faults run this many at a time: they spend their time waiting on sockets, and
# the runner, not the CPU, enforces every deadline.
PARALLEL_RUNS = 6


def run_all(fault_ids: list[str], scratch: Path) -> list[FaultRun]:
    from concurrent.futures import ThreadPoolExecutor
    todo = [i for i in dict.fromkeys(fault_ids) if i not in _RUNS]
    with ThreadPoolExecutor(PARALLEL_RUNS, thread_name_prefix="fault-run") as pool:
        for fid, run in zip(todo, pool.map(lambda i: run_fault(BY_ID[i], scratch), todo), strict=True):
            with _RUN_LOCK:
                _RUNS[fid] = run
    return [_RUNS[i] for i in fault_ids]


@pytest.fixture(scope="module", autouse=True)
def _resolver_guard() -> Iterator[None]:
    guard.install()
    yield
    guard.uninstall()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("faults")


@pytest.fixture(scope="module", autouse=True)
def _runs_in_parallel(request: pytest.FixtureRequest, scratch: Path, _resolver_guard: None) -> None:
    """Run every fault this session's selected tests need, several at once, up front."""
    wanted = [item.callspec.params["fault_id"] for item in request.session.items
              if item.module is request.module and hasattr(item, "callspec")
              and "fault_id" in item.callspec.params]
    run_all(wanted, scratch)


def _run(fault_id: str, scratch: Path) -> FaultRun:
    with _RUN_LOCK:
        if fault_id in _RUNS:
            return _RUNS[fault_id]
    return run_all([fault_id], scratch)[0]


# ---------------------------------------------------------------- judging


def _known_codes() -> set[str]:
    from payprobe import classify
    return {v for k, v in vars(classify).items() if k.isupper() and isinstance(v, str)}


def _failure_codes(result: Any) -> list[str]:
    """Every failure code a result carries: error, findings' data, evidence."""
    codes = [result.error] if result.error else []
    for f in result.findings:
        for key in ("failure", "failures"):
            value = f.data.get(key)
            if isinstance(value, str):
                codes.append(value)
            elif isinstance(value, (list, dict)):
                codes += [v for v in value if isinstance(v, str)]
    for item in result.evidence:
        if isinstance(item, dict) and isinstance(item.get("failure"), str):
            codes.append(item["failure"])
    return codes


def verdict(run: FaultRun, check: str) -> str:
    """One cell of the matrix: status, and the failure codes it carried."""
    r = run.results[check]
    codes = sorted(set(_failure_codes(r)))
    stopped = " (stopped by the runner)" if r.summary.startswith(RUNNER_STOPPED) else ""
    return f"{r.status}{stopped}" + (f": {', '.join(codes)}" if codes else "")


# (check, fault id) -> why it is expected to fail today; each is a bug in the
# check, described with its fix in the suite's report.
KNOWN_BUGS: dict[tuple[str, str], tuple[str, bool]] = {}

def assert_classified(run: FaultRun, check: str) -> None:
    r = run.results[check]
    where = f"{check} vs {run.fault.id}: {verdict(run, check)} ({r.summary})"
    assert r.status in STATUSES, where
    if r.status in ("warn", "fail"):
        assert r.findings, f"{where}: {r.status} without a finding"
    if r.status in ("error", "timeout"):
        assert r.error in _known_codes(), f"{where}: error code {r.error!r} is not a classify code"
    codes = _failure_codes(r)
    assert "unknown_failure" not in codes, f"{where}: unclassified failure"
    # "cancelled" means the person stopped the run (Ctrl-C); nobody did here.
    assert "cancelled" not in codes, f"{where}: a timeout reported as cancelled"
    # Within the deadline: the check's own duration and the whole run.
    assert r.duration_s <= DEADLINE_S + SLACK_S, f"{where}: took {r.duration_s:.2f} s"
    assert run.run_s <= DEADLINE_S + SLACK_S, f"run took {run.run_s:.2f} s"
    assert not run.schema_errors, run.schema_errors[:5]
    assert not run.leaked_threads, f"server threads still alive: {run.leaked_threads}"
    # A check that honours ctx.timeout() returns before the runner has to stop it.
    assert not r.summary.startswith(RUNNER_STOPPED), f"{where}: overran its deadline"


def _cases(check: str) -> list[Any]:
    out = []
    for f in FAULTS:
        if check not in f.checks:
            continue
        marks = []
        if (check, f.id) in KNOWN_BUGS:
            reason, strict = KNOWN_BUGS[(check, f.id)]
            marks.append(pytest.mark.xfail(reason=reason, strict=strict))
        out.append(pytest.param(f.id, id=f.id, marks=marks))
    return out


@pytest.mark.parametrize("fault_id", _cases("connectivity"))
def test_connectivity_fault_ends_classified_within_deadline(fault_id: str, scratch: Path) -> None:
    assert_classified(_run(fault_id, scratch), "connectivity")


@pytest.mark.parametrize("fault_id", _cases("dns"))
def test_dns_fault_ends_classified_within_deadline(fault_id: str, scratch: Path) -> None:
    assert_classified(_run(fault_id, scratch), "dns")


@pytest.mark.parametrize("fault_id", _cases("tls"))
def test_tls_fault_ends_classified_within_deadline(fault_id: str, scratch: Path) -> None:
    assert_classified(_run(fault_id, scratch), "tls")


@pytest.mark.parametrize("fault_id", _cases("clock"))
def test_clock_fault_ends_classified_within_deadline(fault_id: str, scratch: Path) -> None:
    assert_classified(_run(fault_id, scratch), "clock")


@pytest.mark.parametrize("fault_id", _cases("endpoints"))
def test_endpoints_fault_ends_classified_within_deadline(fault_id: str, scratch: Path) -> None:
    assert_classified(_run(fault_id, scratch), "endpoints")


@pytest.mark.parametrize("fault_id", _cases("bandwidth"))
def test_bandwidth_fault_ends_classified_within_deadline(fault_id: str, scratch: Path) -> None:
    assert_classified(_run(fault_id, scratch), "bandwidth")


# ---------------------------------------------------------------- end to end

# A few faults again through the CLI in a subprocess: config file, registry,
# runner, report pipeline, JSON renderer, exit code.
E2E_FAULTS = ("tcp_stall", "tls_drip_server_hello", "http_slowloris_headers", "dns_garbage",
              "ntp_leap3", "cert_serial_negative", "date_non_ascii")


@dataclass
class CliRun:
    fault: Fault
    returncode: int
    stdout: str
    stderr: str
    wall_s: float


_CLI_RUNS: dict[str, CliRun] = {}


def run_fault_cli(fault: Fault, scratch: Path) -> CliRun:
    from payprobe.engine import config

    from tests.faults.e2e import run_cli, to_toml
    home = scratch / f"cli-{fault.id}"
    home.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        env = Setup(stack, scratch)
        path = home / "payprobe.toml"
        path.write_text(to_toml(config.merge(BASE_OVERRIDES, fault.setup(env))), encoding="utf-8")
        proc, wall = run_cli(path, fault.checks, DEADLINE_S, home)
    return CliRun(fault, proc.returncode, proc.stdout, proc.stderr, wall)


@pytest.fixture(scope="module")
def cli_runs(scratch: Path) -> dict[str, CliRun]:
    from concurrent.futures import ThreadPoolExecutor
    todo = [f for f in E2E_FAULTS if f not in _CLI_RUNS]
    with ThreadPoolExecutor(4, thread_name_prefix="fault-cli") as pool:
        for fid, run in zip(todo, pool.map(lambda i: run_fault_cli(BY_ID[i], scratch), todo),
                            strict=True):
            _CLI_RUNS[fid] = run
    return _CLI_RUNS


@pytest.mark.parametrize("fault_id", E2E_FAULTS)
def test_cli_run_fault_ends_classified_within_deadline(fault_id: str,
                                                       cli_runs: dict[str, CliRun]) -> None:
    from payprobe.reports import model
    run = cli_runs[fault_id]
    assert "Traceback" not in run.stderr, run.stderr[-2000:]
    assert run.returncode in (0, 1, 2), f"exit {run.returncode}: {run.stderr[-1000:]}"
    report = json.loads(run.stdout)
    assert model.validate(report) == []
    assert report["partial"] is False
    assert report["duration_s"] <= DEADLINE_S + SLACK_S
    by_name = {c["name"]: c for c in report["checks"]}
    assert set(by_name) == set(run.fault.checks)
    known = _known_codes()
    for name, c in by_name.items():
        where = f"{name} vs {fault_id}: {c['status']} {c['error']} ({c['summary']})"
        assert c["status"] in STATUSES, where
        if c["status"] in ("warn", "fail"):
            assert c["findings"], where
        if c["status"] in ("error", "timeout"):
            assert c["error"] in known, where
        codes = [f["data"].get("failure") for f in c["findings"]]
        assert "unknown_failure" not in codes, where


def test_cli_run_cert_with_negative_serial_prints_no_warning(cli_runs: dict[str, CliRun]) -> None:
    assert "Warning" not in cli_runs["cert_serial_negative"].stderr


# ---------------------------------------------------------------- matrix


def matrix(runs: list[FaultRun]) -> str:
    checks = ["connectivity", "dns", "tls", "clock", "endpoints", "bandwidth"]
    lines = ["| fault | " + " | ".join(checks) + " |", "|---" * (len(checks) + 1) + "|"]
    for run in runs:
        cells = [verdict(run, c) if c in run.results else "" for c in checks]
        lines.append(f"| {run.fault.id} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    import tempfile
    guard.install()
    tmp = Path(tempfile.mkdtemp(prefix="payprobe-faults-"))
    os.environ.setdefault("PAYPROBE_DATA_DIR", str(tmp / "data"))
    wanted = sys.argv[1:] or [f.id for f in FAULTS]
    print(matrix(run_all(wanted, tmp)))
