"""The payment_service_outage rule: one provider's own servers are at fault.

It reads the rule table of payprobe.reports.blame: a provider none of whose
endpoints works, while another provider's do, is blamed when its rows' condition
holds, in one of three wordings (the catalog's variants): ``down``, ``slow``
(slow or overloaded) and ``certificate`` (misconfigured certificate). Each
candidate's explanation lists what failed where, in words.
"""

from __future__ import annotations

from typing import Any

from payprobe.reports import catalog
from payprobe.reports.blame import (
    ROWS,
    Hit,
    ProviderCase,
    cert_blame,
    lost_tries,
    others_work,
    provider_cases,
)
from payprobe.reports.facts import Candidate, Facts, clock_state, detail, worst
from payprobe.reports.types import FindingEntry

# Rows where the server itself said no: no lossy link produces them.
_DETERMINISTIC = {"server_error", "refused", "unreachable", "other"}
# Providers failing the same way at once past which it is the device or the network.
_MANY = 3
_ITEMS_SHOWN = 4


def rule_payment_outage(facts: Facts) -> list[Candidate]:
    cases = provider_cases(facts)
    measured = {e.provider for e in facts.endpoints}
    failing = [c for c in cases.values() if c.failing and (c.provider in measured or not measured)]
    out: list[Candidate] = []
    for case in failing:
        alike = [c for c in failing if c.state == case.state]
        if not others_work(cases, case.provider) or _everywhere(alike, cases):
            continue
        judged = _judge(facts, case, alike)
        if judged is not None:
            out.append(_candidate(facts, case, *judged))
    return out


def _everywhere(alike: list[ProviderCase], cases: dict[str, ProviderCase]) -> bool:
    """The same fault on many providers at once is not theirs."""
    return len(alike) >= _MANY or (len(alike) >= 2 and len(alike) * 2 >= len(cases))


def _judge(facts: Facts, case: ProviderCase, alike: list[ProviderCase]) -> tuple[str, str] | None:
    """(severity, confidence) of blaming ``case`` on its provider, or None when it is not its."""
    state, rows = case.state, case.rows
    if state == "certificate":
        confidence = cert_blame(facts, case)
        dated = all(h.finding is not None and h.finding["data"].get("valid_by_reference_clock") is False
                    for h in case.hits if h.row.startswith("cert_"))
        if confidence is None or (len(alike) > 1 and not dated):
            return None   # several providers at once: the clock or an interceptor (other rules)
        return "fail", confidence
    if state == "down":
        if not rows & _DETERMINISTIC and facts.link.explains(case.provider, lost_tries(facts, case)):
            return None   # the link's loss took its tries, as it took others'
        endpoints = sum(1 for h in case.hits if h.endpoint is not None)
        sure = bool(rows & _DETERMINISTIC) or endpoints >= 2 or lost_tries(facts, case) >= 3
        confidence = "high" if sure and facts.internet is not False and not facts.link.flaky else "medium"
        return "fail", confidence
    if facts.link.lossy or facts.link.flaky:
        return None       # on a link that loses packets, slowness is the link's
    slow_findings = [h.finding for h in case.hits if h.finding is not None]
    ttfb = any(f["data"].get("phase") == "ttfb" for f in slow_findings if f["code"] == "endpoint.slow")
    severity = "fail" if "overloaded" in rows else worst(slow_findings)
    return severity, "high" if ttfb or "overloaded" in rows else "medium"


def _candidate(facts: Facts, case: ProviderCase, severity: str, confidence: str) -> Candidate:
    display = catalog.provider_name(case.provider.removeprefix("host:"), facts.lang)
    related = [f for f in facts.findings if facts.group(f) == case.provider and f not in case.findings()
               and f["code"].startswith(("endpoint.", "tls."))]
    clock_note = ""
    if case.state == "certificate" and "cert_dates" in case.rows and clock_state(facts) == "right":
        clock_note = detail("outage.clock_right", facts)
    return Candidate("payment_service_outage", severity, confidence, case.findings() + related,
                     {"provider": display, "detail": catalog.join(_items(facts, case), facts.lang),
                      "clock_note": clock_note},
                     target=case.provider.removeprefix("host:"), title_params={"provider": display},
                     variant=case.state)


def _items(facts: Facts, case: ProviderCase) -> list[str]:
    """What failed where, in words, places with the same failure together: a certificate
    as the TLS check saw it, anything else as the endpoints saw it."""
    hits = [h for h in case.hits if ROWS[h.row].state]
    from_tls = {h.row for h in hits if h.finding is not None and h.row.startswith("cert_")}
    from_endpoints = {h.row for h in hits if h.endpoint is not None and not h.row.startswith("cert_")}
    where_by_what: dict[str, list[str]] = {}
    for h in hits:
        if (h.endpoint is not None and h.row in from_tls) or (
                h.endpoint is None and h.finding is not None and h.finding["code"].startswith("tls.")
                and h.row in from_endpoints):
            continue
        places = where_by_what.setdefault(_what(facts, h), [])
        if h.where not in places:
            places.append(h.where)
    return [detail("outage.item", facts, where=catalog.join(where, facts.lang), what=what)
            for what, where in list(where_by_what.items())[:_ITEMS_SHOWN]]


def _what(facts: Facts, h: Hit) -> str:
    data: dict[str, Any] = dict(h.finding["data"]) if h.finding is not None else {}
    e = h.endpoint
    failure = (e.failure if e else None) or data.get("failure") or ""
    key, params = f"outage.{h.row}", {"failure": failure, "status": e.http_status if e else ""}
    if h.row == "cert_dates":
        expired = failure == "tls_cert_expired" or (h.finding is not None and h.finding["code"] == "tls.expired")
        key = "outage.cert_expired" if expired else "outage.cert_not_yet_valid"
        params["date"] = str(data.get("not_after" if expired else "not_before") or "?")[:10]
    elif h.row == "cert_name":
        params["names"] = ", ".join((data.get("sans") or [])[:3]) or "?"
    elif h.row == "cert_issuer":
        params["issuer"] = data.get("issuer") or "?"
    elif h.row == "slow":
        key, params["ms"] = _slow_words(h.finding)
    elif h.row == "timeout" and e is not None and e.phase in ("connect", "http"):
        key = f"outage.timeout_{e.phase}"
    return detail(key, facts, **params)


def _slow_words(f: FindingEntry | None) -> tuple[str, str]:
    data = f["data"] if f is not None else {}
    if f is not None and f["code"] == "tls.slow":
        return "outage.slow_tls", f"{float(data.get('handshake_ms') or 0):.0f}"
    phase = "connect" if data.get("phase") == "connect" else "ttfb"
    return f"outage.slow_{phase}", f"{float(data.get('p50_ms') or 0):.0f}"
