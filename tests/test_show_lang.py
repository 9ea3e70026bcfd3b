"""Report text is made at render time (issue 14, item 2): `show --lang en|zh` re-makes
every word of any report from the codes and parameters it keeps; a report without
them (an older payprobe) renders as stored."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from payprobe.reports.diagnosis import diagnose
from payprobe.reports.model import validate
from payprobe.reports.render import render
from payprobe.reports.wording import endpoint_names, in_language
from payprobe.settings import Endpoint, Settings

from tests.diagnosis_runs import ENDPOINTS, Run
from tests.helpers import run_cli
from tests.test_render import sample_report

CJK = re.compile(r"[\u3400-\u9fff\uff08\uff09\uff0c\uff1a\uff1b\u3001\u3002]")


def _save(tmp_path: Path, report: dict[str, Any], name: str = "r.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    return path


def _people_part(text: str) -> str:
    """The text rendering up to the checks table: the words diagnosis made."""
    return text.split("\nChecks\n")[0].split("\n检查项\n")[0]


def test_in_language_when_english_report_made_chinese_equals_a_chinese_run() -> None:
    en, zh = sample_report("en"), sample_report("zh")
    remade = in_language(en, "zh")  # type: ignore[arg-type]
    assert remade["causes"] == zh["causes"]
    assert remade["summary"] == zh["summary"]
    assert remade["lang"] == "zh"
    back = in_language(zh, "en")  # type: ignore[arg-type]
    assert back["causes"] == en["causes"] and back["summary"] == en["summary"]


def test_show_when_chinese_report_asked_in_english_has_no_chinese_words(tmp_path: Path) -> None:
    path = _save(tmp_path, sample_report("zh"))
    res = run_cli("show", str(path), "--lang", "en")
    assert res.exit_status == 0, res.stderr
    assert "Most likely cause: The phone's clock is wrong." in res.stdout
    assert "Turn on automatic date and time" in res.stdout
    assert not CJK.search(res.stdout), CJK.findall(res.stdout)


def test_show_when_english_report_asked_in_chinese_re_makes_causes_verdict_and_next_steps(tmp_path: Path) -> None:
    path = _save(tmp_path, sample_report("en"))
    res = run_cli("show", str(path), "-l", "zh")
    assert res.exit_status == 0, res.stderr
    people = _people_part(res.stdout)
    assert "最可能的原因：手机时间不准。" in people and "慢了 2 小时" in people
    assert "抖音支付" in people and "已排除" in people
    # Nothing English left in what diagnosis said (the run id line and checks come later).
    assert not re.search(r"[A-Za-z]{4,}", people.replace("payprobe", "").replace("Wi-Fi", "")
                         .replace("DNS", "").replace("VPN", "")), people


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_show_when_language_differs_re_makes_markdown_and_html_too(tmp_path: Path, fmt: str) -> None:
    path = _save(tmp_path, sample_report("zh"))
    out = run_cli("show", str(path), "--lang", "en", "--format", fmt).stdout
    assert "The phone&#x27;s clock is wrong" in out or "The phone's clock is wrong" in out
    assert "手机时间不准" not in out and "慢了" not in out


def test_show_json_when_lang_asked_re_makes_the_text_fields_and_keeps_the_keys(tmp_path: Path) -> None:
    zh = sample_report("zh")
    path = _save(tmp_path, zh)
    out = json.loads(run_cli("show", str(path), "--lang", "en", "--format", "json").stdout)
    assert out["lang"] == "en" and out["causes"][0]["title"] == "The phone's clock is wrong"
    assert out["causes"][0]["params"] == zh["causes"][0]["params"]
    assert out["summary"]["verdict_code"] == "cause" and validate(out) == []
    kept = json.loads(run_cli("show", str(path), "--format", "json").stdout)
    assert kept["causes"] == zh["causes"]   # without --lang the JSON is the report as saved


def test_show_when_report_has_no_keys_renders_the_stored_text(tmp_path: Path) -> None:
    old = sample_report("zh")
    for cause in old["causes"]:
        for key in ("params", "remedy_keys", "variant"):
            cause.pop(key, None)
    for key in ("verdict_params", "ruled_out_keys", "next_step_keys"):
        old["summary"].pop(key)
    res = run_cli("show", str(_save(tmp_path, old)), "--lang", "en")
    assert res.exit_status == 0, res.stderr
    assert "手机时间不准" in res.stdout and "Causes" in res.stdout   # stored words, English headings
    assert in_language(old, "en")["lang"] == "zh"  # type: ignore[arg-type]  # not claimed to be English


@pytest.mark.parametrize("params", [{"detail": {"nonsense": [1, 2]}}, {"detail": {"key": 3}}, "not an object",
                                    {"offset": {"list": "x", "sep": "list_sep"}},
                                    {"offset": {"list": [], "sep": "{0.__class__}"}}])
def test_in_language_when_params_are_malformed_keeps_that_cause_as_stored(params: Any) -> None:
    report = sample_report("zh")
    report["causes"][0]["params"] = params
    remade = in_language(report, "en")  # type: ignore[arg-type]
    assert remade["causes"][0]["title"] == "手机时间不准"
    assert remade["summary"]["verdict"].startswith("Most likely cause")
    assert remade["lang"] == "zh"


def test_in_language_when_summary_keys_are_malformed_keeps_the_stored_summary() -> None:
    report = sample_report("zh")
    report["summary"]["ruled_out_keys"] = [1, 2]
    remade = in_language(report, "en")  # type: ignore[arg-type]
    assert remade["summary"]["verdict"].startswith("最可能的原因")
    assert remade["causes"][0]["title"] == "The phone's clock is wrong"


def test_diagnose_when_config_names_an_endpoint_in_chinese_uses_it_and_keeps_the_name_in_english() -> None:
    settings = Settings(endpoints=[Endpoint(n, f"https://{h}/", p, display_name_zh="条纹支付" if p == "stripe" else "")
                                   for n, p, h in ENDPOINTS])
    checks = Run().down("Stripe API", "connection_refused").checks()
    causes, _ = diagnose(checks, lang="zh", settings=settings)  # type: ignore[arg-type]
    assert causes[0]["code"] == "payment_service_outage"
    assert "条纹支付" in causes[0]["explanation"] and "Stripe API" not in causes[0]["explanation"]
    assert causes[0]["params"]["detail"]["list"][0]["params"]["where"]["list"] == [{"endpoint": "Stripe API"}]
    names = endpoint_names(settings.endpoints)
    assert names == {"Stripe API": {"zh": "条纹支付"}}
    report = {**sample_report("en"), "causes": causes, "endpoint_names": names}
    assert "条纹支付" not in in_language(report, "en")["causes"][0]["explanation"]  # type: ignore[arg-type]
    assert "条纹支付" in in_language(report, "zh")["causes"][0]["explanation"]  # type: ignore[arg-type]
    assert validate(report) == []


def test_render_when_chinese_uses_builtin_display_names_for_endpoint_targets_and_charts() -> None:
    report = sample_report("en")
    zh_html = render(report, "html", lang="zh")  # type: ignore[arg-type]
    assert "<h3>银联支付网关</h3>" in zh_html and "（银联支付网关）" in zh_html
    en_html = render(report, "html", lang="en")  # type: ignore[arg-type]
    assert "<h3>UnionPay Gateway</h3>" in en_html and "银联" not in en_html


def test_render_when_chinese_shows_finding_titles_and_check_lines_from_the_catalog() -> None:
    report = sample_report("zh")
    text = render(report, "text", lang="zh")  # type: ignore[arg-type]
    assert "证书尚未生效（gateway.95516.com）：按手机的时间" in text
    assert "发现 1 个问题" in text and "未发现问题" in text
    assert "certificate not valid before" not in text and "2 of 2 check URLs" not in text
    # Evidence stays as measured: the HTML keeps the check's own message under the finding.
    assert "certificate not valid before 2026-11-26T03:00:00Z" in render(report, "html", lang="zh")  # type: ignore[arg-type]
    en = render(report, "text", lang="en")  # type: ignore[arg-type]
    assert "certificate not valid before" in en and "2 of 2 check URLs answered 204" in en


def test_reader_when_endpoint_names_are_not_text_rejects_the_report() -> None:
    report = copy.deepcopy(sample_report("en"))
    report["endpoint_names"] = {"Stripe API": {"zh": 3}}
    assert validate(report) != []
    report["endpoint_names"] = {"Stripe API": {"zh": "条纹支付"}}
    report["causes"][0]["remedy_keys"] = "auto_time"
    assert validate(report) != []


def test_finish_report_when_config_names_endpoints_in_chinese_keeps_the_names_in_the_report(tmp_path: Path) -> None:
    from payprobe.engine import config
    from payprobe.engine.results import RunResult
    from payprobe.host import detect
    from payprobe.reports.pipeline import finish_report
    path = tmp_path / "c.toml"
    path.write_text('[[endpoints]]\nname = "My Pay"\nprovider = "mypay"\nurl = "https://pay.example.com/"\n'
                    'display_name_zh = "我的支付"\n', encoding="utf-8")
    settings = config.load(path)
    report = finish_report(RunResult(started_at=1.7e9, duration_s=0.1, results=[]), settings=settings,
                           host=detect(), lang="en", trigger="test")
    assert report["endpoint_names"] == {"My Pay": {"zh": "我的支付"}}
    assert validate(json.loads(json.dumps(report))) == []


@pytest.mark.parametrize("value,needle", [('"a\\u001b[31m"', "printable"), ('"' + "长" * 41 + '"', "at most 40"),
                                          ("3", "expected a string")])
def test_config_when_display_name_is_bad_is_one_error_naming_the_key(tmp_path: Path, value: str, needle: str) -> None:
    from payprobe.engine import config
    from payprobe.engine.errors import ConfigError
    path = tmp_path / "c.toml"
    path.write_text(f'[[endpoints]]\nname = "My Pay"\nurl = "https://pay.example.com/"\ndisplay_name_zh = {value}\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    assert "endpoints[0].display_name_zh" in str(caught.value) and needle in str(caught.value)


def test_redacted_report_when_re_made_in_another_language_never_shows_the_raw_address() -> None:
    from payprobe.reports.redact import Secrets, redact_report

    from tests.test_diagnosis_path import hop, path_check, with_checks
    causes, summary = with_checks(path_check([hop("Alipay OpenAPI", "local", 1)])).diagnose("en")
    assert "192.168.1.1" in causes[0]["explanation"]
    report = {**sample_report("en"), "causes": causes, "summary": summary}
    redacted = redact_report(report, secrets=Secrets(), salt=b"s" * 16)  # type: ignore[arg-type]
    for lang in ("en", "zh"):
        text = json.dumps(in_language(redacted, lang), ensure_ascii=False)
        assert "192.168.1.1" not in text and "lan-" in in_language(redacted, lang)["causes"][0]["explanation"]
