"""Is the link itself losing packets? What the run's places (payprobe.reports.evidence) say.

A link that loses packets leaves a pattern no single fault does: the *same*
place answers some tries and loses others (a flaky place), and the losses land
on several unrelated places at once (resolvers, check URLs, several providers).
A server that is down fails every try, at that server only; a dead resolver
fails every lookup; a firewall fails the same thing every time.

=====================  =====================================================
``flaky``              places that answered some tries and lost others after
                       the name resolved (endpoint samples, resolver queries)
``lossy_groups``       the groups (providers, resolvers, check URLs, time
                       sources) where any try was lost or a lookup timed out
``lossy``              the link loses packets: some place is flaky and the
                       losses span two groups or more
``answered``           places where anything answered: the device is online
``explains(p, n)``     could loss at the rate seen on the other providers
                       plausibly have taken all ``n`` of provider ``p``'s tries?
=====================  =====================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field

from payprobe.reports.evidence import SYSTEM_RESOLVER, Place

# Below this probability that the loss seen elsewhere took every one of a
# provider's tries (by chance, on any of the providers), its failure is its own.
CHANCE_FLOOR = 1e-3
# Fewer tries than this on the other providers say too little about the link's loss rate.
FEW_TRIES = 4


@dataclass
class LinkView:
    places: list[Place] = field(default_factory=list)

    @property
    def flaky(self) -> list[Place]:
        return [p for p in self.places if p.flaky]

    @property
    def lossy_groups(self) -> list[str]:
        groups: list[str] = []
        for p in self.places:
            if (p.lossy or p.dns_lossy) and p.group not in groups:
                groups.append(p.group)
        return groups

    @property
    def lossy(self) -> bool:
        return bool(self.flaky) and len(self.lossy_groups) >= 2

    @property
    def answered(self) -> list[Place]:
        return [p for p in self.places if p.ok > 0]

    def answered_beyond_dns(self) -> list[Place]:
        """Places other than the system resolver that answered: the device is online."""
        return [p for p in self.answered if not (p.layer == "dns" and p.name == SYSTEM_RESOLVER)]

    def system_resolver(self) -> Place | None:
        return next((p for p in self.places if p.layer == "dns" and p.name == SYSTEM_RESOLVER), None)

    def lookups_timed_out(self) -> list[Place]:
        """Places where a name lookup timed out (the system resolver's own queries included)."""
        return [p for p in self.places if p.dns_lossy]

    def loss_elsewhere(self, provider: str) -> tuple[int, int]:
        """(tries lost, tries made) after the name resolved, on the other providers' places.

        On a lossy link where the other providers made too few such tries to tell (their
        names did not resolve, say), every other place counts, lookups included."""
        lost = tried = 0
        for p in self.places:
            if p.provider and p.provider != provider and p.layer in ("endpoints", "tls"):
                lost += p.lossy
                tried += p.ok + p.lossy
        if tried < FEW_TRIES and self.lossy:
            others = [p for p in self.places if p.provider != provider]
            lost = sum(p.lossy + p.dns_lossy for p in others)
            tried = lost + sum(p.ok for p in others)
        return lost, tried

    def explains(self, provider: str, lost_tries: int) -> bool:
        """Whether the loss rate seen on the other providers plausibly took all
        ``lost_tries`` of ``provider``'s tries: K * q ** n >= CHANCE_FLOOR, with K
        the number of providers (any of them could have been the unlucky one)."""
        lost, tried = self.loss_elsewhere(provider)
        if not lost or not tried or lost_tries <= 0:
            return False
        providers = len({p.provider for p in self.places if p.provider}) or 1
        return providers * (lost / tried) ** lost_tries >= CHANCE_FLOOR

    def provider_tries(self, provider: str) -> tuple[int, int, int]:
        """(answered, lost after resolving, lookups that failed) over a provider's places."""
        mine = [p for p in self.places if p.provider == provider]
        return (sum(p.ok for p in mine), sum(p.lossy for p in mine),
                sum(p.count("dns_lossy", "dns_hard") for p in mine))
