"""The endpoints check's per-sample evidence, and its cap at scale.

Every endpoint leaves an ``endpoint_samples`` item: how its name resolved and
every sample, healthy or not (the diagnosis reads each sample's ``failure``
and ``phase`` as one try). With many endpoints that is most of the report, so
above :data:`FULL_EVIDENCE_CAP` endpoints a healthy one's item keeps only what
the diagnosis reads (one ``http_status`` per sample: a try that answered);
its times are in its metrics, unchanged. An endpoint with anything to say
(a failed sample, a finding, a name that did not resolve, two address
families, sampling that adapted) always keeps its full item. The
``endpoint_sampling`` item states the cap and what it left out.
"""

from __future__ import annotations

from typing import Any

from payprobe import net
from payprobe.checks._endpoint_measure import connect_timeout_s
from payprobe.checks._endpoint_samples import EndpointResult, rounded
from payprobe.checks._sampling import AGREE
from payprobe.settings import LatencyConfig

# Endpoints whose healthy samples are given in full (in config order); beyond
# it a healthy endpoint's samples are its outcomes only. The default profile
# (8 endpoints) is far below it; 1,000 endpoints would otherwise write about
# 450 bytes of sample evidence each, on top of their metrics.
FULL_EVIDENCE_CAP = 50


def needs_full_evidence(res: EndpointResult, has_findings: bool) -> bool:
    """Whether this endpoint says something beyond "every sample answered"."""
    return (has_findings or bool(res.resolve_failure) or res.dual_stack or bool(res.adapted)
            or bool(res.unrouted) or not res.samples or any(not s.ok for s in res.samples))


def samples_evidence(res: EndpointResult, *, full: bool) -> dict[str, Any]:
    """Every sample of one endpoint, healthy or not, with how it was resolved.

    ``samples`` are those of ``ip_family`` (the family apps use, behind the
    unlabelled metrics); on a dual-stack name ``other_family`` holds the other
    family's samples and ``happy_eyeballs`` the connect that chose between them;
    ``unrouted_families`` names a family dropped because the device has no route
    for it; ``sampling`` says how sampling adapted once the samples agreed.
    Not ``full``: only the outcome of each sample (``summarized``).
    """
    ep = res.endpoint
    item: dict[str, Any] = {"what": "endpoint_samples", "endpoint": ep.name,
                            "provider": ep.provider}
    if not full:
        item.update(samples=[{"http_status": s.http_status} for s in res.samples],
                    summarized=True)
        return item
    item.update(resolve_s=rounded(res.resolve_s), addresses=res.addresses, planned=res.planned,
                ip_family=res.ip_family, samples=[s.to_dict() for s in res.samples],
                icmp=res.icmp or None)
    if res.resolve_failure:
        item["resolve_failure"] = res.resolve_failure
    if res.unrouted:
        item["unrouted_families"] = list(res.unrouted)
    adapted = res.adapted.get(res.ip_family or "")
    if adapted is not None:
        item["sampling"] = adapted.to_dict(len(res.samples))
    if res.dual_stack:
        other = next(f for f in res.families if f != res.ip_family)
        item["other_family"] = {"ip_family": other,
                                "samples": [s.to_dict() for s in res.families[other]]}
        if other in res.adapted:
            item["other_family"]["sampling"] = res.adapted[other].to_dict(len(res.families[other]))
        item["happy_eyeballs"] = res.happy
    return item


def sampling_item(cfg: LatencyConfig, summarized: list[str]) -> dict[str, Any]:
    """What applies to every endpoint's samples, and the evidence cap."""
    item: dict[str, Any] = {
        "what": "endpoint_sampling", "planned": int(cfg.samples),
        "connect_timeout_s": connect_timeout_s(cfg), "stall_s": net.STALL_S,
        "agree_after": AGREE, "full_evidence_cap": FULL_EVIDENCE_CAP,
    }
    if summarized:
        item["summarized"] = len(summarized)
        item["summarized_note"] = (
            f"beyond the first {FULL_EVIDENCE_CAP} endpoints, the samples of an endpoint whose "
            "every sample answered are given as outcomes only; their times are in the metrics")
    return item
