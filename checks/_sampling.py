"""Adaptive sampling: when an endpoint's samples already agree, what to do next.

The endpoints check takes ``latency.samples`` samples per endpoint one after
another (the next one's connect overlapping the previous one's wait for its
first byte: payprobe.checks._endpoint_pipeline, which holds the next sample back
wherever that could change what they agree on). Once the first ones agree,
more of them would only make the verdict wait (issue 15: a stalled or slow
provider must not hold up the run). What the samples agree on decides what happens:

===========  =================================================================
``stalled``  stop. A sample made no progress for net.STALL_S while the peer
             had acknowledged everything we sent: the peer (or the path back)
             is silent, and another sample would wait as long again. A stall
             with our segments unacknowledged is what a lossy link does, so it
             stops nothing (it is one lost sample).
``slow``     stop. :data:`AGREE` samples, each slower than ``latency.fail_ms``
             (connect or first byte): every further sample costs more than a
             second. Warn-level slowness costs too little to be worth it.
``down``     the rest are taken **at once**, not one after another. The first
             :data:`AGREE` samples all timed out: a blackholed server does
             that, and so, now and then, does a lossy link. The planned
             number of samples is what tells them apart (and what the
             diagnosis weighs against the loss seen elsewhere), so none is
             dropped; taken together they cost one timeout instead of several.
===========  =================================================================

A stopped endpoint's loss ratio is over the samples taken (the evidence says
so); samples cut off by the deadline still count against the planned number.
"""

from __future__ import annotations

from payprobe import classify as fc
from payprobe import net
from payprobe.checks._endpoint_samples import DOWN, SLOW, STALLED, Adapted, Sample
from payprobe.settings import LatencyConfig

# How many samples must agree: the fewest that can (one sample is an anecdote),
# and what a 1.5 s first byte allows within issue 15's 4 s verdict.
AGREE = 2
# The rest of a "down" endpoint's samples are taken this many at a time.
BURST_WORKERS = 4


def agreement(samples: list[Sample], cfg: LatencyConfig) -> Adapted | None:
    """What the samples so far agree on (see the module's table), or None."""
    if not samples:
        return None
    last = samples[-1]
    # After the connect only: an unanswered SYN is the "down" case below.
    if (last.stalled and last.phase != "connect" and last.unacked in (0, None)
            and not any(s.ok for s in samples)):
        return Adapted(STALLED, len(samples), f"no progress in {last.phase} for {net.STALL_S:g} s "
                       "with everything sent acknowledged: the peer is silent")
    if len(samples) < AGREE:
        return None
    fail_s = float(cfg.fail_ms) / 1000.0
    if all(s.ok and slowest_s(s) > fail_s for s in samples):
        return Adapted(SLOW, len(samples), f"{len(samples)} samples each slower than "
                       f"latency.fail_ms ({cfg.fail_ms:g} ms)")
    failures = {s.failure for s in samples}
    if (failures == {fc.GENERIC_TIMEOUT} and all(s.phase != "deadline" for s in samples)):
        return Adapted(DOWN, len(samples), f"the first {len(samples)} samples all timed out; "
                       "the rest were taken at once")
    return None


def slowest_s(s: Sample) -> float:
    """The phase the slow finding judges: connect or first byte, whichever is slower."""
    return max(s.connect_s or 0.0, s.ttfb_s or 0.0)
