"""Lab scenarios for the proxy check (issue 5): tinyproxy, proxy variables with
credentials, a VPN's tun0 taking the default route. The real CLI in the lab."""

from __future__ import annotations

from typing import Any

import pytest

from tests.lab.results import codes, evidence, finding, findings

# Distinctive, so a grep for them cannot match anything else in a report.
PROXY_USER = "ppuser7q"
PROXY_PASSWORD = "Zx9-secret-4kT"
FORMATS = ("text", "markdown", "html", "prometheus", "json")


def _run(lab: Any, only: str, *, env: dict[str, str] | None = None, **overrides: Any) -> Any:
    overrides.setdefault("deadline_s", 5.0)
    overrides.setdefault("latency", {"samples": 1, "icmp": False})
    return lab.payprobe("run", "--only", only, config=lab.write_config(**overrides), env=env)


def _renderings(lab: Any, result: Any) -> dict[str, str]:
    """The saved report rendered by ``payprobe show`` in every format."""
    path = lab.dir / "report-under-test.json"
    path.write_text(result.stdout)
    out = {}
    for fmt in FORMATS:
        shown = lab.payprobe("show", str(path), "--format", fmt)
        assert shown.returncode == 0, (fmt, shown.stderr)
        out[fmt] = shown.stdout + shown.stderr
    return out


@pytest.mark.lab
def test_proxy_when_env_vars_hold_credentials_reports_them_without_the_secrets(lab):
    proxy = lab.proxy(user=PROXY_USER, password=PROXY_PASSWORD)
    env = {**proxy.env, "ALL_PROXY": f"socks5h://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:7891"}
    result = _run(lab, "proxy,connectivity,endpoints,clock", env=env)
    check = result.check("proxy")
    variables = {f["target"]: f for f in findings(check, "proxy.env")}
    assert set(variables) == {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"}
    for f in variables.values():
        assert f["data"]["has_credentials"] is True
        assert f["data"]["loopback"] is True
    assert variables["ALL_PROXY"]["data"]["scheme"] == "socks5h"
    assert variables["HTTP_PROXY"]["data"]["port"] == 7890
    # payprobe measures the device's own path: the proxy variables must not
    # route its probes through tinyproxy (which would hide what apps see).
    assert result.check("endpoints")["status"] == "ok"
    assert result.returncode == 1   # warnings only

    outputs = {"run stdout": result.stdout, "run stderr": result.stderr, **_renderings(lab, result)}
    for name, text in outputs.items():
        assert text.strip(), name
        for secret in (PROXY_USER, PROXY_PASSWORD):
            assert secret not in text, f"{secret!r} leaked into {name}"


@pytest.mark.lab
def test_proxy_when_tinyproxy_listens_on_a_local_port_reports_local_listener(lab):
    lab.proxy(port=7890, user=None, password=None)
    # Redacted (the default): loopback says nothing about the device, so it stays.
    result = lab.payprobe("run", "--only", "proxy", config=lab.write_config(deadline_s=5.0))
    check = result.check("proxy")
    listener = finding(check, "proxy.local_listener")
    assert listener["target"] == "127.0.0.1:7890"
    assert listener["data"]["port"] == 7890
    assert "Clash" in listener["message"]   # the usual owner of 7890
    assert codes(check) == ["proxy.local_listener"]    # no variables were set
    assert result.returncode == 1


@pytest.mark.lab
def test_proxy_when_listener_port_not_in_local_ports_reports_nothing(lab):
    lab.proxy(port=8118, user=None, password=None)
    result = _run(lab, "proxy")
    assert codes(result.check("proxy")) == []
    assert result.returncode == 0


@pytest.mark.lab
def test_proxy_when_tun0_takes_default_route_reports_vpn_interface_on_default_route(lab):
    lab.vpn(name="tun0")
    result = _run(lab, "proxy")
    check = result.check("proxy")
    vpn = finding(check, "vpn.interface", "tun0")
    assert vpn["data"]["default_route"] is True
    assert "default route" in vpn["message"]
    (interfaces,) = evidence(check, "vpn_interfaces")
    assert interfaces["up"] == ["tun0"] and "tun0" in interfaces["default_route"]
    assert result.returncode == 1


@pytest.mark.lab
def test_proxy_when_vpn_splits_default_route_in_two_halves_reports_default_route(lab):
    # OpenVPN's redirect-gateway def1 (and many VPN apps) add 0.0.0.0/1 and
    # 128.0.0.0/1 instead of replacing the default route: all traffic still goes there.
    lab.vpn(name="tun0", split=True)
    check = _run(lab, "proxy").check("proxy")
    assert finding(check, "vpn.interface", "tun0")["data"]["default_route"] is True


@pytest.mark.lab
def test_proxy_when_healthy_reports_nothing(lab):
    result = _run(lab, "proxy")
    check = result.check("proxy")
    assert codes(check) == []
    assert check["summary"].startswith("no proxy or VPN found")
    assert result.returncode == 0
