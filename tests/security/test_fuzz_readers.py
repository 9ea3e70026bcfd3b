"""A hypothesis fuzz target for every reader of outside input (issue 13, point 5).

| target            | reader                                                      | allowed outcomes            |
|-------------------|-------------------------------------------------------------|-----------------------------|
| config            | payprobe.engine.config.load (a TOML file)                   | Settings, ConfigError (64)  |
| report            | payprobe.reports.model.parse_report, then render and bundle | Report, UsageError (64)     |
| DNS answers       | checks/_dns_transport.query_resolver over UDP              | a QueryResult, classified   |
| NTP replies       | checks/clock over UDP (ntplib + _clock_sources.judge_ntp)   | an Outcome                  |
| HTTP Date         | checks/clock's HTTP Date fallback over TCP                  | an Outcome                  |
| termux-api JSON   | payprobe.sources.run_termux_api                             | a dict, TermuxApiError      |
| crontab text      | probe/agent/schedule/cron_table (install and remove)        | every other byte kept       |

Servers listen on 127.0.0.1 random ports; each answers what hypothesis draws.
Examples are derandomized (the same on every run, so CI is deterministic) and
few per target, so the file runs in seconds on 2 cores. The inputs that broke
the code as it landed (68a4c71) are pinned with @example: deep TOML nesting and
``https://[::1/`` (exit 3), mistyped reports without jsonschema (exit 3), a
crontab "A" (became "A\\n") and CRLF (became LF). The DNS, NTP, HTTP Date and
termux-api targets cover readers that had no fuzz target; their generators
are biased towards well-formed answers, so the fuzz reaches the code that
judges an answer and not only the code that refuses garbage.
"""

from __future__ import annotations

import email.utils
import io
import json
import math
import os
import socket
import socketserver
import stat
import string
import struct
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from payprobe.api import CHECK_STATUSES, Blackboard, CheckContext
from payprobe.engine import config
from payprobe.engine.errors import ConfigError, UsageError
from payprobe.host import HostInfo
from payprobe.reports import bundle
from payprobe.reports.model import parse_report
from payprobe.reports.render import FORMATS, render

from tests.security.test_reports_from_outside import SAFE_CODE, valid_report
from tests.servers import datagrams

FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
# Targets that start a process or open a connection per example.
FUZZ_IO = settings(FUZZ, max_examples=100)
HOST = HostInfo(platform="linux", termux=False, os="Linux", python="3.11")


def one_sentence(message: str) -> bool:
    return bool(message) and "\n" not in message.strip() and "\x1b" not in message


# ------------------------------------------------------------------ config

KEYS = ["deadline_s", "lang", "ca_file", "check_urls", "http_date_urls", "ntp_servers", "names",
        "resolvers", "url", "address", "protocol", "name", "slow_ms", "samples", "local_ports",
        "mini_server", "webhook_url", "token", "plugins", "bogus"]
SECTIONS = ["connectivity", "dns", "tls", "clock", "latency", "proxy", "bandwidth", "device", "history",
            "alerts", "upload", "plugins.x", "bogus"]
_URLISH = st.one_of(
    st.sampled_from(["https://[::1/", "http://[x", "https://a:b@[::1]:99999/", "http://%zz/", "https://",
                     "//x", "http://127.0.0.1:0/", "https://example.com:-1/", "ftp://x/",
                     "https://xn--/", "http://\u00e9.example/", "https://a\x00b/"]),
    st.text(alphabet=string.printable, max_size=30).map(lambda t: "https://" + t),
)
_SCALAR = st.one_of(
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70).map(str),
    st.sampled_from(["nan", "inf", "-inf", "1e400", "0.0", "-0.0", "true", "false", "1979-05-27T07:32:00Z"]),
    st.text(max_size=20).map(json.dumps),
    _URLISH.map(json.dumps),
    st.sampled_from([5, 1000, 5000]).map(lambda n: "[" * n + "]" * n),           # deep nesting
    st.sampled_from([5, 1000, 5000]).map(lambda n: "{a=" * n + "1" + "}" * n),
)
_ARRAY = st.lists(_SCALAR, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]")
_LINE = st.one_of(
    st.tuples(st.sampled_from(KEYS), st.one_of(_SCALAR, _ARRAY)).map(lambda kv: f"{kv[0]} = {kv[1]}"),
    st.sampled_from(SECTIONS).map(lambda s: f"[{s}]"),
    st.sampled_from(["endpoints", "dns.resolvers"]).map(lambda s: f"[[{s}]]"),
    st.text(max_size=30),
)
TOML_DOCS = st.lists(_LINE, max_size=14).map("\n".join)


@FUZZ
@given(doc=TOML_DOCS)
@example(doc="deadline_s = " + "[" * 5000 + "]" * 5000)
@example(doc='[connectivity]\ncheck_urls = ["https://[::1/"]')
@example(doc='[[endpoints]]\nname = "a"\nurl = "https://[::1/"')
@example(doc='[clock]\nhttp_date_urls = ["http://[x"]')
def test_fuzz_config_gives_settings_or_one_config_error(tmp_path: Path, doc: str) -> None:
    # Defects guarded: deep nesting (RecursionError) and url = "https://[::1/" (ValueError)
    # were "internal error", exit 3.
    path = tmp_path / "c.toml"
    path.write_text(doc, encoding="utf-8", errors="surrogatepass")
    try:
        loaded = config.load(path)
    except ConfigError as exc:
        assert str(exc).startswith(str(path)) and one_sentence(str(exc)), str(exc)
    else:
        assert 0.5 <= loaded.deadline_s <= 3600


# ------------------------------------------------------------------ reports

JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
              st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12)),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=8), children, max_size=4)),
    max_leaves=12,
)
HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["x/../../../tmp/X", "\x1b]0;pwned\x07", "<script>alert(1)</script>", "{{x}}", "%s%n",
                     "a\r\nb", "\u202e", "\\", "\"", "'", "`rm -rf`", "\x00", "1e400", "NaN"]),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


REPORT_PATHS = [p for p in _paths(valid_report()) if p]


def _replaced(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    report = valid_report()
    node: Any = report
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return report


def _use(report: Any) -> None:
    """What show and bundle do with a report they accepted: every renderer and the zip."""
    for fmt in FORMATS:
        for lang in ("en", "zh"):
            assert isinstance(render(report, fmt, lang=lang), str)
    data, code = bundle.build_bundle(report, lang="en", salt=b"s" * 16)
    assert SAFE_CODE.fullmatch(code)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert all(n.startswith(f"payprobe-{code}/") and ".." not in n for n in names)


@FUZZ
@given(path=st.sampled_from(REPORT_PATHS), value=st.one_of(JSON_VALUES, HOSTILE_TEXT))
@example(path=("checks",), value="abc")
@example(path=("causes",), value=[1, 2])
@example(path=("status",), value="x/../../../tmp/X")
def test_fuzz_report_with_one_field_replaced_is_read_or_refused_with_one_sentence(
        monkeypatch: pytest.MonkeyPatch, path: tuple[Any, ...], value: Any) -> None:
    # Defect guarded: mistyped fields gave "internal error" (exit 3) without jsonschema.
    monkeypatch.setitem(sys.modules, "jsonschema", None)
    raw = json.dumps(_replaced(path, value)).encode("utf-8", "surrogatepass")
    try:
        report = parse_report(raw, "r.json")
    except UsageError as exc:
        assert str(exc).startswith("r.json: ") and one_sentence(str(exc)), str(exc)
        return
    _use(report)


_FREE = st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=4)


@FUZZ
@given(summary=HOSTILE_TEXT, message=HOSTILE_TEXT, target=HOSTILE_TEXT, title=HOSTILE_TEXT,
       label=HOSTILE_TEXT, data=_FREE, evidence=st.lists(_FREE, max_size=3), extra=_FREE,
       verdict=HOSTILE_TEXT)
def test_fuzz_report_of_valid_shape_with_hostile_text_renders_and_bundles(
        summary: str, message: str, target: str, title: str, label: str, data: dict[str, Any],
        evidence: list[dict[str, Any]], extra: dict[str, Any], verdict: str) -> None:
    # Every string field and every free-form object (finding data, evidence, keys the
    # schema leaves open) reaches the renderers and the bundle: none may crash them.
    report: dict[str, Any] = valid_report()
    check = report["checks"][0]
    check.update(summary=summary, evidence=evidence)
    check["findings"][0].update(message=message, target=target, data=data)
    check["metrics"][0]["labels"] = {"source": label, "x": target}
    report["causes"][0].update(title=title, target=target, **{k: v for k, v in extra.items()
                                                              if k not in report["causes"][0]})
    report["summary"] = {"verdict": verdict, "next_steps": [message], **{
        k: v for k, v in extra.items() if k not in ("verdict", "verdict_code", "network_ok", "top_cause",
                                                     "ruled_out", "next_steps_intro", "next_steps")}}
    raw = json.dumps(report).encode("utf-8", "surrogatepass")
    try:
        accepted = parse_report(raw, "r.json")
    except UsageError as exc:   # lone surrogates, for one
        assert one_sentence(str(exc))
        return
    _use(accepted)


@FUZZ
@given(raw=st.one_of(st.binary(max_size=300),
                     st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
                     st.integers(min_value=1, max_value=5000).map(lambda n: b"[" * n + b"]" * n)))
def test_fuzz_report_from_arbitrary_bytes_is_refused_with_one_sentence(raw: bytes) -> None:
    with pytest.raises(UsageError) as info:
        parse_report(raw, "r.json")
    assert one_sentence(str(info.value))


# ------------------------------------------------------------------ UDP servers

Responder = Callable[[bytes], bytes | None]


class UdpServer:
    """Answers each datagram with whatever ``respond`` returns for it (None: silence)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.respond: Responder = lambda query: None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        for query, peer in datagrams(self.sock, self._stop, 4096):
            answer = self.respond(query)
            if answer is not None:
                self.sock.sendto(answer, peer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def udp_server() -> Iterator[UdpServer]:
    server = UdpServer()
    yield server
    server.close()


# ------------------------------------------------------------------ DNS answers

# Record types a resolver may answer with: A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, OPT, and any.
_RTYPES = st.one_of(st.sampled_from([1, 2, 5, 6, 12, 15, 16, 28, 41]), st.integers(min_value=0, max_value=65535))
_TTL = st.integers(min_value=0, max_value=2 ** 32 - 1)
_ANSWER = st.one_of(
    # Well-formed A, AAAA and CNAME records, so answers reach the address list...
    st.tuples(st.just(1), _TTL, st.binary(min_size=4, max_size=4), st.none()),
    st.tuples(st.just(28), _TTL, st.binary(min_size=16, max_size=16), st.none()),
    st.tuples(st.just(5), _TTL, st.just(b"\xc0\x0c"), st.none()),
    # ...and anything at all, with a length that may lie.
    st.tuples(_RTYPES, _TTL, st.binary(max_size=24), st.one_of(st.none(), st.integers(min_value=0, max_value=65535))),
)


def _question(query: bytes) -> bytes:
    i = 12
    while i < len(query) and query[i]:
        i += query[i] + 1
    return query[12:i + 5]


@st.composite
def dns_replies(draw: st.DrawFn) -> Callable[[bytes], bytes]:
    if draw(st.sampled_from(["junk", "reply", "reply", "reply"])) == "junk":
        junk = draw(st.binary(max_size=200))
        return lambda query: query[:2] + junk           # the ID echoed, then anything
    rcode = draw(st.one_of(st.just(0), st.integers(min_value=0, max_value=15)))
    flags_extra = draw(st.sampled_from([0x0080, 0x0080, 0x0080, 0x0480, 0x0400, 0x0200]))   # RA, AA, TC
    answers = draw(st.lists(_ANSWER, max_size=5))
    sometimes = st.sampled_from([False, False, False, True])
    count_lie = draw(st.integers(min_value=0, max_value=65535)) if draw(sometimes) else None
    cut = draw(st.integers(min_value=0, max_value=300)) if draw(sometimes) else None

    def reply(query: bytes) -> bytes:
        flags = 0x8100 | flags_extra | rcode
        head = query[:2] + struct.pack(">HHHHH", flags, 1, len(answers) if count_lie is None else count_lie, 0, 0)
        body = b"".join(b"\xc0\x0c" + struct.pack(">HHIH", rtype, 1, ttl, len(rdata) if rdlen is None else rdlen)
                        + rdata for rtype, ttl, rdata, rdlen in answers)
        wire = head + _question(query) + body
        return wire if cut is None else wire[:cut]
    return reply


@FUZZ
@given(reply=dns_replies(), qtype=st.sampled_from(["A", "AAAA"]))
def test_fuzz_dns_answer_gives_a_classified_result(udp_server: UdpServer, reply: Callable[[bytes], bytes],
                                                   qtype: str) -> None:
    import ipaddress

    from payprobe.checks import _dns_transport as transport
    from payprobe.settings import DnsConfig, Resolver, Settings
    udp_server.respond = reply
    resolver = Resolver(name="fuzz", address=f"127.0.0.1:{udp_server.port}")
    server = transport.server_of(resolver)
    assert server is not None
    settings = Settings(dns=DnsConfig(resolvers=[resolver]))
    ctx = CheckContext(name="dns", config=settings.dns, settings=settings, deadline=time.monotonic() + 5,
                       cancelled=threading.Event(), shared=Blackboard(), host=HOST, options={})
    result = transport.query_resolver(resolver, server, "pay.example", qtype, ctx, 1.0)
    assert isinstance(result, transport.QueryResult)
    assert result.failure is None or (isinstance(result.failure, str) and result.failure)
    for address in result.answers:
        ipaddress.ip_address(address)
    json.dumps(result.to_evidence(), allow_nan=False)


# ------------------------------------------------------------------ NTP replies

_NTP_EPOCH_S = 2208988800


def _ntp_stamp(value: int) -> bytes:
    return struct.pack(">Q", value)


@st.composite
def ntp_replies(draw: st.DrawFn) -> Callable[[bytes], bytes]:
    kind = draw(st.sampled_from(["junk", "wild", "plausible", "plausible"]))
    if kind == "junk":
        junk = draw(st.binary(max_size=120))
        return lambda query: junk
    byte = st.integers(min_value=0, max_value=255)
    if kind == "plausible":   # mostly what a server sends, so the answer reaches the offset maths
        first = draw(st.sampled_from([0x1C, 0x24, 0x5C, 0x9C, 0xDC, 0x1D, 0x1B]))   # leap 0-3, v3/v4, mode 4/5/3
        stratum = draw(st.integers(min_value=1, max_value=15))
    else:
        first, stratum = draw(byte), draw(byte)
    poll, precision = draw(byte), draw(byte)
    words = [draw(st.integers(min_value=0, max_value=2 ** 32 - 1)) for _ in range(3)]
    near_now = st.floats(min_value=-1e6, max_value=1e6).map(
        lambda d: int((time.time() + _NTP_EPOCH_S + d) * 2 ** 32))
    stamp = near_now if kind == "plausible" else st.one_of(st.integers(min_value=0, max_value=2 ** 64 - 1),
                                                           near_now)
    ref, recv, tx = draw(stamp), draw(stamp), draw(stamp)
    echo = kind == "plausible" or draw(st.booleans())   # the originate timestamp echoes our request
    other_orig = draw(st.integers(min_value=0, max_value=2 ** 64 - 1))
    tail = draw(st.binary(max_size=24))

    def reply(query: bytes) -> bytes:
        orig = query[40:48] if echo and len(query) >= 48 else _ntp_stamp(other_orig)
        return (struct.pack(">BBBb", first, stratum, poll, precision - 128) + struct.pack(">III", *words)
                + _ntp_stamp(ref) + orig + _ntp_stamp(recv) + _ntp_stamp(tx) + tail)
    return reply


def _clock_ctx(ntp_servers: list[str], urls: list[str]) -> CheckContext[Any]:
    loaded = config.load(overrides={"clock": {"ntp_servers": ntp_servers, "http_date_urls": urls}})
    return CheckContext(name="clock", config=loaded.clock, settings=loaded, deadline=time.monotonic() + 8,
                        cancelled=threading.Event(), shared=Blackboard(), host=HOST, options={})


def _assert_outcome(outcome: Any) -> None:
    assert outcome.resolved_status() in CHECK_STATUSES
    for metric in outcome.metrics:
        assert math.isfinite(float(metric.value)), metric
    json.dumps([f.to_dict() for f in outcome.findings], allow_nan=False)
    json.dumps(outcome.evidence, allow_nan=False)


@FUZZ_IO
@given(reply=ntp_replies())
def test_fuzz_ntp_reply_gives_an_outcome(udp_server: UdpServer, reply: Callable[[bytes], bytes]) -> None:
    from payprobe.checks.clock import ClockCheck
    udp_server.respond = reply
    _assert_outcome(ClockCheck().run(_clock_ctx([f"127.0.0.1:{udp_server.port}"], [])))


# ------------------------------------------------------------------ HTTP Date


class _DateHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        lines = b"".join(b"Date: " + value + b"\r\n" for value in self.server.dates)  # type: ignore[attr-defined]
        self.wfile.write(b"HTTP/1.1 200 OK\r\n" + lines + b"Content-Length: 0\r\nConnection: close\r\n\r\n")


@pytest.fixture(scope="module")
def date_server() -> Iterator[Any]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _DateHandler)
    server.daemon_threads = True
    server.dates = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


_HEADER_BYTES = st.binary(max_size=60).filter(lambda b: b"\r" not in b and b"\n" not in b)
_DATES = st.one_of(
    _HEADER_BYTES,
    st.floats(min_value=-1e7, max_value=1e7).map(lambda d: email.utils.formatdate(time.time() + d,
                                                                                   usegmt=True).encode()),
    st.datetimes(timezones=st.timezones()).map(lambda d: email.utils.format_datetime(d).encode()),
    st.sampled_from([b"Thu, 01 Jan 1970 00:00:00 GMT", b"Fri, 31 Dec 9999 23:59:59 GMT",
                     b"Mon, 99 Foo 2026 99:99:99 GMT", b"Tue, 15 Nov 1994 08:12:31 +9999",
                     b"Tue, 15 Nov 1994 08:12:31", b"-1", b"Sun, 06 Nov 1994 08:49:37 GMT\x00"]),
)


@FUZZ_IO
@given(dates=st.one_of(_DATES.map(lambda d: [d]), st.lists(_DATES, max_size=3)))
def test_fuzz_http_date_header_gives_an_outcome(date_server: Any, dates: list[bytes]) -> None:
    from payprobe.checks.clock import ClockCheck
    date_server.dates = dates
    url = f"http://127.0.0.1:{date_server.server_address[1]}/"
    _assert_outcome(ClockCheck().run(_clock_ctx([], [url])))


# ------------------------------------------------------------------ termux-api JSON

_FAKE_TERMUX = """#!/bin/sh
cat "$FUZZ_DIR/out"
cat "$FUZZ_DIR/err" >&2
exit "$(cat "$FUZZ_DIR/code")"
"""


@pytest.fixture(scope="module")
def fake_termux(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("termux")
    script = folder / "termux-fuzz-status"
    script.write_text(_FAKE_TERMUX, encoding="ascii")
    script.chmod(stat.S_IRWXU)
    return folder


_TERMUX_OUTPUT = st.one_of(
    st.binary(max_size=120),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(["percentage", "status", "health", "plugged", "temperature"]),
                    JSON_VALUES, max_size=5).map(lambda d: json.dumps(d).encode()),
    st.sampled_from([b"", b"\n", b"{", b"{}", b"[]", b"null", b"\x1b]0;pwned\x07{}", b"\xff\xfe{}",
                     b'{"a": NaN}', b"[" * 500]),
)
# Deeper nesting made json.loads raise RecursionError out of run_termux_api, which caught
# ValueError only (found by the fuzz target above).
TERMUX_CRASH_OUTPUT = b"[" * 3000


@FUZZ_IO
@given(out=_TERMUX_OUTPUT, err=st.binary(max_size=40), code=st.sampled_from([0, 0, 0, 1, 2, 127, 255]))
def test_fuzz_termux_api_output_gives_a_dict_or_one_termux_api_error(
        monkeypatch: pytest.MonkeyPatch, fake_termux: Path, out: bytes, err: bytes, code: int) -> None:
    from payprobe.sources import TermuxApiError, run_termux_api
    (fake_termux / "out").write_bytes(out)
    (fake_termux / "err").write_bytes(err)
    (fake_termux / "code").write_text(str(code))
    monkeypatch.setenv("FUZZ_DIR", str(fake_termux))
    monkeypatch.setenv("PATH", f"{fake_termux}{os.pathsep}{os.environ.get('PATH', '')}")
    try:
        data = run_termux_api("termux-fuzz-status", 10.0)
    except TermuxApiError as exc:
        assert one_sentence(str(exc)), str(exc)
    else:
        assert isinstance(data, dict) and code == 0


def test_termux_api_output_nested_too_deep_is_one_termux_api_error(
        monkeypatch: pytest.MonkeyPatch, fake_termux: Path) -> None:
    from payprobe.sources import TermuxApiError, run_termux_api
    (fake_termux / "out").write_bytes(TERMUX_CRASH_OUTPUT)
    (fake_termux / "err").write_bytes(b"")
    (fake_termux / "code").write_text("0")
    monkeypatch.setenv("FUZZ_DIR", str(fake_termux))
    monkeypatch.setenv("PATH", f"{fake_termux}{os.pathsep}{os.environ.get('PATH', '')}")
    with pytest.raises(TermuxApiError) as info:
        run_termux_api("termux-fuzz-status", 10.0)
    assert one_sentence(str(info.value))


# ------------------------------------------------------------------ crontab text

_CRON_LINES = st.one_of(
    st.binary(max_size=40),
    st.sampled_from([b"*/5 * * * * backup\n", b"MAILTO=a@b\r\n", b"# comment\n", b"\n", b"\r\n", b"no newline",
                     b"0 * * * * x # payprobe-schedule (managed by `payprobe schedule`; remove with "
                     b"`payprobe schedule remove`)\n"]),
)
CRONTABS = st.lists(_CRON_LINES, max_size=6).map(b"".join)


@FUZZ
@given(text=CRONTABS)
@example(text=b"A")
@example(text=b"A\r\nB\r\n")
def test_fuzz_crontab_install_keeps_every_other_byte_and_is_idempotent(text: bytes) -> None:
    # Defects guarded: installing twice turned "A" into "A\n", CRLF became LF.
    from payprobe.agent.schedule.cron_table import cron_line, crontab_lines, is_our_line, with_our_line
    from payprobe.agent.schedule.cron_table import without_our_lines as without
    line = cron_line(900, environ={})
    once = with_our_line(text, line)
    assert with_our_line(once, line) == once
    assert without(once) == without(text)
    assert sum(1 for x in crontab_lines(once) if is_our_line(x)) == 1
    if not any(is_our_line(x) for x in crontab_lines(text)):
        assert without(once) == text
