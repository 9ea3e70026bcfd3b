"""Diagnosis: findings across checks -> ranked causes, plus a plain verdict.

| piece                       | what it does                                          |
|-----------------------------|-------------------------------------------------------|
| payprobe.reports.evidence   | the checks' evidence as places tried, and how each try ended |
| payprobe.reports.link       | whether the link itself loses packets                 |
| payprobe.reports.facts      | a run's findings and endpoint states, as the rules read them |
| payprobe.reports.rules      | one small function per cause, in ``RULES``            |
| payprobe.reports.blame      | the rule table of provider-side faults (the outage)   |
| payprobe.reports.conflicts  | what contradicts what, for ``inconclusive``           |
| this module                 | rank the candidates, drop the explained ones, word them |
| payprobe.reports.summary    | the verdict, what is ruled out, what to try next      |

Candidates are ranked and the ones another cause explains are dropped:

- ``offline`` outranks everything and silences every cause that needs a network
  (DNS, TLS, endpoints, captive portal...).
- ``captive_portal`` explains TLS, DNS and endpoint failures on that network.
- ``clock_wrong`` with TLS validity failures explains those failures: it is the
  clock, not an attack, and not an outage.

A wrong top cause is worse than none: when no rule fires and the evidence
conflicts (payprobe.reports.conflicts says what with what), or failures remain
that fit no rule, the answer is the low-confidence ``inconclusive`` cause
(severity info), never a guess; warnings alone are minor notes. The rules
speak in phrases (payprobe.reports.phrase: catalog keys and plain values); each
cause keeps them beside its text in the run's language, so payprobe.reports.wording
can say it again in the other (``payprobe show --lang``).
"""

from __future__ import annotations

from collections.abc import Sequence

from payprobe.api import SEVERITY_RANK
from payprobe.reports import catalog
from payprobe.reports.conflicts import conflicts
from payprobe.reports.facts import CONFIDENCE_RANK, MEASURED, Candidate, Facts, gather
from payprobe.reports.phrase import Voice, detail, join, sentences
from payprobe.reports.rules import RULES
from payprobe.reports.summary import summarize
from payprobe.reports.types import Cause, CheckEntry, FindingEntry, Summary
from payprobe.reports.wording import cause_words, endpoint_names
from payprobe.settings import Settings

__all__ = ["RULES", "diagnose"]


def _to_cause(c: Candidate, voice: Voice) -> Cause:
    """The candidate as the report keeps it: its text in the run's language, and what
    the text is made from (payprobe.reports.wording makes it again in another)."""
    entry = catalog.cause_entry(c.code, "en") or {}
    variant_entry = entry.get("variants", {}).get(c.variant) or {}
    remedy_keys = list(dict.fromkeys([*c.remedies, *variant_entry.get("remedies", entry.get("remedies", []))]))
    params = {**c.params, **c.title_params}
    title, explanation, remedies = cause_words(c.code, c.variant, params, remedy_keys, voice)
    codes: list[str] = []
    for f in c.findings:
        if f["code"] not in codes:
            codes.append(f["code"])
    cause: Cause = {
        "code": c.code, "severity": c.severity, "confidence": c.confidence, "title": title,
        "explanation": explanation, "remedies": remedies, "findings": codes,
    }
    if c.target:
        cause["target"] = c.target
    if c.variant:
        cause["variant"] = c.variant
    cause["params"] = params
    cause["remedy_keys"] = remedy_keys
    return cause


def _rank(c: Candidate, order: int) -> tuple[int, int, int, int]:
    return (0 if c.code == "offline" else 1, -SEVERITY_RANK[c.severity], -CONFIDENCE_RANK[c.confidence], order)


def _candidates(facts: Facts) -> list[Candidate]:
    """Every rule's candidates, most likely first, without the ones a cause
    ranked above explains away (offline silences everything that needs a
    network, a portal the TLS failures...)."""
    found: list[tuple[Candidate, int]] = []
    for order, (_name, rule) in enumerate(RULES):
        result = rule(facts)
        for cand in (result if isinstance(result, list) else [result] if result else []):
            found.append((cand, order))
    found.sort(key=lambda co: _rank(*co))
    kept: list[Candidate] = []
    silenced: set[str] = set()
    for cand, _order in found:
        if cand.code in silenced:
            continue
        kept.append(cand)
        silenced |= cand.silences
    return kept


def _inconclusive(facts: Facts, kept: list[Candidate], measured: bool) -> Candidate | None:
    """The honest answer when no rule fired: what in the evidence conflicts, which
    failures nothing explains, or that nothing could be measured. Warnings that
    nothing explains and nothing contradicts are minor notes, not a cause."""
    if kept:
        return None
    unexplained: list[FindingEntry] = [f for f in facts.findings if SEVERITY_RANK.get(f["severity"], 0) >= 1]
    found = conflicts(facts, unexplained) if unexplained else []
    if found:
        text = detail("inconclusive.conflict", conflicts=sentences(found))
    elif any(f["severity"] == "fail" for f in unexplained):
        codes = sorted({f["code"] for f in unexplained})
        text = detail("inconclusive.findings", codes=join(codes))
    elif not measured:
        text = detail("inconclusive.unmeasured")
    else:
        return None
    return Candidate("inconclusive", "info", "low", unexplained, {"detail": text})


def diagnose(checks: Sequence[CheckEntry], *, lang: str = "en",
             settings: Settings | None = None) -> tuple[list[Cause], Summary]:
    """Ranked causes (most likely first) and the summary stored as report["summary"]."""
    lang = catalog.norm_lang(lang)
    facts = gather(checks, settings, lang)
    kept = _candidates(facts)
    measured = [c for c in checks if c.get("status") in MEASURED]
    fallback = _inconclusive(facts, kept, bool(measured))
    voice = Voice(lang, endpoint_names(settings.endpoints if settings else []))
    causes = [_to_cause(c, voice) for c in (kept if fallback is None else [fallback])]
    return causes, summarize(causes, facts, measured, voice)
