"""bandwidth: the download and the upload phase, planned to fit the byte cap.

Each phase tells speedtest-cli which sizes to move, how often and for how
long, runs it in a thread that is given up before the deadline, and reads
the rate: for the download our own meter's, for the upload speedtest-cli's
(what is sent is not read through the opener).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from payprobe.api import CheckContext
from payprobe.checks._bandwidth_meter import Meter, Stop
from payprobe.settings import BandwidthConfig

# speedtest-cli's download files are randomNxN.jpg; their size is close to 2*N*N bytes.
DOWNLOAD_SIDES = (350, 500, 750, 1000, 1500, 2000, 2500, 3000, 3500, 4000)


def _fillable(size: int) -> bool:
    """speedtest-cli builds an upload body of 'content1=' + 36-char blocks rounded to the
    nearest block and sends Content-Length: size; for some sizes (65536) the body comes out
    shorter than announced and the server waits for the rest until the socket times out."""
    return 36 * round(size / 36.0) >= size - 9


UPLOAD_SIZES = tuple(s for s in (32768, 65536, 131072, 262144, 524288, 1048576, 7340032)
                     if _fillable(s))
DOWNLOAD_SHARE = 0.7          # of max_bytes; the rest is for the upload
PHASE_MAX_S = 10.0            # speedtest.net's own test length per direction
# A phase is given up this long before the check's deadline: speedtest-cli's
# threads do not look at the stop event while a request is opening, and on a
# slow link that can take seconds.
TAIL_MARGIN_S = 0.4


@dataclass(frozen=True)
class PhaseResult:
    """One direction's rate and bytes; capped: the byte cap ended it; attempted: the
    transfer started (an upload given up at the deadline moved data nobody counted)."""

    bits_per_second: float = 0.0
    bytes_moved: int = 0
    capped: bool = False
    attempted: bool = False


def estimated_download_bytes(side: int) -> int:
    return 2 * side * side


def plan_download(budget_bytes: float, per_size: int) -> tuple[list[int], int]:
    """(sides, count): speedtest-cli fetches every side ``count`` times; smallest sides
    first, as many as fit the budget by their estimated size."""
    return _plan(DOWNLOAD_SIDES, [estimated_download_bytes(s) for s in DOWNLOAD_SIDES],
                 budget_bytes, per_size)


def plan_upload(budget_bytes: float, per_size: int) -> tuple[list[int], int]:
    return _plan(UPLOAD_SIZES, list(UPLOAD_SIZES), budget_bytes, per_size)


def _plan(items: tuple[int, ...], sizes: list[int], budget: float, count: int) -> tuple[list[int], int]:
    count = max(1, count)
    chosen: list[int] = []
    total = 0
    for item, size in zip(items, sizes, strict=True):
        if total + size * count > budget:
            break
        chosen.append(item)
        total += size * count
    if not chosen:
        # Not even one round of the smallest: fewer repetitions of it (at least one).
        return [items[0]], max(1, min(count, int(budget // sizes[0])))
    return chosen, count


def run_bounded(ctx: CheckContext[BandwidthConfig], stop: Stop, fn: Callable[[], Any]) -> float | None:
    """fn() in a thread, given up TAIL_MARGIN_S before the deadline (None then).

    The check must end by itself with what it measured, not be stopped by
    the runner as a timeout; speedtest-cli's threads are daemons and end
    at their socket timeout.
    """
    result: list[Any] = []

    def target() -> None:
        try:
            result.append(fn())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the check's thread
            result.append(exc)

    worker = threading.Thread(target=target, daemon=True, name="bandwidth-phase")
    worker.start()
    worker.join(max(0.0, ctx.deadline - time.monotonic() - TAIL_MARGIN_S))
    if worker.is_alive():
        stop.set()
        return None
    if isinstance(result[0], BaseException):
        raise result[0]
    return float(result[0])


def _progress(ctx: CheckContext[BandwidthConfig], phase: str) -> Callable[..., None]:
    """speedtest-cli's per-request callback, passed on to the run's progress display."""
    progress = ctx.options.get("progress_callback")

    def inner(i: int, total: int, start: bool = False, end: bool = False) -> None:
        if progress is not None and end:
            try:
                progress(phase, i + 1, total)
            except Exception:  # noqa: BLE001, S110 - progress display must not break the test
                pass
    return inner


def measure_download(ctx: CheckContext[BandwidthConfig], st: Any, stop: Stop, meter: Meter) -> PhaseResult:
    """Plan the download into DOWNLOAD_SHARE of the bytes left and about half the time left."""
    phase_s = max(1.0, min(PHASE_MAX_S, (ctx.remaining() - 1.0) / 2.0))
    budget_left = max(0.0, ctx.config.max_bytes - meter.total)
    sides, count = plan_download(budget_left * DOWNLOAD_SHARE, int(st.config["counts"]["download"]))
    st.config["sizes"]["download"] = sides
    st.config["counts"]["download"] = count
    st.config["length"] = {"download": phase_s, "upload": phase_s}

    meter.start_phase(budget_left * DOWNLOAD_SHARE, phase_s)
    st_download = run_bounded(ctx, stop, lambda: float(st.download(
        callback=_progress(ctx, "download"), threads=min(st.config["threads"]["download"], 8))))
    capped = stop.phase.is_set()
    own_rate = meter.rate_bps()
    download_bps = own_rate if own_rate is not None else (st_download or 0.0)
    received = meter.phase_bytes if st_download is None else int(st.results.bytes_received)
    return PhaseResult(download_bps, received, capped, attempted=True)


def measure_upload(ctx: CheckContext[BandwidthConfig], st: Any, stop: Stop, meter: Meter) -> PhaseResult:
    """Upload what is left of the cap in the time left; nothing when too little is left."""
    upload_budget = max(0.0, ctx.config.max_bytes - meter.total)
    up_sizes, up_count = plan_upload(upload_budget, int(st.config["counts"]["upload"]))
    if ctx.remaining() <= 1.5 or upload_budget < UPLOAD_SIZES[0]:
        return PhaseResult()
    st.config["sizes"]["upload"] = up_sizes
    st.config["counts"]["upload"] = up_count
    # upload() waits for upload_max requests: it must equal what it will send.
    st.config["upload_max"] = len(up_sizes) * up_count
    st.config["length"]["upload"] = max(1.0, min(PHASE_MAX_S, ctx.remaining() - 1.0 - TAIL_MARGIN_S))
    meter.start_phase(float("inf"))
    st_upload = run_bounded(ctx, stop, lambda: float(st.upload(
        callback=_progress(ctx, "upload"), pre_allocate=True,
        threads=min(st.config["threads"]["upload"], 4))))
    if st_upload is None:
        return PhaseResult(attempted=True)
    return PhaseResult(st_upload, int(st.results.bytes_sent), attempted=True)
