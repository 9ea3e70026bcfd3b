"""Where loss starts on a traced path, judged so that rate-limited routers are not blamed.

Routers answer traceroute probes from their control plane and rate-limit the
ICMP "time exceeded" they send (Linux: a burst of 6, then 1 per second per
source). A hop that answers only some probes while the hops after it and the
destination answer all of them forwards packets perfectly well: the loss it
shows is its own reluctance to answer. Counting that as loss is the classic
misreading of mtr. So:

1. The destination decides whether there is loss at all: its answers (a
   SYN-ACK, an echo reply) are not ICMP errors and are not rate-limited. No
   loss there (fewer than :data:`MIN_LOST` probes lost, or below the
   threshold) means no finding, whatever the hops before it show.
2. Otherwise walk back from the destination through the hops that are not
   *clean*. A hop is clean when it answered every probe and enough of them
   that, had the path's loss rate applied there, some would have been lost
   (probability below :data:`CLEAN_EVIDENCE`). Loss that persists to the
   destination therefore starts after the last clean hop.
3. The onset is the first hop of that run that lost probes, unless the hop
   is *reluctant*: it lost far more than the destination did (loss that
   persists cannot be greater downstream than it is at the destination, so
   the excess is the router's own: P(that many losses | the path's loss rate)
   below :data:`EXCESS_EVIDENCE`), or its answers mostly stopped after a run
   of good ones (a rate limiter whose burst is spent). A reluctant hop
   neither ends the walk nor is blamed.

The onset is classified by position: hop 1 is the local network (the Wi-Fi
router), the destination and the hop right before it are the provider's edge
(when an ISP hop lies between), anything else is the ISP.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

# Fewer lost probes than this at the destination is noise, not loss.
MIN_LOST = 2
# A hop with no loss is "clean" when P(no loss in its probes | the path's loss rate) is below this.
CLEAN_EVIDENCE = 0.05
# A rate limiter's signature: at least this many answers first, then at least this many losses,
# making up at least RATE_LIMIT_SHARE of the probes after that first run.
RATE_LIMIT_RUN = 3
RATE_LIMIT_SHARE = 2 / 3
# A hop lost "far more than the destination" when P(>= its losses | the path's loss rate) is below this.
EXCESS_EVIDENCE = 0.001

LOCAL, ISP, PROVIDER_EDGE = "local", "isp", "provider_edge"

_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("loopback", ("127.0.0.0/8", "::1/128")),
    ("link_local", ("169.254.0.0/16", "fe80::/10")),
    ("cgnat", ("100.64.0.0/10",)),
    ("private", ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")),
)
_NETWORKS = [(kind, [ipaddress.ip_network(n) for n in nets]) for kind, nets in _KINDS]


def address_kind(address: str | None) -> str:
    """private | cgnat | link_local | loopback | public | unknown (no answer).

    Documentation ranges count as public: the lab uses them for public hosts.
    """
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "unknown"
    for kind, nets in _NETWORKS:
        if any(ip in net for net in nets if net.version == ip.version):
            return kind
    return "public"


@dataclass
class HopStats:
    """One hop of one traced path: the probes whose TTL ended there, in send order."""

    hop: int
    address: str | None = None
    outcomes: list[bool] = field(default_factory=list)   # answered?, per probe
    rtts_s: list[float] = field(default_factory=list)
    responders: list[str] = field(default_factory=list)  # every address that answered
    destination: bool = False

    @property
    def sent(self) -> int:
        return len(self.outcomes)

    @property
    def answered(self) -> int:
        return sum(self.outcomes)

    @property
    def lost(self) -> int:
        return self.sent - self.answered

    @property
    def loss_ratio(self) -> float:
        return self.lost / self.sent if self.sent else 0.0

    @property
    def answers_stopped(self) -> bool:
        """A run of answers, then mostly silence: a rate limiter whose burst was spent.

        Random loss rarely looks like this (for 30 % loss over 10 probes, about 1 % of
        the time); a router answering its burst and then one probe in five does.
        """
        first_loss = self.outcomes.index(False) if False in self.outcomes else self.sent
        rest = self.outcomes[first_loss:]
        lost = len(rest) - sum(rest)
        return (first_loss >= RATE_LIMIT_RUN and lost >= RATE_LIMIT_RUN
                and lost >= RATE_LIMIT_SHARE * len(rest))


@dataclass(frozen=True)
class Onset:
    hop: int
    address: str | None
    loss_ratio: float         # at the onset hop
    path_loss_ratio: float    # at the destination
    segment: str


@dataclass(frozen=True)
class Judgement:
    reached: bool
    onset: Onset | None = None
    # Hops that lost probes while the loss did not persist: what mtr would show as lossy.
    transient: tuple[int, ...] = ()
    # Hops that answer less than the path loses: rate limited or deprioritised, not lossy.
    rate_limited: tuple[int, ...] = ()


def segment_of(hop: int, destination_hop: int) -> str:
    """local (hop 1) | provider_edge (the destination, or the hop before it past the ISP) | isp."""
    if hop <= 1:
        return LOCAL
    if hop >= destination_hop or (hop == destination_hop - 1 and hop >= 3):
        return PROVIDER_EDGE
    return ISP


def _clean(hop: HopStats, path_loss: float) -> bool:
    return hop.lost == 0 and hop.sent > 0 and (1.0 - path_loss) ** hop.sent < CLEAN_EVIDENCE


def loss_tail(lost: int, sent: int, loss_ratio: float) -> float:
    """P(at least ``lost`` of ``sent`` probes lost | each is lost with ``loss_ratio``)."""
    return sum(math.comb(sent, k) * loss_ratio ** k * (1.0 - loss_ratio) ** (sent - k)
               for k in range(lost, sent + 1))


def _reluctant(hop: HopStats, path_loss: float) -> bool:
    return hop.answers_stopped or (hop.lost > 0 and loss_tail(hop.lost, hop.sent, path_loss) < EXCESS_EVIDENCE)


def judge(hops: Sequence[HopStats], min_loss_ratio: float) -> Judgement:
    """Where loss that persists to the destination starts, if anywhere (see the module doc)."""
    middle = [h for h in hops if not h.destination and h.answered]
    lossy = tuple(h.hop for h in middle if h.lost)
    dest = hops[-1] if hops and hops[-1].destination else None
    if dest is None or dest.answered == 0:
        return Judgement(False, None, lossy, tuple(h.hop for h in middle if h.answers_stopped))
    path_loss = dest.loss_ratio
    reluctant = tuple(h.hop for h in middle if _reluctant(h, path_loss))
    if dest.lost < MIN_LOST or path_loss < min_loss_ratio:
        return Judgement(True, None, tuple(h for h in lossy if h not in reluctant), reluctant)
    answering = [h for h in hops if h.answered or h.destination]
    run: list[HopStats] = [dest]
    for hop in reversed(answering[:-1]):
        if _clean(hop, path_loss):
            break
        run.insert(0, hop)
    onset = next(h for h in run if h.lost and h.hop not in reluctant)
    persistent = {h.hop for h in run if h.hop >= onset.hop}
    return Judgement(True, Onset(onset.hop, onset.address, onset.loss_ratio, path_loss,
                                 segment_of(onset.hop, dest.hop)),
                     tuple(h for h in lossy if h not in persistent and h not in reluctant), reluctant)
