"""The payment_service_outage rule: one provider's own servers are at fault.

It reads the rule table of payprobe.reports.blame: a provider none of whose
endpoints works, while another provider's do, is blamed when its rows' condition
holds, in one of three wordings (the catalog's variants): ``down``, ``slow``
(slow or overloaded) and ``certificate`` (misconfigured certificate). Each
candidate's explanation lists what failed where, in words. Packet loss that the
path check sees starting at the provider's own network edge joins its ``down``
outage, or, while its endpoints still answer, is the wording ``edge_loss``.
"""

from __future__ import annotations

import json
from typing import Any

from payprobe.reports.blame import (
    ROWS,
    Hit,
    ProviderCase,
    cert_blame,
    edge_losses,
    edges_everywhere,
    lost_tries,
    others_work,
    provider_cases,
)
from payprobe.reports.facts import Candidate, Facts, clock_state, hop_words, worst
from payprobe.reports.phrase import Phrase, detail, endpoint, join, provider
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
    return out + _edge_candidates(facts, cases, out)


def _edge_candidates(facts: Facts, cases: dict[str, ProviderCase], blamed: list[Candidate]) -> list[Candidate]:
    """Loss that starts at one provider's own network edge: added to its outage when its
    endpoints fail too, else a cause of its own (wording ``edge_loss``: it still answers)."""
    edges = edge_losses(facts)
    if not edges or edges_everywhere(facts, edges):
        return []
    out: list[Candidate] = []
    for name, found in edges.items():
        items = _edge_items(found)
        same = next((c for c in blamed if c.target == name.removeprefix("host:")), None)
        if same is not None:
            same.findings += [f for f in found if f not in same.findings]
            same.params["detail"] = join([same.params["detail"], *items], "list_sep_outer")
        elif others_work(cases, name) or _traced_clean(facts, name):
            display = provider(name)
            out.append(Candidate("payment_service_outage", worst(found), "medium", found,
                                 {"provider": display, "detail": join(items, "list_sep_outer")},
                                 target=name, title_params={"provider": display}, variant="edge_loss"))
    return out


def _traced_clean(facts: Facts, name: str) -> bool:
    """The path check traced another provider's way and saw no loss at its edge."""
    check = facts.checks.get("path")
    for e in (check.get("evidence") or []) if check else []:
        if not isinstance(e, dict) or e.get("what") != "path":
            continue
        onset = e.get("loss_onset")
        providers = {facts.endpoint_providers.get(str(n), str(n)) for n in e.get("endpoints") or []}
        providers |= {ep.provider for ep in facts.endpoints if ep.endpoint in (e.get("endpoints") or [])}
        clean = not isinstance(onset, dict) or onset.get("segment") != "provider_edge"
        if clean and providers - {name}:
            return True
    return False


def _edge_items(found: list[FindingEntry]) -> list[Phrase]:
    """Where the loss starts, per hop, with the endpoints traced through it."""
    by_hop: dict[tuple[object, object], list[Phrase]] = {}
    first: dict[tuple[object, object], FindingEntry] = {}
    for f in found:
        data = f.get("data") or {}
        hop = (data.get("hop"), data.get("address"))
        first.setdefault(hop, f)
        names = by_hop.setdefault(hop, [])
        place = endpoint(str(data.get("endpoint") or f.get("target", "")))
        if place not in names:
            names.append(place)
    return [detail("outage.item", where=join(names), what=hop_words("outage.edge_loss", first[hop]))
            for hop, names in list(by_hop.items())[:_ITEMS_SHOWN]]


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
        if "partial_loss" in rows and not rows & _DETERMINISTIC:
            return None   # some of its samples got through: not down (a TLS try lost to loss, say)
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
    display = provider(case.provider.removeprefix("host:"))
    related = [f for f in facts.findings if facts.group(f) == case.provider and f not in case.findings()
               and f["code"].startswith(("endpoint.", "tls."))]
    clock_note: Phrase = ""
    if case.state == "certificate" and "cert_dates" in case.rows and clock_state(facts) == "right":
        clock_note = detail("outage.clock_right")
    return Candidate("payment_service_outage", severity, confidence, case.findings() + related,
                     {"provider": display, "detail": join(_items(case)),
                      "clock_note": clock_note},
                     target=case.provider.removeprefix("host:"), title_params={"provider": display},
                     variant=case.state)


def _items(case: ProviderCase) -> list[Phrase]:
    """What failed where, in words, places with the same failure together: a certificate
    as the TLS check saw it, anything else as the endpoints saw it."""
    hits = [h for h in case.hits if ROWS[h.row].state]
    from_tls = {h.row for h in hits if h.finding is not None and h.row.startswith("cert_")}
    from_endpoints = {h.row for h in hits if h.endpoint is not None and not h.row.startswith("cert_")}
    where_by_what: dict[str, list[Phrase]] = {}
    what_of: dict[str, Phrase] = {}
    for h in hits:
        if (h.endpoint is not None and h.row in from_tls) or (
                h.endpoint is None and h.finding is not None and h.finding["code"].startswith("tls.")
                and h.row in from_endpoints):
            continue
        what = _what(h)
        # Phrases are dicts: grouped by their JSON form.
        label = json.dumps(what, sort_keys=True)
        what_of[label] = what
        places = where_by_what.setdefault(label, [])
        place = _place(h)
        if place not in places:
            places.append(place)
    return [detail("outage.item", where=join(where), what=what_of[label])
            for label, where in list(where_by_what.items())[:_ITEMS_SHOWN]]


def _place(h: Hit) -> Phrase:
    """An endpoint by its display name, a TLS host as it is."""
    by_endpoint = h.endpoint is not None or (h.finding is not None and h.finding["code"].startswith("endpoint."))
    return endpoint(h.where) if by_endpoint else h.where


def _what(h: Hit) -> Phrase:
    data: dict[str, Any] = dict(h.finding["data"]) if h.finding is not None else {}
    e = h.endpoint
    failure = str((e.failure if e else None) or data.get("failure") or "")
    key = f"outage.{h.row}"
    params: dict[str, Phrase] = {"failure": failure, "status": e.http_status if e else ""}
    if h.row == "cert_dates":
        expired = failure == "tls_cert_expired" or (h.finding is not None and h.finding["code"] == "tls.expired")
        key = "outage.cert_expired" if expired else "outage.cert_not_yet_valid"
        params["date"] = str(data.get("not_after" if expired else "not_before") or "?")[:10]
    elif h.row == "cert_name":
        sans = [str(name) for name in (data.get("sans") or [])[:3]]
        params["names"] = join(sans) if sans else "?"
    elif h.row == "cert_issuer":
        params["issuer"] = str(data.get("issuer") or "?")
    elif h.row == "slow":
        key, params["ms"] = _slow_words(h.finding)
    elif h.row == "timeout" and e is not None and e.phase in ("connect", "http"):
        key = f"outage.timeout_{e.phase}"
    return detail(key, **params)


def _slow_words(f: FindingEntry | None) -> tuple[str, str]:
    data = f["data"] if f is not None else {}
    if f is not None and f["code"] == "tls.slow":
        return "outage.slow_tls", f"{float(data.get('handshake_ms') or 0):.0f}"
    phase = "connect" if data.get("phase") == "connect" else "ttfb"
    return f"outage.slow_{phase}", f"{float(data.get('p50_ms') or 0):.0f}"
