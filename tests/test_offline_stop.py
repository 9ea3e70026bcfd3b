"""Offline early stop (issue 15): the connectivity check's ``net.offline`` and
``net.has_ipv6`` facts, and the runner stopping the checks that need the network.

The runner tests use small in-process checks that block on events, so nothing
depends on timing; the connectivity tests use fake psutil sources and a fake
check-URL fetch, so nothing touches a network.
"""

from __future__ import annotations

import errno
import socket
import threading
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import psutil
import pytest
from payprobe import classify as fc
from payprobe.api import Blackboard, CheckContext, Finding, Outcome
from payprobe.checks import connectivity
from payprobe.checks._captive import LOCAL_FAILURES
from payprobe.checks._interfaces import is_global_ipv6
from payprobe.checks.clock import ClockCheck
from payprobe.checks.connectivity import ConnectivityCheck
from payprobe.checks.device import DeviceCheck
from payprobe.checks.proxy import ProxyCheck
from payprobe.checks.resolution import DnsCheck
from payprobe.engine import config
from payprobe.engine.registry import LoadedCheck
from payprobe.engine.runner import OFFLINE_FACT, Runner, needs_network
from payprobe.host import HostInfo, detect

LINUX = HostInfo(platform="linux", termux=False, os="test", python="3")
OFFLINE_TEXT = "there is no default route: the device is not connected"
# Long enough that a test never waits it out: a check stopped early returns long before.
BLOCK_S = 30.0


def make(name: str, run: Callable[[CheckContext[Any]], Outcome], *, network: bool | None = None
         ) -> LoadedCheck:
    attrs: dict[str, Any] = {"name": name, "version": "3", "description": name,
                             "run": lambda self, ctx: run(ctx)}
    if network is not None:
        attrs["needs_network"] = network
    return LoadedCheck(name=name, target=f"test:{name}", cls=type(f"C_{name}", (), attrs))


def until_cancelled(seen: dict[str, bool]) -> Callable[[CheckContext[Any]], Outcome]:
    """A check that waits for its cancel event (a network check stuck in timeouts)."""
    def run(ctx: CheckContext[Any]) -> Outcome:
        seen[ctx.name] = ctx.cancelled.wait(BLOCK_S)
        ctx.check_cancelled()
        return Outcome(findings=[Finding("dns.slow", "warn", "should never be reported")])
    return run


def announce(value: Any, after: threading.Event | None = None) -> Callable[[CheckContext[Any]], Outcome]:
    """A stand-in for the connectivity check: puts net.offline (after ``after`` is set)."""
    def run(ctx: CheckContext[Any]) -> Outcome:
        if after is not None:
            after.wait(BLOCK_S)
        ctx.shared.put(OFFLINE_FACT, value)
        return Outcome(findings=[Finding("net.offline", "fail", f"offline: {value}")])
    return run


def run_checks(checks: list[LoadedCheck], deadline_s: float = BLOCK_S) -> dict[str, Any]:
    result = Runner(config.load(), detect()).run(checks, deadline_s=deadline_s)
    return {r.name: r for r in result.results}


# ---------------------------------------------------------------- the flag


def test_needs_network_when_declared_by_builtins_is_true_only_for_network_checks():
    def loaded(cls: type) -> LoadedCheck:
        return LoadedCheck(name=cls.name, target="t", cls=cls)  # type: ignore[attr-defined]

    assert needs_network(loaded(DnsCheck)) and needs_network(loaded(ClockCheck))
    assert not needs_network(loaded(ConnectivityCheck))
    assert not needs_network(loaded(ProxyCheck)) and not needs_network(loaded(DeviceCheck))


def test_needs_network_when_plugin_does_not_declare_it_is_false():
    assert needs_network(make("plugin", lambda ctx: Outcome())) is False
    # Only a real True counts: a truthy string is a mistake, not a declaration.
    assert needs_network(make("odd", lambda ctx: Outcome(), network="yes")) is False  # type: ignore[arg-type]
    assert needs_network(LoadedCheck(name="broken", target="t", cls=None, error="no")) is False


# ---------------------------------------------------------------- the runner


def test_runner_when_offline_fact_put_skips_running_network_checks_with_reason():
    seen: dict[str, bool] = {}
    res = run_checks([make("connectivity", announce(OFFLINE_TEXT)),
                      make("dns", until_cancelled(seen), network=True),
                      make("clock", until_cancelled(seen), network=True)])
    assert res["connectivity"].status == "fail"
    for name in ("dns", "clock"):
        assert res[name].status == "skipped", res[name]
        assert res[name].summary == f"the device is offline ({OFFLINE_TEXT})"
        assert res[name].findings == [] and res[name].error is None
        assert res[name].evidence == [{"what": "skipped", "because": "device_offline"}]
        assert res[name].duration_s < BLOCK_S
    # The stopped checks were told to stop (their threads end at the next ctx.timeout()).
    deadline = time.monotonic() + 5.0
    while len(seen) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert seen == {"dns": True, "clock": True}


def test_runner_when_offline_keeps_checks_that_do_not_need_the_network():
    dns_stopped = threading.Event()

    def dns(ctx: CheckContext[Any]) -> Outcome:
        if ctx.cancelled.wait(BLOCK_S):
            dns_stopped.set()
        ctx.check_cancelled()
        return Outcome()

    def device(ctx: CheckContext[Any]) -> Outcome:
        # Still running when the runner acts on the fact (it stops dns, listed after
        # this check, in the same pass): it must finish normally.
        dns_stopped.wait(BLOCK_S)
        return Outcome(summary="battery fine")

    res = run_checks([make("connectivity", announce(OFFLINE_TEXT)),
                      make("device", device, network=False), make("plugin", device),
                      make("dns", dns, network=True)])
    assert dns_stopped.is_set() and res["dns"].status == "skipped"
    assert (res["device"].status, res["device"].summary) == ("ok", "battery fine")
    assert (res["plugin"].status, res["plugin"].summary) == ("ok", "battery fine")


def test_runner_when_network_check_finished_before_the_fact_keeps_its_result():
    def dns(ctx: CheckContext[Any]) -> Outcome:
        return Outcome(findings=[Finding("dns.resolver_unreachable", "warn", "no answer")])

    # (The fact waits until the runner has taken dns's result: set from inside the
    # check, it could overtake the result and stop a check that had already ended.)
    res = run_after("dns", [make("dns", dns, network=True)], offline_after)
    # It was measured: its result stays (the diagnosis explains it by "offline").
    assert res["dns"].status == "warn"
    assert [f.code for f in res["dns"].findings] == ["dns.resolver_unreachable"]


@pytest.mark.parametrize("value", [None, False, "", 0])
def test_runner_when_fact_is_not_a_reason_does_not_stop_anything(value):
    gate = threading.Event()

    def dns(ctx: CheckContext[Any]) -> Outcome:
        gate.wait(BLOCK_S)
        return Outcome(summary="resolved")

    def connectivity_check(ctx: CheckContext[Any]) -> Outcome:
        ctx.shared.put(OFFLINE_FACT, value)
        gate.set()
        return Outcome()

    res = run_checks([make("connectivity", connectivity_check), make("dns", dns, network=True)])
    assert (res["dns"].status, res["dns"].summary) == ("ok", "resolved")


def test_runner_when_offline_does_not_start_run_last_network_check():
    started: list[str] = []

    def bandwidth(ctx: CheckContext[Any]) -> Outcome:
        started.append(ctx.name)
        return Outcome()

    res = run_checks([make("connectivity", announce(OFFLINE_TEXT)),
                      make("bandwidth", bandwidth, network=True)])
    assert started == []
    assert res["bandwidth"].status == "skipped"
    assert res["bandwidth"].summary == f"the device is offline ({OFFLINE_TEXT})"
    assert res["bandwidth"].duration_s == 0.0


def test_runner_when_online_runs_network_checks_to_the_end():
    res = run_checks([make("connectivity", lambda ctx: Outcome(summary="online")),
                      make("dns", lambda ctx: Outcome(summary="resolved"), network=True),
                      make("bandwidth", lambda ctx: Outcome(summary="fast"), network=True)])
    assert [(r.status, r.summary) for r in res.values()] == [
        ("ok", "online"), ("ok", "resolved"), ("ok", "fast")]


# ---------------------------------------------------------------- connectivity's facts


AF_INET, AF_INET6 = socket.AF_INET, socket.AF_INET6


def addr(family: int, address: str) -> Any:
    return SimpleNamespace(family=family, address=address, netmask=None, broadcast=None, ptp=None)


def counters(pernic: bool = False) -> Any:
    nic = SimpleNamespace(bytes_sent=0, bytes_recv=0, packets_sent=0, packets_recv=0,
                          errin=0, errout=0, dropin=0, dropout=0)
    return {"wlan0": nic}


class Phone:
    """psutil and the route as the connectivity check reads them (one Wi-Fi interface)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.addrs: dict[str, list[Any]] = {
            "lo": [addr(AF_INET, "127.0.0.1"), addr(AF_INET6, "::1")],
            "wlan0": [addr(AF_INET, "192.0.2.10"), addr(AF_INET6, "fe80::1%wlan0")]}
        self.up = True
        self.route: dict[str, Any] = {"ipv4": True, "ipv6": False, "interfaces": ["wlan0"],
                                      "method": "test"}
        self.fetch: Callable[[str, CheckContext[Any]], Any] = self.unreachable
        monkeypatch.setattr(psutil, "net_if_addrs", lambda: self.addrs)
        monkeypatch.setattr(psutil, "net_if_stats", lambda: {
            "lo": SimpleNamespace(isup=True, mtu=65536),
            "wlan0": SimpleNamespace(isup=self.up, mtu=1500)})
        monkeypatch.setattr(psutil, "net_io_counters", counters)
        monkeypatch.setattr(connectivity, "default_route", lambda ctx: dict(self.route))
        monkeypatch.setattr(connectivity, "captive_fetch", lambda url, ctx: self.fetch(url, ctx))
        monkeypatch.setattr(connectivity, "radio_commands", lambda ctx: [])

    def offline(self) -> None:
        self.up = False
        self.route = {"ipv4": False, "ipv6": False, "interfaces": [], "method": "test"}

    @staticmethod
    def unreachable(url: str, ctx: CheckContext[Any]) -> Any:
        raise OSError(errno.ENETUNREACH, "Network is unreachable")


@pytest.fixture
def phone(monkeypatch: pytest.MonkeyPatch) -> Phone:
    return Phone(monkeypatch)


def context(shared: Blackboard | None = None, urls: tuple[str, ...] = ("http://check.example/204",)
            ) -> CheckContext[Any]:
    settings = config.load(overrides={"connectivity": {"check_urls": list(urls)}})
    return CheckContext(name="connectivity", config=settings.section("connectivity"),
                        settings=settings, deadline=time.monotonic() + 10.0,
                        cancelled=threading.Event(), shared=shared or Blackboard(), host=LINUX)


def run_connectivity(urls: tuple[str, ...] = ("http://check.example/204",)
                     ) -> tuple[Outcome, Blackboard]:
    shared = Blackboard()
    return ConnectivityCheck().run(context(shared, urls)), shared


def evidence(out: Outcome, what: str) -> dict[str, Any]:
    (item,) = [e for e in out.evidence if e.get("what") == what]
    return item


MISSING = object()


def test_connectivity_when_no_interface_and_urls_unreachable_puts_net_offline(phone):
    phone.offline()
    out, shared = run_connectivity()
    (offline,) = [f for f in out.findings if f.code == "net.offline"]
    assert offline.severity == "fail" and offline.data == {"reason": "no_interface"}
    assert shared.get(OFFLINE_FACT) == "no network interface is up with an address"


def test_connectivity_when_no_route_and_dns_fails_inside_the_device_puts_net_offline(phone):
    phone.route = {"ipv4": False, "ipv6": False, "interfaces": [], "method": "test"}

    def no_resolver(url: str, ctx: CheckContext[Any]) -> Any:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    phone.fetch = no_resolver
    out, shared = run_connectivity()
    assert shared.get(OFFLINE_FACT) == OFFLINE_TEXT


@pytest.mark.parametrize("error", [
    ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),   # something answered
    TimeoutError("timed out"),                                         # a packet left the device
    PermissionError(errno.EPERM, "Operation not permitted"),          # a firewall, not offline
])
def test_connectivity_when_no_route_but_url_failure_is_not_local_puts_no_fact(phone, error):
    phone.offline()

    def fail(url: str, ctx: CheckContext[Any]) -> Any:
        raise error

    phone.fetch = fail
    out, shared = run_connectivity()
    # The finding still says offline (as before); only the early stop needs certainty.
    assert [f.data["reason"] for f in out.findings if f.code == "net.offline"] == ["no_interface"]
    assert shared.get(OFFLINE_FACT, default=MISSING) is MISSING


def test_connectivity_when_interface_and_route_up_but_urls_fail_puts_no_fact(phone):
    # Failing DNS or a dead upstream with a working link is "no internet" (warn), never offline.
    def no_resolver(url: str, ctx: CheckContext[Any]) -> Any:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    phone.fetch = no_resolver
    out, shared = run_connectivity()
    assert [(f.severity, f.data["reason"]) for f in out.findings if f.code == "net.offline"] == [
        ("warn", "all_failed")]
    assert shared.get(OFFLINE_FACT, default=MISSING) is MISSING


def test_connectivity_when_a_check_url_answers_despite_no_route_puts_no_fact(phone):
    phone.offline()
    phone.fetch = lambda url, ctx: (204, "", 0, 0.01)
    out, shared = run_connectivity()
    assert not [f for f in out.findings if f.code == "net.offline"]
    assert shared.get(OFFLINE_FACT, default=MISSING) is MISSING


def test_connectivity_when_portal_answers_puts_no_fact(phone):
    phone.offline()
    phone.fetch = lambda url, ctx: (302, "login.portal.example", 0, 0.01)
    out, shared = run_connectivity()
    assert [f.code for f in out.findings] == ["net.captive_portal"]
    assert shared.get(OFFLINE_FACT, default=MISSING) is MISSING


def test_connectivity_when_no_check_urls_puts_no_fact_even_without_interface(phone):
    phone.offline()
    out, shared = run_connectivity(urls=())
    assert shared.get(OFFLINE_FACT, default=MISSING) is MISSING


def test_local_failures_when_listed_hold_no_answer_from_outside():
    assert fc.NETWORK_UNREACHABLE in LOCAL_FAILURES and fc.DNS_TIMEOUT in LOCAL_FAILURES
    assert not {fc.CONNECTION_REFUSED, fc.GENERIC_TIMEOUT, fc.HTTP_STATUS_5XX,
                fc.PERMISSION_DENIED, fc.TLS_HANDSHAKE_FAILED} & LOCAL_FAILURES


def test_connectivity_when_offline_puts_the_fact_before_termux_api_answers(phone, monkeypatch):
    phone.offline()
    answer = threading.Event()
    shared = Blackboard()
    seen_before_answer: list[Any] = []

    def slow_radio(command: str, ctx: CheckContext[Any]) -> dict[str, Any]:
        # termux-api answers only once the offline fact is out (or the test gives up).
        seen_before_answer.append(shared.get(OFFLINE_FACT, timeout=BLOCK_S))
        answer.wait(BLOCK_S)
        return {"network_type": "lte"}

    monkeypatch.setattr(connectivity, "radio_commands", lambda ctx: ["termux-telephony-deviceinfo"])
    monkeypatch.setattr(connectivity, "ask_radio", slow_radio)
    box: list[Outcome] = []
    worker = threading.Thread(target=lambda: box.append(ConnectivityCheck().run(context(shared))))
    worker.start()
    assert shared.get(OFFLINE_FACT, timeout=BLOCK_S) == "no network interface is up with an address"
    assert not box   # the check itself is still waiting for termux-api
    answer.set()
    worker.join(BLOCK_S)
    assert seen_before_answer == ["no network interface is up with an address"]
    assert evidence(box[0], "cellular")["network_type"] == "lte"


# ---------------------------------------------------------------- IPv6


@pytest.mark.parametrize("address,expected", [
    ("240e:3b7:3272:d8d0::1", True), ("2408:8456:1a00::5%wlan0", True),
    ("fe80::1%wlan0", False), ("fd00::5", False), ("::1", False), ("2001:db8::10", False),
    ("ff02::1", False), ("not-an-address", False)])
def test_is_global_ipv6_when_address_given_tells_global_unicast(address, expected):
    assert is_global_ipv6(address) is expected


def test_connectivity_when_ipv6_route_and_global_address_reports_has_ipv6(phone):
    phone.addrs["wlan0"].append(addr(AF_INET6, "240e:3b7:3272:d8d0::10"))
    phone.route["ipv6"] = True
    out, shared = run_connectivity()
    assert evidence(out, "ipv6") == {"what": "ipv6", "has_ipv6": True, "default_route": True,
                                     "global_address": True}
    assert shared.get("net.has_ipv6") is True
    # The address itself never leaves the interfaces module.
    assert "240e" not in repr(out.evidence) + out.summary


@pytest.mark.parametrize("route_v6,address,expected", [
    (False, "240e:3b7:3272:d8d0::10", False),   # an address but no IPv6 default route
    (True, "fd00::10", False),                  # a route but only a ULA address
    (True, "fe80::2%wlan0", False),             # link-local only
])
def test_connectivity_when_route_or_global_address_missing_reports_no_ipv6(phone, route_v6, address,
                                                                            expected):
    phone.addrs["wlan0"].append(addr(AF_INET6, address))
    phone.route["ipv6"] = route_v6
    out, shared = run_connectivity()
    assert evidence(out, "ipv6")["has_ipv6"] is expected
    assert shared.get("net.has_ipv6") is expected


def test_connectivity_when_global_address_on_a_down_interface_reports_no_ipv6(phone):
    phone.addrs["wlan0"].append(addr(AF_INET6, "240e:3b7:3272:d8d0::10"))
    phone.route["ipv6"] = True
    phone.up = False
    out, _ = run_connectivity()
    assert evidence(out, "ipv6")["global_address"] is False


def test_connectivity_when_addresses_unreadable_reports_ipv6_unknown(phone, monkeypatch):
    def deny() -> Any:
        raise psutil.AccessDenied(pid=None, name="net", msg="permission denied")

    monkeypatch.setattr(psutil, "net_if_addrs", deny)
    phone.route["ipv6"] = True
    out, shared = run_connectivity()
    assert evidence(out, "ipv6") == {"what": "ipv6", "has_ipv6": None, "default_route": True,
                                     "global_address": None}
    assert shared.get("net.has_ipv6", default=MISSING) is None


def test_connectivity_when_fetching_check_urls_has_already_put_has_ipv6(phone):
    phone.addrs["wlan0"].append(addr(AF_INET6, "2408:8456:1a00::5"))
    phone.route["ipv6"] = True
    shared = Blackboard()
    seen: list[Any] = []

    def fetch(url: str, ctx: CheckContext[Any]) -> Any:
        seen.append(ctx.shared.get("net.has_ipv6", default=MISSING))
        return (204, "", 0, 0.01)

    phone.fetch = fetch
    ConnectivityCheck().run(context(shared))
    assert seen == [True]


# ---------------------------------------------------------------- end to end in the runner


def test_runner_with_real_connectivity_when_offline_skips_a_stuck_network_check(phone):
    phone.offline()
    seen: dict[str, bool] = {}
    connectivity_check = LoadedCheck(name="connectivity", target="t", cls=ConnectivityCheck)
    res = run_checks([connectivity_check, make("dns", until_cancelled(seen), network=True)])
    assert res["connectivity"].status == "fail"
    assert res["dns"].status == "skipped"
    assert res["dns"].summary == ("the device is offline "
                                  "(no network interface is up with an address)")


# ------------------------------------------- an error the offline fact explains


def fails_with(exc: BaseException) -> Callable[[CheckContext[Any]], Outcome]:
    def run(ctx: CheckContext[Any]) -> Outcome:
        raise exc
    return run


def no_name() -> socket.gaierror:
    return socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")


class Ended:
    """Progress that sets an event once the runner has taken a check's result."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.event = threading.Event()

    def started(self, name: str) -> None:
        pass

    def finished(self, result: Any) -> None:
        if result.name == self.name:
            self.event.set()


def run_after(first: str, checks: list[LoadedCheck], then: Callable[[threading.Event], LoadedCheck]
              ) -> dict[str, Any]:
    """Run ``checks`` and ``then(ended)``, whose check waits until the runner has taken
    ``first``'s result: "finished before the fact" without depending on timing."""
    ended = Ended(first)
    result = Runner(config.load(), detect(), progress=ended).run(
        [*checks, then(ended.event)], deadline_s=BLOCK_S)
    return {r.name: r for r in result.results}


def offline_after(ended: threading.Event) -> LoadedCheck:
    return make("connectivity", announce(OFFLINE_TEXT, after=ended))


def online_after(ended: threading.Event) -> LoadedCheck:
    return make("connectivity", lambda ctx: (ended.wait(BLOCK_S), Outcome(summary="online"))[1])


def test_runner_when_network_check_errored_before_the_fact_becomes_skipped_and_keeps_the_error():
    # The endpoints check of a real offline run: every name failed at once, before
    # connectivity had its verdict. "error, see the dns check" next to a dns check
    # that says "skipped: offline" sent people in a circle.
    res = run_after("endpoints", [make("endpoints", fails_with(no_name()), network=True)], offline_after)
    endpoints = res["endpoints"]
    assert endpoints.status == "skipped", endpoints
    assert endpoints.summary == f"the device is offline ({OFFLINE_TEXT})"
    assert endpoints.error is None and endpoints.findings == []
    [evidence] = endpoints.evidence
    assert evidence["because"] == "device_offline"
    assert evidence["before"]["status"] == "error"
    assert evidence["before"]["error"] == fc.classify(no_name())
    assert "Temporary failure in name resolution" in evidence["before"]["summary"]


def test_runner_when_network_check_errored_and_device_online_keeps_the_error():
    res = run_after("endpoints", [make("endpoints", fails_with(no_name()), network=True)], online_after)
    assert res["connectivity"].summary == "online"
    assert res["endpoints"].status == "error"
    assert res["endpoints"].error == fc.classify(no_name())


def test_runner_when_offline_keeps_errors_of_checks_that_do_not_need_the_network():
    res = run_after("device", [make("device", fails_with(PermissionError(13, "denied")), network=False)],
                    offline_after)
    assert res["device"].status == "error" and res["device"].error == fc.PERMISSION_DENIED


def test_runner_when_offline_keeps_an_unclassified_error_visible():
    # Most likely a bug in the check: being offline does not explain it away.
    res = run_after("dns", [make("dns", fails_with(KeyError("oops")), network=True)], offline_after)
    assert res["dns"].status == "error" and res["dns"].error == fc.UNKNOWN_FAILURE
