"""The verdict in plain words (report["summary"]): what is wrong, what the run
rules out, and what to try next.

The verdict says "your network is fine" only when the network was actually
looked at: a run that skipped connectivity, DNS, TLS, clock or the endpoints
says which were not measured instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from payprobe.api import SEVERITY_RANK
from payprobe.reports.facts import Facts
from payprobe.reports.phrase import Voice, join
from payprobe.reports.phrase import check as check_phrase
from payprobe.reports.types import Cause, CheckEntry, Summary
from payprobe.reports.wording import summary_words

# The checks that together say whether "the network" works.
NETWORK_CHECKS = ("connectivity", "dns", "tls", "clock", "endpoints")
# Checks whose ``ok`` rules out a kind of cause, and the finding-code prefix they own.
_RULES_OUT = {"connectivity": "net", "dns": "dns", "tls": "tls", "clock": "clock", "proxy": "proxy",
              "endpoints": "endpoint", "device": "device"}
# When the network is fine, a failed payment is usually the account or the app.
_ACCOUNT_STEPS = ["real_name", "limits", "restriction", "bank_risk", "app_outdated", "contact"]


def verdict_code(causes: Sequence[Cause], facts: Facts, measured: Sequence[CheckEntry]) -> str:
    """unknown | cause | inconclusive | network_ok | minor | nothing_found."""
    real = [c for c in causes if c["code"] != "inconclusive"]
    warned = any(SEVERITY_RANK.get(f["severity"], 0) >= 1 for f in facts.findings)
    if not measured:
        return "unknown"
    if real:
        return "cause"
    if causes:
        return "inconclusive"
    code = "minor" if warned else "network_ok"
    ran = [c.get("name", "") for c in measured]
    if any(n not in ran for n in NETWORK_CHECKS):
        return "nothing_found"
    return code


def summarize(causes: Sequence[Cause], facts: Facts, measured: Sequence[CheckEntry],
              voice: Voice | None = None) -> Summary:
    """The summary's keys (what its text is made from) and its text in ``voice``'s language."""
    voice = voice or Voice(facts.lang)
    real = [c for c in causes if c["code"] != "inconclusive"]
    code = verdict_code(causes, facts, measured)
    ran = [c.get("name", "") for c in measured]
    missing = [n for n in NETWORK_CHECKS if n not in ran]

    blamed = {finding.split(".")[0] for c in real for finding in c["findings"]}
    ruled_out = []
    for name, prefix in _RULES_OUT.items():
        check = facts.checks.get(name)
        if check and check.get("status") == "ok" and prefix not in blamed:
            ruled_out.append(name)

    if code in ("network_ok", "minor", "inconclusive", "nothing_found"):
        next_keys, intro = _ACCOUNT_STEPS, True
    elif code == "cause":
        next_keys, intro = ["follow_remedies"], False
    else:
        next_keys, intro = ["contact"], False
    keys: Summary = {
        "verdict_code": code,
        "verdict_params": {"checks": join([check_phrase(n) for n in ran]),
                           "missing": join([check_phrase(n) for n in missing])},
        "ruled_out_keys": ruled_out,
        "next_step_keys": list(next_keys),
    }
    words = summary_words(keys, causes, voice, intro=intro)
    # The text fields first, in the order other programs know; the keys they are made from after.
    return {"verdict": words["verdict"], "verdict_code": code, "network_ok": code in ("network_ok", "minor"),
            "top_cause": real[0]["code"] if real else None, "ruled_out": words["ruled_out"],
            "next_steps_intro": words.get("next_steps_intro", ""), "next_steps": words["next_steps"],
            "verdict_params": keys["verdict_params"], "ruled_out_keys": ruled_out,
            "next_step_keys": list(next_keys)}
