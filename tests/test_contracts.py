"""Numbers other programs depend on: exit codes (DESIGN §3) and how a stopped probe is named."""

from __future__ import annotations

import threading
import time

import pytest
from payprobe import classify as fc
from payprobe.api import CheckCancelled, CheckContext, parallel
from payprobe.engine.exitcodes import ExitStatus


def test_exit_codes_when_read_by_other_programs_keep_their_numbers():
    assert {s.name: int(s) for s in ExitStatus} == {
        "HEALTHY": 0, "DEGRADED": 1, "UNHEALTHY": 2, "INTERNAL_ERROR": 3,
        "USAGE": 64, "BUSY": 75, "INTERRUPTED": 130,
    }
    assert ExitStatus.SUCCESS is ExitStatus.HEALTHY


@pytest.mark.parametrize(("status", "code"), [
    ("healthy", 0), ("degraded", 1), ("unhealthy", 2), ("garbage", 3), ("", 3),
])
def test_exit_code_for_a_report_status_when_mapped_is_the_documented_number(status, code):
    assert ExitStatus.for_status(status) == code


def _ctx(deadline_s: float, cancelled: threading.Event | None = None) -> CheckContext[None]:
    from payprobe.api import Blackboard
    from payprobe.host import HostInfo
    from payprobe.settings import Settings
    return CheckContext(name="t", config=None, settings=Settings(), deadline=time.monotonic() + deadline_s,
                        cancelled=cancelled or threading.Event(), shared=Blackboard(),
                        host=HostInfo(platform="linux", termux=False, os="Linux", python="3"))


def test_classify_when_a_probe_runs_out_of_time_says_timeout():
    ctx = _ctx(0.0)
    with pytest.raises(CheckCancelled) as caught:
        ctx.timeout()
    assert fc.classify(caught.value) == fc.GENERIC_TIMEOUT


def test_classify_when_the_run_is_stopped_says_cancelled():
    stop = threading.Event()
    stop.set()
    ctx = _ctx(30.0, stop)
    with pytest.raises(CheckCancelled) as caught:
        ctx.timeout()
    assert caught.value.stopped
    assert fc.classify(caught.value) == fc.CANCELLED


def test_parallel_when_an_item_outlives_the_deadline_hands_back_a_timeout():
    release = threading.Event()
    ctx = _ctx(0.2)
    results = parallel(lambda item: release.wait(5) and item, [1], ctx)
    release.set()
    assert isinstance(results[0], CheckCancelled)
    assert fc.classify(results[0]) == fc.GENERIC_TIMEOUT
