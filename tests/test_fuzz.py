"""Fuzzing the two inputs people hand us: config files and saved reports.

Any input gives either a result or one clear error with exit 64, never a traceback.
"""

from __future__ import annotations

import json
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from payprobe.engine import config
from payprobe.engine.errors import ConfigError

from tests.helpers import run_cli

KEYS = ["deadline_s", "lang", "ca_file", "dns", "tls", "clock", "latency", "proxy", "bandwidth",
        "device", "endpoints", "connectivity", "names", "resolvers", "slow_ms", "samples",
        "warn_ms", "url", "name", "address", "protocol", "ntp_servers", "plugins", "bogus"]

toml_scalars = st.one_of(
    st.integers(min_value=-10**6, max_value=10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: repr(f).replace("inf", "inf")),
    st.booleans().map(lambda b: "true" if b else "false"),
    st.text(alphabet=string.printable, max_size=20).map(json.dumps),
    st.just("[]"), st.just("{}"), st.just('["a", 1]'), st.just('[{ name = "x" }]'),
)
toml_line = st.one_of(
    st.tuples(st.sampled_from(KEYS), toml_scalars).map(lambda kv: f"{kv[0]} = {kv[1]}"),
    st.sampled_from(KEYS).map(lambda k: f"[{k}]"),
    st.sampled_from(KEYS).map(lambda k: f"[[{k}]]"),
    st.text(max_size=30),
)
toml_docs = st.lists(toml_line, max_size=12).map("\n".join)

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@FUZZ
@given(doc=toml_docs)
def test_config_loader_gives_settings_or_one_config_error(tmp_path_factory, doc):
    path = tmp_path_factory.mktemp("cfg") / "c.toml"
    path.write_text(doc, encoding="utf-8")
    try:
        s = config.load(path)
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith(str(path))
        assert "\n" not in message.strip() or "invalid TOML" in message
    else:
        assert s.deadline_s >= 0.5


@FUZZ
@given(raw=st.binary(max_size=200))
def test_config_loader_survives_arbitrary_bytes(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("cfgb") / "c.toml"
    path.write_bytes(raw)
    try:
        config.load(path)
    except ConfigError:
        pass


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(max_size=10)),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=8), children, max_size=4)),
    max_leaves=20,
)


def _valid_report() -> dict:
    return {
        "schema_version": 1, "tool": {"name": "payprobe", "version": "0.1.0"},
        "run_id": "12345678-1234-1234-1234-123456789abc", "started_at": "2026-11-26T01:02:03.123Z",
        "duration_s": 1.0, "trigger": "manual", "partial": False, "redacted": True,
        "host": {"platform": "linux", "termux": False, "os": "Linux", "python": "3.11.7"},
        "status": "healthy", "causes": [],
        "checks": [{"name": "device", "version": "1", "status": "ok", "duration_s": 0.1,
                    "summary": "fine", "metrics": [], "findings": [], "error": None}],
    }


@FUZZ
@given(key=st.sampled_from(["status", "checks", "causes", "host", "run_id", "started_at", "partial"]),
       value=json_values)
def test_show_of_a_mutated_report_renders_or_exits_64(tmp_path_factory, key, value):
    report = _valid_report()
    report[key] = value
    path = tmp_path_factory.mktemp("rep") / "r.json"
    path.write_text(json.dumps(report))
    for fmt in ("text", "json", "markdown", "html", "prometheus"):
        res = run_cli("show", str(path), "--format", fmt)
        assert res.exit_status in (0, 64), res.stderr
        assert "Traceback" not in res.stderr
        if res.exit_status == 64:
            assert res.stderr.startswith("payprobe: ") and res.stderr.count("\n") == 1


@FUZZ
@given(raw=st.binary(max_size=300))
def test_show_of_arbitrary_bytes_exits_64(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("raw") / "r.json"
    path.write_bytes(raw)
    res = run_cli("show", str(path))
    assert res.exit_status in (0, 64)
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr
