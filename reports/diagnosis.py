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
(severity info), never a guess; warnings alone are minor notes. The texts come
from the message catalogs (reports/i18n), so every cause reads the same in
English and Chinese.
"""

from __future__ import annotations

from collections.abc import Sequence

from payprobe.api import SEVERITY_RANK
from payprobe.reports import catalog
from payprobe.reports.conflicts import conflicts
from payprobe.reports.facts import CONFIDENCE_RANK, MEASURED, Candidate, Facts, detail, gather
from payprobe.reports.rules import RULES
from payprobe.reports.summary import summarize
from payprobe.reports.types import Cause, CheckEntry, FindingEntry, Summary
from payprobe.settings import Settings

__all__ = ["RULES", "diagnose"]


def _to_cause(c: Candidate, lang: str) -> Cause:
    entry = catalog.cause_entry(c.code, lang) or {}
    # A variant (e.g. an outage that is "slow" rather than "down") overrides the wording.
    entry = {**entry, **(entry.get("variants", {}).get(c.variant) or {})}
    params = {**c.params, **c.title_params}
    title = str(entry.get("title", c.code)).format_map(catalog._Blank(params))
    explanation = " ".join(str(entry.get("explanation", "")).format_map(catalog._Blank(params)).split())
    codes: list[str] = []
    for f in c.findings:
        if f["code"] not in codes:
            codes.append(f["code"])
    remedy_keys = list(dict.fromkeys([*c.remedies, *entry.get("remedies", [])]))
    cause: Cause = {
        "code": c.code, "severity": c.severity, "confidence": c.confidence, "title": title,
        "explanation": explanation,
        "remedies": [catalog.remedy(k, lang) for k in remedy_keys],
        "findings": codes,
    }
    if c.target:
        cause["target"] = c.target
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
        text = detail("inconclusive.conflict", facts, conflicts=" ".join(found))
    elif any(f["severity"] == "fail" for f in unexplained):
        codes = sorted({f["code"] for f in unexplained})
        text = detail("inconclusive.findings", facts, codes=", ".join(codes))
    elif not measured:
        text = detail("inconclusive.unmeasured", facts)
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
    causes = [_to_cause(c, lang) for c in (kept if fallback is None else [fallback])]
    return causes, summarize(causes, facts, measured)
