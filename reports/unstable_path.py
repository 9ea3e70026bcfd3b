"""The network_unstable items the opt-in measurements add: where on the way packets
start to be lost, bufferbloat, and a path that drops large packets.

==================  ======================================================  ==========================
finding             item of the explanation                                 remedies first in line
==================  ======================================================  ==========================
path.loss_at_hop    ``local``: the loss starts at the phone's Wi-Fi router  wifi_router, switch_network
                    ``isp``: inside the internet provider's network         switch_network, call_isp
                    ``provider_edge`` at many providers at once: the way    switch_network, call_isp
                    to them (one provider's edge is its outage: outage.py)
net.bufferbloat     the delay grows while the link is busy                  pause_traffic, router_sqm,
                                                                            switch_network
net.mtu_blackhole   large packets are lost (alone: the wording ``mtu``)     mtu_router, vpn_off,
                                                                            switch_network
==================  ======================================================  ==========================

Each function appends its items and findings and returns (remedy keys, strength);
the strength counts towards the cause's confidence as in payprobe.reports.unstable.
"""

from __future__ import annotations

from payprobe.reports.blame import EDGE_SEGMENT, edge_losses, edges_everywhere
from payprobe.reports.facts import Facts, hop_words, targets
from payprobe.reports.phrase import Phrase, detail, join, measured, provider
from payprobe.reports.types import FindingEntry

_SEGMENT_REMEDIES = {"local": ["wifi_router", "switch_network"], "isp": ["switch_network", "call_isp"]}
_HOPS_SHOWN = 2


def _hop_items(facts: Facts, items: list[Phrase], used: list[FindingEntry]) -> tuple[list[str], int]:
    """Loss that starts at the phone's router or in the internet provider's network."""
    remedies: list[str] = []
    seen: list[tuple[object, object, object]] = []
    for f in facts.of("path.loss_at_hop"):
        data = f.get("data") or {}
        segment = data.get("segment")
        if segment not in _SEGMENT_REMEDIES:
            continue
        used.append(f)
        where = (segment, data.get("hop"), data.get("address"))
        if where in seen:
            continue          # the same hop on the way to several endpoints: said once
        seen.append(where)
        remedies += _SEGMENT_REMEDIES[str(segment)]
        if len(seen) <= _HOPS_SHOWN:
            items.append(hop_words(f"unstable.hop_{segment}", f))
    return remedies, 1 if seen else 0


def _edge_items(facts: Facts, items: list[Phrase], used: list[FindingEntry]) -> tuple[list[str], int]:
    """Loss at the edge of many providers at once: the way to them, not any one of them."""
    edges = edge_losses(facts)
    if not edges or not edges_everywhere(facts, edges):
        return [], 0
    items.append(detail("unstable.hop_edges", names=join([provider(p) for p in sorted(edges)])))
    used += [f for found in edges.values() for f in found
             if (f.get("data") or {}).get("segment") == EDGE_SEGMENT]
    return ["switch_network", "call_isp"], 1


def _bufferbloat(facts: Facts, items: list[Phrase], used: list[FindingEntry]) -> tuple[list[str], int]:
    found = facts.of("net.bufferbloat")
    if not found:
        return [], 0
    data = found[0].get("data") or {}
    items.append(detail("unstable.bufferbloat", idle=measured(data.get("idle_rtt_ms"), "ms"),
                        loaded=measured(data.get("loaded_rtt_ms"), "ms")))
    used += found
    return ["pause_traffic", "router_sqm", "switch_network"], 1


def mtu_words(found: list[FindingEntry], key: str) -> Phrase:
    """Which hosts lost large packets, and the segment size that went through."""
    names: list[str] = []
    sizes: set[int] = set()
    for f in found:
        data = f.get("data") or {}
        mss = data.get("mss")
        if isinstance(mss, dict):
            names += [str(n) for n in mss if str(n) not in names]
            sizes |= {int(v) for v in mss.values() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        working = data.get("working_mss")
        if isinstance(working, int) and not isinstance(working, bool):
            sizes.add(working)
        names += [t for t in [*(data.get("targets") or []), *targets([f])] if isinstance(t, str) and t not in names]
    return detail(key, targets=join(names[:3]) if names else "?",
                  mss=join([str(s) for s in sorted(sizes)]) if sizes else "?")


def _mtu(facts: Facts, items: list[Phrase], used: list[FindingEntry]) -> tuple[list[str], int]:
    found = facts.of("net.mtu_blackhole")
    if not found:
        return [], 0
    items.append(mtu_words(found, "unstable.mtu_blackhole"))
    used += found
    # Measured directly (a small segment size got through where full-size ones stalled): a sure sign.
    return ["mtu_router", "vpn_off", "switch_network"], 2


def path_items(facts: Facts, items: list[Phrase], used: list[FindingEntry]) -> tuple[list[str], int]:
    """Every item of this module: (remedy keys, strength)."""
    remedies: list[str] = []
    strength = 0
    for part in (_hop_items, _edge_items, _bufferbloat, _mtu):
        keys, strong = part(facts, items, used)
        remedies += keys
        strength += strong
    return list(dict.fromkeys(remedies)), strength

