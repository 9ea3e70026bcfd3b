"""path check: the loss judgement on synthetic hop tables, the sock_extended_err
parser on crafted bytes, the node planning, and whole traces over loopback.
The multi-hop lab is in tests/test_lab_path.py."""

from __future__ import annotations

import errno
import socket
import struct
import sys
import threading
import time
from typing import Any

import pytest
from payprobe.api import Blackboard, CheckCancelled, CheckContext, Outcome
from payprobe.checks import path as path_module
from payprobe.checks._path_config import PathOptions, read_options
from payprobe.checks._path_discover import Route, Target
from payprobe.checks._path_judge import (
    HopStats,
    address_kind,
    judge,
    loss_tail,
    segment_of,
)
from payprobe.checks._path_rounds import Buckets, Node, build_nodes, hop_table
from payprobe.checks._trace import (
    LOCAL_ERROR,
    REACHED,
    TIME_EXCEEDED,
    UNREACHABLE,
    Answer,
    answer_from_error,
    parse_extended_err,
)
from payprobe.checks.path import PathCheck
from payprobe.settings import Endpoint, PathConfig, Settings

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="IP_RECVERR is Linux's")


# ---------------------------------------------------------------- synthetic hop tables


def hop(n: int, pattern: str, address: str | None = None, dest: bool = False) -> HopStats:
    """A hop from a pattern of answered (1) and lost (0) probes, in send order."""
    outcomes = [c == "1" for c in pattern]
    return HopStats(n, address or f"198.51.100.{n}", outcomes, [0.01] * sum(outcomes),
                    [address or f"198.51.100.{n}"] if any(outcomes) else [], dest)


def table(*patterns: str, v6: bool = False) -> list[HopStats]:
    """Hops 1..n; the last is the destination."""
    last = len(patterns)
    return [hop(i, p, f"2001:db8::{i}" if v6 else None, dest=i == last)
            for i, p in enumerate(patterns, start=1)]


FULL = "1" * 10
FULL_DEST = "1" * 20
# 30 % loss, spread the way random loss spreads.
LOSSY = "1101101110"
LOSSY_DEST = "11011011101101101101"


def test_judge_when_all_hops_answer_everything_has_no_onset():
    verdict = judge(table(FULL, FULL, FULL, FULL, FULL_DEST), 0.1)
    assert verdict.reached and verdict.onset is None
    assert verdict.transient == () and verdict.rate_limited == ()


def test_judge_when_middle_hop_rate_limited_and_destination_answers_all_has_no_onset():
    # mtr would report 50 % loss at hop 3: it only answers some probes, and everything after it
    # (the destination included) answers all of them.
    verdict = judge(table(FULL, FULL, "1111100000", FULL, FULL, FULL_DEST), 0.1)
    assert verdict.onset is None
    assert 3 in verdict.rate_limited + verdict.transient


def test_judge_when_loss_from_hop_3_persists_to_the_end_names_hop_3_isp():
    verdict = judge(table(FULL, FULL, LOSSY, LOSSY, LOSSY, LOSSY_DEST), 0.1)
    assert verdict.onset is not None
    assert (verdict.onset.hop, verdict.onset.segment) == (3, "isp")
    assert verdict.onset.address == "198.51.100.3"
    assert verdict.onset.loss_ratio == pytest.approx(0.3)
    assert verdict.onset.path_loss_ratio == pytest.approx(0.3)


def test_judge_when_loss_starts_at_hop_1_names_the_local_network():
    verdict = judge(table(LOSSY, LOSSY, LOSSY, LOSSY, LOSSY_DEST), 0.1)
    assert verdict.onset is not None and (verdict.onset.hop, verdict.onset.segment) == (1, "local")


def test_judge_when_only_the_destination_loses_names_the_provider_edge():
    verdict = judge(table(FULL, FULL, FULL, FULL, LOSSY_DEST), 0.1)
    assert verdict.onset is not None
    assert (verdict.onset.hop, verdict.onset.segment) == (5, "provider_edge")


def test_judge_when_ipv6_loss_starts_at_hop_2_names_the_isp_with_the_v6_address():
    verdict = judge(table(FULL, LOSSY, LOSSY, LOSSY, LOSSY_DEST, v6=True), 0.1)
    assert verdict.onset is not None
    assert (verdict.onset.hop, verdict.onset.segment, verdict.onset.address) == (2, "isp", "2001:db8::2")


def test_judge_when_rate_limited_hop_sits_before_the_real_onset_blames_the_real_onset():
    # Hop 2 answered its burst and then stopped: a rate limiter, right before real loss at hop 3.
    verdict = judge(table(FULL, "1111100000", LOSSY, LOSSY, LOSSY_DEST), 0.1)
    assert verdict.onset is not None and verdict.onset.hop == 3
    assert verdict.rate_limited == (2,)


def test_judge_when_hop_loses_far_more_than_the_destination_does_not_blame_it():
    # A hop answering 1 probe in 10 cannot be where 30 % loss starts: the destination would lose 90 %.
    verdict = judge(table(FULL, "0010000000", LOSSY, LOSSY, LOSSY_DEST), 0.1)
    assert verdict.onset is not None and verdict.onset.hop == 3
    assert 2 in verdict.rate_limited


def test_judge_when_transient_loss_is_separated_from_real_loss_by_a_clean_hop_lists_it_as_transient():
    verdict = judge(table(FULL, LOSSY, FULL, FULL, LOSSY, LOSSY_DEST), 0.1)
    assert verdict.onset is not None and verdict.onset.hop == 5
    assert verdict.transient == (2,)


def test_judge_when_silent_hops_lie_in_the_path_skips_them():
    verdict = judge(table(FULL, "0000000000", LOSSY, LOSSY_DEST), 0.1)
    assert verdict.onset is not None and verdict.onset.hop == 3


def test_judge_when_one_probe_lost_at_the_destination_calls_it_noise():
    verdict = judge(table(FULL, LOSSY, "1" * 19 + "0"), 0.0)
    assert verdict.onset is None


def test_judge_when_destination_loss_below_threshold_has_no_onset():
    verdict = judge(table(FULL, FULL, "1" * 27 + "000"), 0.2)
    assert verdict.onset is None


def test_judge_when_destination_never_answered_is_not_reached():
    hops = table(FULL, FULL, "0" * 20)
    verdict = judge(hops, 0.1)
    assert not verdict.reached and verdict.onset is None
    assert judge(table(FULL, FULL)[:-1], 0.1).reached is False  # no destination row at all


@pytest.mark.parametrize(("onset", "dest", "segment"), [
    (1, 6, "local"), (2, 6, "isp"), (4, 6, "isp"), (5, 6, "provider_edge"), (6, 6, "provider_edge"),
    (1, 2, "local"), (2, 2, "provider_edge"), (2, 3, "isp"), (3, 3, "provider_edge"), (3, 4, "provider_edge"),
])
def test_segment_of_hop_position_matches_the_rule(onset, dest, segment):
    assert segment_of(onset, dest) == segment


@pytest.mark.parametrize(("address", "kind"), [
    ("192.168.1.1", "private"), ("10.1.2.3", "private"), ("172.20.0.1", "private"),
    ("100.64.0.1", "cgnat"), ("100.127.255.254", "cgnat"), ("fd00::1", "private"),
    ("fe80::1", "link_local"), ("127.0.0.1", "loopback"), ("223.5.5.5", "public"),
    ("2400:3200::1", "public"), ("203.0.113.9", "public"), (None, "unknown"), ("bogus", "unknown"),
])
def test_address_kind_classifies_private_cgnat_and_public(address, kind):
    assert address_kind(address) == kind


def test_loss_tail_matches_binomial_tail():
    assert loss_tail(0, 10, 0.3) == pytest.approx(1.0)
    assert loss_tail(10, 10, 0.5) == pytest.approx(0.5 ** 10)
    assert loss_tail(2, 3, 0.5) == pytest.approx(0.5)


def test_answers_stopped_recognises_a_spent_burst_but_not_random_loss():
    assert hop(1, "1111100000").answers_stopped
    assert hop(1, "11111100010").answers_stopped
    assert not hop(1, LOSSY).answers_stopped
    assert not hop(1, "1100000000").answers_stopped   # too short a run of answers first


# ---------------------------------------------------------------- sock_extended_err


def ee_bytes(ee_errno: int, origin: int, icmp_type: int, icmp_code: int, offender: bytes) -> bytes:
    return struct.pack("=IBBBBII", ee_errno, origin, icmp_type, icmp_code, 0, 0, 0) + offender


def sockaddr_in(address: str, port: int = 0) -> bytes:
    return struct.pack("=H", socket.AF_INET) + struct.pack("!H", port) + socket.inet_aton(address) + b"\0" * 8


def sockaddr_in6(address: str) -> bytes:
    return (struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", 0, 0)
            + socket.inet_pton(socket.AF_INET6, address) + struct.pack("=I", 0))


def test_parse_extended_err_when_ipv4_time_exceeded_gives_the_router():
    err = parse_extended_err(ee_bytes(errno.EHOSTUNREACH, 2, 11, 0, sockaddr_in("198.51.100.7")))
    assert (err.errno, err.origin, err.icmp_type, err.icmp_code) == (errno.EHOSTUNREACH, 2, 11, 0)
    assert err.offender == "198.51.100.7" and err.from_icmp and err.time_exceeded


def test_parse_extended_err_when_ipv6_time_exceeded_gives_the_router():
    err = parse_extended_err(ee_bytes(errno.EHOSTUNREACH, 3, 3, 0, sockaddr_in6("2001:db8:2::1")))
    assert err.offender == "2001:db8:2::1" and err.time_exceeded


def test_parse_extended_err_when_local_error_has_no_offender():
    err = parse_extended_err(ee_bytes(errno.EMSGSIZE, 1, 0, 0, struct.pack("=H", 0) + b"\0" * 14))
    assert err.offender is None and not err.from_icmp and not err.time_exceeded


def test_parse_extended_err_when_too_short_raises():
    with pytest.raises(ValueError, match="16 bytes"):
        parse_extended_err(b"\0" * 8)


def test_parse_extended_err_when_offender_truncated_gives_none():
    assert parse_extended_err(ee_bytes(errno.EHOSTUNREACH, 2, 11, 0, sockaddr_in("192.0.2.1")[:6])).offender is None


def test_answer_from_error_classifies_like_tracepath():
    dest = "203.0.113.10"
    exceeded = parse_extended_err(ee_bytes(errno.EHOSTUNREACH, 2, 11, 0, sockaddr_in("192.0.2.1")))
    refused_dest = parse_extended_err(ee_bytes(errno.ECONNREFUSED, 2, 3, 3, sockaddr_in(dest)))
    refused_router = parse_extended_err(ee_bytes(errno.ECONNREFUSED, 2, 3, 3, sockaddr_in("192.0.2.1")))
    net_unreach = parse_extended_err(ee_bytes(errno.ENETUNREACH, 2, 3, 0, sockaddr_in("192.0.2.1")))
    local = parse_extended_err(ee_bytes(errno.EMSGSIZE, 1, 0, 0, b""))
    assert answer_from_error(exceeded, dest, 0.01).kind == TIME_EXCEEDED
    assert answer_from_error(refused_dest, dest, 0.01).kind == REACHED
    assert answer_from_error(refused_router, dest, 0.01).kind == UNREACHABLE
    unreachable = answer_from_error(net_unreach, dest, 0.01)
    assert unreachable.kind == UNREACHABLE and "ENETUNREACH" in unreachable.detail
    assert answer_from_error(local, dest, 0.01).kind == LOCAL_ERROR


# ---------------------------------------------------------------- options


def test_read_options_when_empty_gives_defaults():
    assert read_options({}) == PathOptions()
    assert read_options({}).enabled is False


def test_read_options_when_unknown_key_raises_naming_it():
    with pytest.raises(ValueError, match="probez"):
        read_options({"probez": 3})


@pytest.mark.parametrize("bad", [{"method": "raw"}, {"probes": 0}, {"families": ["ipv5"]},
                                 {"families": []}, {"min_loss_ratio": 2.0}])
def test_read_options_when_value_out_of_range_raises(bad):
    with pytest.raises(ValueError, match="path\\."):
        read_options(bad)


def test_read_options_when_given_an_object_reads_its_attributes():
    class Section:
        method = "udp"
        probes = 4
        families = ["ipv6"]

    opts = read_options(Section())
    assert (opts.method, opts.probes, opts.families) == ("udp", 4, ("ipv6",))


# ---------------------------------------------------------------- planning and pacing


def route(destination: str, answers: dict[int, tuple[str, str | None]], reached: int | None,
          inherited: bool = False) -> Route:
    r = Route(Target("ipv4", destination, 443, (f"ep-{destination}",)), inherited_first_hop=inherited)
    for ttl, (kind, responder) in answers.items():
        r.record(ttl, Answer(kind, responder, 0.001))
    assert r.reached_ttl == reached
    return r


def test_build_nodes_when_paths_share_routers_probes_each_router_once():
    a = route("203.0.113.1", {1: (TIME_EXCEEDED, "192.0.2.1"), 2: (TIME_EXCEEDED, "198.51.100.1"),
                              3: (REACHED, "203.0.113.1")}, 3)
    b = route("203.0.113.2", {1: (TIME_EXCEEDED, "192.0.2.1"), 2: (TIME_EXCEEDED, "198.51.100.1"),
                              3: (TIME_EXCEEDED, "198.51.100.9"), 4: (REACHED, "203.0.113.2")}, 4, inherited=True)
    nodes, tables = build_nodes([a, b], PathOptions(probes=5))
    assert tables[0][1] is tables[1][1] and tables[0][2] is tables[1][2]
    assert len(nodes) == 5   # 2 shared routers, 1 of b's own, 2 destinations
    dest = tables[1][4]
    assert dest.destination and dest.want == 10 and dest.bucket is None
    assert tables[1][3].bucket == ("ipv4", "198.51.100.9") and tables[1][3].want == 5


def test_build_nodes_when_hop_silent_in_discovery_joins_the_router_its_neighbours_found():
    a = route("203.0.113.1", {1: (TIME_EXCEEDED, "192.0.2.1"), 2: (TIME_EXCEEDED, "198.51.100.1"),
                              3: (TIME_EXCEEDED, "198.51.100.2"), 4: (REACHED, "203.0.113.1")}, 4)
    b = route("203.0.113.2", {1: (TIME_EXCEEDED, "192.0.2.1"), 4: (REACHED, "203.0.113.2")}, 4)
    _nodes, tables = build_nodes([a, b], PathOptions())
    assert tables[1][2] is tables[0][2] and tables[1][3] is tables[0][3]


def test_build_nodes_when_udp_rate_limits_the_destination_too():
    a = route("203.0.113.1", {1: (TIME_EXCEEDED, "192.0.2.1"), 2: (REACHED, "203.0.113.1")}, 2)
    _nodes, tables = build_nodes([a], PathOptions(method="udp", probes=4))
    assert tables[0][2].bucket == ("ipv4", "203.0.113.1") and tables[0][2].want == 4


def test_buckets_when_burst_spent_allow_one_probe_per_refill():
    buckets = Buckets(burst=2, per_s=1.0, now=0.0)
    assert buckets.take("r", 0.0) and buckets.take("r", 0.0)
    assert not buckets.take("r", 0.1)
    assert buckets.take("r", 1.2)
    buckets.spend("s", 3, 0.0)   # discovery already cost 3: two seconds in debt
    assert not buckets.take("s", 1.5) and buckets.take("s", 2.1)
    assert buckets.take(None, 0.0)   # a silent hop or a destination has no bucket


def test_hop_table_when_discovery_missed_the_real_distance_merges_into_the_destination():
    r = route("203.0.113.1", {1: (TIME_EXCEEDED, "192.0.2.1"), 3: (REACHED, "203.0.113.1")}, 3)
    nodes, tables = build_nodes([r], PathOptions(probes=4))
    near, far = tables[0][2], tables[0][3]
    near.results, near.reached, near.seen["203.0.113.1"] = [True, True, False, True], 3, 3
    far.results = [True] * 8
    hops = hop_table(r, tables[0])
    assert [h.hop for h in hops] == [1, 2] and hops[-1].destination
    assert hops[-1].sent == 12 and hops[-1].lost == 1 and hops[-1].address == "203.0.113.1"
    assert isinstance(nodes[0], Node)


# ---------------------------------------------------------------- the check over loopback


def make_ctx(settings: Settings, deadline_s: float = 5.0, options: dict[str, Any] | None = None) -> CheckContext:
    return CheckContext(name="path", config=settings.section("path"), settings=settings,
                        deadline=time.monotonic() + deadline_s, cancelled=threading.Event(),
                        shared=Blackboard(), host=None, options=options or {})


def run_path(urls: list[str], deadline_s: float = 5.0, **options: Any) -> Outcome:
    options.setdefault("window_s", 0.3)
    options.setdefault("probes", 3)
    options.setdefault("families", ["ipv4"])
    settings = Settings(endpoints=[Endpoint(name=f"ep{i}", url=u) for i, u in enumerate(urls)],
                        path=PathConfig(**options))
    return PathCheck().run(make_ctx(settings, deadline_s))


@pytest.fixture
def listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    server.close()


def paths(out: Outcome) -> list[dict[str, Any]]:
    return [e for e in out.evidence if e["what"] == "path"]


@linux_only
def test_path_when_loopback_listener_reached_at_hop_1_without_loss(listener):
    out = run_path([f"https://127.0.0.1:{listener}/", f"https://127.0.0.1:{listener}/other"])
    assert out.resolved_status() == "ok" and out.findings == []
    (traced,) = paths(out)   # both endpoints share the one address: traced once
    assert traced["endpoints"] == ["ep0", "ep1"] and traced["reached"] and traced["destination_hop"] == 1
    (dest,) = traced["hops"]
    assert dest["destination"] and dest["address"] == "127.0.0.1" and dest["address_kind"] == "loopback"
    assert dest["sent"] == 6 and dest["answered"] == 6 and dest["loss_pct"] == 0.0
    assert {m.name for m in out.metrics} >= {"path_hops", "path_hop_loss_ratio", "path_hop_rtt_seconds"}
    timing = next(e for e in out.evidence if e["what"] == "path_timing")
    assert timing["targets"] == 1 and timing["window_s"] > 0


@linux_only
def test_path_when_port_closed_the_rst_still_counts_as_reached():
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    (traced,) = paths(run_path([f"https://127.0.0.1:{port}/"]))
    assert traced["reached"] and traced["hops"][-1]["answered"] == traced["hops"][-1]["sent"]


@linux_only
def test_path_when_udp_method_port_unreachable_counts_as_reached():
    (traced,) = paths(run_path(["https://127.0.0.1:9/"], method="udp"))
    assert traced["method"] == "udp" and traced["reached"] and traced["destination_hop"] == 1


@linux_only
def test_path_when_ipv6_loopback_traced_reports_ipv6(listener):
    try:
        socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).connect(("::1", 9))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    (traced,) = paths(run_path(["https://[::1]:9/"], method="udp", families=["ipv6"]))
    assert traced["ip_family"] == "ipv6" and traced["reached"]


def test_path_when_no_endpoints_is_skipped():
    out = PathCheck().run(make_ctx(Settings(endpoints=[])))
    assert out.status == "skipped" and "endpoints" in out.summary


@linux_only
def test_path_when_option_is_bad_is_an_error_naming_it():
    out = run_path(["https://127.0.0.1/"], method="raw")
    assert out.status == "error" and "path.method" in out.summary


def test_path_when_not_linux_is_skipped(monkeypatch):
    monkeypatch.setattr(path_module.sys, "platform", "darwin")
    out = run_path(["https://127.0.0.1/"])
    assert out.status == "skipped" and "darwin" in out.summary


@linux_only
def test_path_when_ping_sockets_refused_icmp_is_skipped_with_the_reason(monkeypatch):
    real_socket = socket.socket

    def refuse(family: int = -1, kind: int = -1, proto: int = -1, *args: Any) -> socket.socket:
        if proto in (socket.IPPROTO_ICMP, socket.IPPROTO_ICMPV6):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_socket(family, kind, proto, *args)

    monkeypatch.setattr(path_module.socket, "socket", refuse)
    out = run_path(["https://127.0.0.1/"], method="icmp")
    assert out.status == "skipped" and "ping_group_range" in out.summary


@linux_only
def test_path_when_hostname_does_not_resolve_reports_it_and_skips(monkeypatch):
    def fail(host: str, port: int, *, timeout: float, family: int = 0) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(path_module.net, "resolve", fail)
    out = run_path(["https://pay.example.invalid/"])
    assert out.status == "skipped"
    assert out.evidence[0]["what"] == "path_unresolved" and out.evidence[0]["failure"] == "dns_nxdomain"


@linux_only
def test_path_when_cancelled_stops_with_check_cancelled(listener):
    settings = Settings(endpoints=[Endpoint(name="ep", url=f"https://127.0.0.1:{listener}/")],
                        path=PathConfig(families=["ipv4"]))
    ctx = make_ctx(settings)
    ctx.cancelled.set()
    with pytest.raises(CheckCancelled):
        PathCheck().run(ctx)


@linux_only
def test_path_when_deadline_leaves_no_window_is_skipped_not_ok(listener):
    out = run_path([f"https://127.0.0.1:{listener}/"], deadline_s=1.0, probe_timeout_s=0.8)
    assert out.status == "skipped" and "no time" in out.summary


def test_check_class_declares_opt_in_and_network():
    assert PathCheck.name == "path" and PathCheck.opt_in is True and PathCheck.needs_network is True
