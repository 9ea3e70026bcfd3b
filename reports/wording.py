"""A report's words, made from its codes and parameters in the language asked for.

A report keeps, beside each text, what the text was made from (DESIGN §5 only
adds keys): a cause its ``variant``, its ``params`` (phrases, payprobe.reports.phrase)
and its ``remedy_keys``; the summary its ``verdict_code``, ``verdict_params``,
``ruled_out_keys`` and ``next_step_keys``. :func:`in_language` makes every text
field again from those, so ``payprobe show --lang en`` shows a Chinese report in
English and the other way round. A report from an older payprobe, without
these keys, keeps its stored text, cause by cause and field by field.

The checks write their summaries and finding messages in English (they know no
language: :data:`MEASURED_LANG`). In any other language the renderers show, for
a finding, the catalog's title and explanation of its code, and for a check a
catalog line (:func:`check_summary`); the evidence stays as measured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from payprobe.reports import catalog
from payprobe.reports.phrase import Phrase, PhraseError, Voice, say_all
from payprobe.reports.types import Cause, CheckEntry, FindingEntry, Report, Summary

MEASURED_LANG = "en"
_REMADE_SUMMARY = ("verdict", "ruled_out", "next_steps", "next_steps_intro")


# ------------------------------------------------------------------ the voice of a report


def endpoint_names(endpoints: Sequence[Any]) -> dict[str, dict[str, str]]:
    """The display names a config gave its endpoints (``display_name_zh``), as the
    report keeps them: endpoint name -> language -> display name."""
    names: dict[str, dict[str, str]] = {}
    for ep in endpoints:
        zh = str(getattr(ep, "display_name_zh", "") or "")
        if zh:
            names[str(ep.name)] = {"zh": zh}
    return names


def voice_of(report: Mapping[str, Any], lang: str) -> Voice:
    names = report.get("endpoint_names")
    table = {str(k): v for k, v in names.items() if isinstance(v, Mapping)} if isinstance(names, Mapping) else {}
    return Voice(catalog.norm_lang(lang), table)


# ------------------------------------------------------------------ causes and the summary


def cause_words(code: str, variant: str, params: Mapping[str, Phrase], remedy_keys: Sequence[str],
                voice: Voice) -> tuple[str, str, list[str]]:
    """A cause's title, explanation and remedies in ``voice.lang``."""
    entry = catalog.cause_entry(code, voice.lang) or {}
    # A variant (e.g. an outage that is "slow" rather than "down") overrides the wording.
    entry = {**entry, **(entry.get("variants", {}).get(variant) or {})}
    said = say_all(params, voice)
    title = catalog.fill(str(entry.get("title", code)), said, voice.lang)
    explanation = " ".join(catalog.fill(str(entry.get("explanation", "")), said, voice.lang).split())
    return title, explanation, [catalog.remedy(str(k), voice.lang) for k in remedy_keys]


def summary_words(summary: Mapping[str, Any], causes: Sequence[Cause], voice: Voice, *,
                  intro: bool | None = None) -> dict[str, Any]:
    """The summary's verdict, ruled-out lines and next steps in ``voice.lang``; ``intro``:
    whether the next steps have an introduction (None: whether the stored summary has one)."""
    code = str(summary.get("verdict_code", ""))
    real = [c for c in causes if c.get("code") != "inconclusive"]
    params = summary.get("verdict_params") or {}
    if not isinstance(params, Mapping):
        raise PhraseError("verdict_params is an object")
    verdict = catalog.text("summary", f"verdict.{code}", voice.lang,
                           **{**say_all(params, voice), "title": real[0].get("title", "") if real else ""})
    words: dict[str, Any] = {"verdict": verdict}
    for field, section_key, prefix in (("ruled_out", "ruled_out_keys", "ruled_out."),
                                       ("next_steps", "next_step_keys", "next.")):
        keys = summary.get(section_key)
        if keys is None:
            continue
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise PhraseError(f"{section_key} is a list of keys")
        words[field] = [catalog.text("summary", prefix + k, voice.lang) for k in keys]
    if (bool(summary.get("next_steps_intro")) if intro is None else intro) and "next_steps" in words:
        words["next_steps_intro"] = catalog.text("summary", "next.intro", voice.lang)
    return words


def _cause_in(cause: Cause, voice: Voice) -> tuple[Cause, bool]:
    """The cause with its text in ``voice.lang``; as stored (and False) without its keys."""
    params, remedy_keys = cause.get("params"), cause.get("remedy_keys")
    if not isinstance(params, Mapping) or not isinstance(remedy_keys, list):
        return cause, False
    try:
        if not all(isinstance(k, str) for k in remedy_keys):
            raise PhraseError("remedy_keys is a list of keys")
        title, explanation, remedies = cause_words(str(cause.get("code", "")), str(cause.get("variant") or ""),
                                                   params, remedy_keys, voice)
    except PhraseError:
        return cause, False
    return cast(Cause, {**cause, "title": title, "explanation": explanation, "remedies": remedies}), True


def in_language(report: Report, lang: str) -> Report:
    """The report with every text field made again in ``lang`` from its stored keys."""
    voice = voice_of(report, lang)
    remade = [_cause_in(c, voice) for c in report.get("causes") or [] if isinstance(c, Mapping)]
    out = cast(dict[str, Any], dict(report))
    out["causes"] = [c for c, _ in remade]
    whole = all(ok for _, ok in remade)
    summary = report.get("summary")
    if isinstance(summary, Mapping) and summary.get("verdict_code") and "verdict_params" in summary:
        try:
            out["summary"] = cast(Summary, {**summary, **summary_words(summary, out["causes"], voice)})
        except PhraseError:
            whole = False
    elif isinstance(summary, Mapping) and any(k in summary for k in _REMADE_SUMMARY):
        whole = False
    if whole:
        out["lang"] = voice.lang
    return cast(Report, out)


# ------------------------------------------------------------------ findings and checks


@dataclass(frozen=True)
class FindingWords:
    title: str          # the code's title in the language ("" for a code the catalog lacks)
    text: str           # the measured message, or the code's explanation in another language
    target: str         # an endpoint by its display name, anything else as measured


def finding_words(f: FindingEntry, voice: Voice) -> FindingWords:
    code = str(f.get("code", ""))
    entry = catalog.finding_entry(code, voice.lang)
    message = str(f.get("message", ""))
    text = message
    if voice.lang != MEASURED_LANG and entry:
        text = str(entry.get("explanation", "")) or message
    return FindingWords(str(entry.get("title", "")) if entry else "", text, target_words(str(f.get("target", "")), voice))


def target_words(target: str, voice: Voice) -> str:
    """A finding's target as people read it: an endpoint by its display name, a word the
    checks use ("download", "wifi") in the language; a host or an address as measured."""
    said = catalog.ui(f"target.{target}", voice.lang) if target else ""
    return said if said and said != f"target.{target}" else voice.endpoint(target)


def check_summary(check: CheckEntry, voice: Voice) -> str:
    """The check's summary: as measured in English, a catalog line in another language."""
    stored = str(check.get("summary", ""))
    if voice.lang == MEASURED_LANG:
        return stored
    status = str(check.get("status", ""))
    if status in ("warn", "fail"):
        count = sum(1 for f in check.get("findings") or [] if f.get("severity") in ("warn", "fail"))
        return catalog.ui("check_summary.problems", voice.lang, count=max(count, 1))
    if status in ("ok", "skipped", "timeout"):
        return catalog.ui(f"check_summary.{status}", voice.lang)
    if status == "error":
        return catalog.ui("check_summary.error", voice.lang, error=check.get("error") or "?")
    return stored


def check_words(name: str, voice: Voice) -> str:
    """A check's name as people read it: the name itself in English (it is the check's
    name in every report), its catalog words in another language (dns -> 域名解析)."""
    return name if voice.lang == MEASURED_LANG else catalog.check_name(name, voice.lang)


def severity_tag(severity: str, lang: str) -> str:
    """The warn/fail tag in front of a finding line."""
    return catalog.ui(f"severity.{severity}", lang) if severity in ("info", "warn", "fail") else severity
