"""proxy: env/system proxy settings, local listeners, VPN interfaces and routes, client processes."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from payprobe.api import CheckContext, Outcome
from payprobe.checks import _vpn
from payprobe.checks import proxy as proxy_mod
from payprobe.checks._vpn import is_vpn_interface
from payprobe.checks.proxy import ProxyCheck, describe_proxy_url, parse_scutil_proxy
from payprobe.engine import config
from payprobe.engine.registry import LoadedCheck
from payprobe.engine.runner import Runner
from payprobe.host import HostInfo

from tests.helpers import LINUX, TERMUX, findings, make_ctx
from tests.servers import closed_port, idle_listener


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """No proxy variables from the machine running the tests; no real VPN state."""
    for var in list(os.environ):
        if var.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "ftp_proxy"):
            monkeypatch.delenv(var)
    monkeypatch.setattr(_vpn, "interface_states", lambda sources: {"lo": True, "eth0": True})
    monkeypatch.setattr(_vpn, "default_route_interfaces",
                        lambda ctx, sources, platform: {"eth0"})


@pytest.fixture
def listener() -> Iterator[int]:
    with idle_listener() as port:
        yield port


def proxy_ctx(ports: list[int], host: HostInfo = LINUX) -> CheckContext[Any]:
    settings = config.load(overrides={"proxy": {"local_ports": ports}})
    return make_ctx(settings.proxy, settings=settings, deadline_s=5.0, host=host)


def run(ports: list[int] | None = None, host: HostInfo = LINUX) -> Outcome:
    return ProxyCheck().run(proxy_ctx(ports or [], host))


# ---------------------------------------------------------------- parsing


def test_describe_proxy_url_with_credentials_keeps_only_scheme_and_flag():
    s = describe_proxy_url("http://alice:s3cret@127.0.0.1:3128")
    assert (s.scheme, s.has_credentials, s.port, s.loopback_host) == ("http", True, 3128, "127.0.0.1")
    remote = describe_proxy_url("socks5h://bob:pw@proxy.corp.example:1080")
    assert remote.loopback_host is None and remote.has_credentials
    text = json.dumps(remote.data()) + remote.words()
    assert "bob" not in text and "pw" not in text and "corp" not in text


def test_describe_proxy_url_when_unparseable_is_marked_invalid_without_secrets():
    s = describe_proxy_url("http://u:p@[broken")
    assert s.valid is False and s.has_credentials is True
    assert "u:p" not in json.dumps(s.data())


@pytest.mark.parametrize(("name", "vpn"), [
    ("tun0", True), ("tap1", True), ("wg0", True), ("ppp0", True), ("utun3", True),
    ("ipsec0", True), ("tailscale0", True), ("tunl0", False), ("sit0", False),
    ("ip6tnl0", False), ("v4-rmnet_data0", False), ("eth0", False), ("wlan0", False),
])
def test_is_vpn_interface_when_given_a_name_knows_vpns_from_kernel_tunnels(name, vpn):
    assert is_vpn_interface(name) is vpn


def test_parse_scutil_proxy_reads_enabled_proxies_and_pac():
    text = """<dictionary> {
  ExceptionsList : <array> {
    0 : *.local
  }
  HTTPEnable : 1
  HTTPPort : 7890
  HTTPProxy : 127.0.0.1
  ProxyAutoConfigEnable : 1
  ProxyAutoConfigURLString : http://wpad.example/proxy.pac
}"""
    keys = parse_scutil_proxy(text)
    assert keys["HTTPEnable"] == "1" and keys["HTTPPort"] == "7890"
    assert keys["ProxyAutoConfigURLString"] == "http://wpad.example/proxy.pac"


def test_proxy_on_macos_reports_scutil_proxies_and_pac(monkeypatch):
    text = ("<dictionary> {\n  HTTPSEnable : 1\n  HTTPSPort : 7890\n  HTTPSProxy : 127.0.0.1\n"
            "  ProxyAutoConfigEnable : 1\n  ProxyAutoConfigURLString : http://u:pw@pac.example/p.pac\n}\n")

    def fake_run(argv, **kw):
        assert argv == ["scutil", "--proxy"] and kw["timeout"] > 0
        return SimpleNamespace(stdout=text, returncode=0)

    monkeypatch.setattr(proxy_mod.subprocess, "run", fake_run)
    mac = HostInfo(platform="darwin", termux=False, os="Darwin", python="3.11")
    outcome = run([], host=mac)
    system = findings(outcome, "proxy.system")
    assert {f.target for f in system} == {"scutil", "pac"}
    https = next(f for f in system if f.target == "scutil")
    assert https.data["host"] == "127.0.0.1" and https.data["port"] == 7890
    assert "pac.example" not in json.dumps([f.to_dict() for f in outcome.findings])
    assert "pw" not in json.dumps(outcome.evidence)


# ---------------------------------------------------------------- env


def test_proxy_env_with_credentials_never_appear_in_the_result(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://alice:s3cret@127.0.0.1:3128")
    monkeypatch.setenv("all_proxy", "socks5://bob:hunter2@proxy.corp.example:1080")
    monkeypatch.setenv("no_proxy", "intranet.corp.example,localhost")
    settings = config.load(overrides={"proxy": {"local_ports": []}})
    runner = Runner(settings, LINUX)
    check = LoadedCheck(name="proxy", target="payprobe.checks.proxy:ProxyCheck", cls=ProxyCheck)
    result = runner.run([check], deadline_s=5).results[0]
    assert result.status == "warn"
    env = {f.target: f for f in result.findings if f.code == "proxy.env"}
    assert set(env) == {"HTTPS_PROXY", "all_proxy"}
    assert env["HTTPS_PROXY"].data == {"scheme": "http", "has_credentials": True, "port": 3128,
                                       "loopback": True, "host": "127.0.0.1"}
    assert env["all_proxy"].data["scheme"] == "socks5"
    assert "host" not in env["all_proxy"].data
    text = json.dumps(result.to_dict())
    for secret in ("alice", "s3cret", "bob", "hunter2", "corp.example", "intranet"):
        assert secret not in text, secret
    # Linux getproxies() is the environment again: no duplicate proxy.system.
    assert not [f for f in result.findings if f.code == "proxy.system"]


def test_proxy_env_pac_url_is_reported_as_system_proxy(monkeypatch):
    monkeypatch.setenv("PAC_URL", "http://wpad.corp.example/wpad.dat.pac")
    outcome = run([])
    pac = findings(outcome, "proxy.system")
    assert len(pac) == 1 and pac[0].target == "pac" and pac[0].data["kind"] == "pac"
    assert "corp.example" not in json.dumps(pac[0].to_dict())


def test_proxy_when_getproxies_reports_a_system_proxy_flags_it(monkeypatch):
    import urllib.request
    monkeypatch.setattr(urllib.request, "getproxies",
                        lambda: {"https": "http://10.1.2.3:8080", "no": "local"})
    outcome = run([])
    system = findings(outcome, "proxy.system")
    assert len(system) == 1 and system[0].data["for"] == "https"
    assert "10.1.2.3" not in json.dumps(system[0].to_dict())


# ---------------------------------------------------------------- listeners


def test_proxy_local_listener_when_a_port_is_open_warns(listener):
    outcome = run([listener, closed_port()])
    found = findings(outcome, "proxy.local_listener")
    assert [f.target for f in found] == [f"127.0.0.1:{listener}"]
    assert found[0].data["port"] == listener
    assert outcome.resolved_status() == "warn"


def test_proxy_local_listener_names_the_well_known_client(monkeypatch):
    monkeypatch.setattr(proxy_mod, "KNOWN_PORTS", {**proxy_mod.KNOWN_PORTS})
    with idle_listener() as port:
        proxy_mod.KNOWN_PORTS[port] = "Clash (mixed/HTTP port)"
        finding = findings(run([port]), "proxy.local_listener")[0]
    assert "Clash" in finding.message and finding.data["client"].startswith("Clash")


def test_proxy_when_nothing_is_found_is_ok_and_states_the_android_limit():
    outcome = run([closed_port()], host=TERMUX)
    assert outcome.findings == [] and outcome.resolved_status() == "ok"
    assert "no proxy or VPN found" in outcome.summary
    assert "per-app VPN" in outcome.summary and "Termux" in outcome.summary


# ---------------------------------------------------------------- VPN


def test_vpn_interface_with_the_default_route_warns(monkeypatch):
    monkeypatch.setattr(_vpn, "interface_states",
                        lambda sources: {"tun0": True, "tunl0": True, "wlan0": True,
                                               "wg1": False})
    monkeypatch.setattr(_vpn, "default_route_interfaces",
                        lambda ctx, sources, platform: {"tun0"})
    outcome = run([])
    vpn = findings(outcome, "vpn.interface")
    assert [(f.target, f.data["default_route"]) for f in vpn] == [("tun0", True)]
    assert "default route" in vpn[0].message


def test_vpn_on_macos_utun_without_the_route_is_not_a_vpn(monkeypatch):
    monkeypatch.setattr(_vpn, "interface_states",
                        lambda sources: {"utun0": True, "utun1": True, "en0": True})
    monkeypatch.setattr(_vpn, "default_route_interfaces",
                        lambda ctx, sources, platform: {"en0"})
    monkeypatch.setattr(proxy_mod.subprocess, "run",
                        lambda *a, **k: SimpleNamespace(stdout="", returncode=0))
    mac = HostInfo(platform="darwin", termux=False, os="Darwin", python="3.11")
    assert findings(run([], host=mac), "vpn.interface") == []
    monkeypatch.setattr(_vpn, "default_route_interfaces",
                        lambda ctx, sources, platform: {"utun1"})
    assert [f.target for f in findings(run([], host=mac), "vpn.interface")] == ["utun1"]


def test_vpn_interface_up_without_default_route_on_linux_still_warns(monkeypatch):
    monkeypatch.setattr(_vpn, "interface_states", lambda sources: {"wg0": True, "eth0": True})
    finding = findings(run([]), "vpn.interface")[0]
    assert finding.data["default_route"] is False


def test_vpn_real_sources_on_this_machine_do_not_crash(monkeypatch):
    monkeypatch.undo()   # the real interface states and /proc routes
    outcome = ProxyCheck().run(proxy_ctx([]))
    sources = next(e for e in outcome.evidence if e["what"] == "sources")["sources"]
    assert sources["interfaces"] == "ok" and sources["routes"] == "ok"


def test_vpn_routes_unreadable_degrade_with_a_reason(monkeypatch):
    monkeypatch.undo()
    import builtins
    real_open = builtins.open

    def deny(path, *a, **k):
        if str(path).startswith("/proc/net/"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *a, **k)

    monkeypatch.setattr(builtins, "open", deny)
    outcome = ProxyCheck().run(proxy_ctx([]))
    sources = next(e for e in outcome.evidence if e["what"] == "sources")["sources"]
    assert sources["routes"].startswith("skipped: ") and "Permission denied" in sources["routes"]


# ---------------------------------------------------------------- processes


def test_processes_when_access_denied_are_skipped_with_the_reason(monkeypatch):
    psutil = pytest.importorskip("psutil")

    def denied(*a, **k):
        raise psutil.AccessDenied(pid=1)

    monkeypatch.setattr(psutil, "process_iter", denied)
    outcome = run([], host=TERMUX)
    sources = next(e for e in outcome.evidence if e["what"] == "sources")["sources"]
    assert sources["processes"].startswith("skipped: AccessDenied")
    assert outcome.resolved_status() == "ok"


def test_processes_of_known_clients_are_named_in_vpn_findings(monkeypatch):
    psutil = pytest.importorskip("psutil")
    procs = [SimpleNamespace(info={"name": n}) for n in ("bash", "clash-meta", "tailscaled", "xray")]
    monkeypatch.setattr(psutil, "process_iter", lambda attrs=None: iter(procs))
    monkeypatch.setattr(_vpn, "interface_states", lambda sources: {"tailscale0": True})
    outcome = run([])
    assert next(e for e in outcome.evidence if e["what"] == "vpn_processes")["clients"] == \
        ["clash", "tailscaled", "xray"]
    assert findings(outcome, "vpn.interface")[0].data["clients"] == ["clash", "tailscaled", "xray"]
