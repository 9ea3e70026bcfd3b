"""bandwidth (opt-in): download and upload throughput with speedtest-cli as a library.

Mobile data costs money, so the test is bounded twice: by a cap on bytes
([bandwidth].max_bytes, enforced while reading, not only planned) and by the
deadline (the runner gives it its own budget, after the other checks).

=========================  ==================================================
``bandwidth``              the check: its steps and what the result means
``_bandwidth_driver``      speedtest-cli as a library, up to a chosen server
``_bandwidth_phases``      the download and upload phases, planned to the cap
``_bandwidth_meter``       the bounds: bytes read, stop event, socket reaper
``_responsiveness_probe``  round trips to the endpoints, idle and under load
``_responsiveness``        RPM, the bufferbloat grade, ``net.bufferbloat``
=========================  ==================================================

While the link is loaded, latency to the payment endpoints is measured beside
the load and compared with the same measured idle just before it: a queue that
fills under load (bufferbloat) makes payments time out on a link whose speed
looks fine.
"""

from __future__ import annotations

from typing import Any, ClassVar

from payprobe import classify as fc
from payprobe.api import CheckCancelled, CheckContext, Finding, Metric, Outcome
from payprobe.checks._bandwidth_driver import Unavailable, connect, explain, import_speedtest
from payprobe.checks._bandwidth_meter import Meter, Reaper, Stop
from payprobe.checks._bandwidth_phases import PhaseResult, measure_download, measure_upload
from payprobe.checks._responsiveness import Judgement
from payprobe.checks._responsiveness_probe import Responsiveness
from payprobe.settings import BandwidthConfig


def _mbit(bps: float) -> str:
    return f"{bps / 1e6:.1f} Mbit/s"


class BandwidthCheck:
    name: ClassVar[str] = "bandwidth"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = ("download/upload speed via speedtest.net or a Speedtest Mini "
                                  "server (opt-in: uses data)")
    timeout_s: ClassVar[float] = 45.0
    needs_network: ClassVar[bool] = True   # skipped once the device is certainly offline

    def run(self, ctx: CheckContext[BandwidthConfig]) -> Outcome:
        if ctx.config.max_bytes <= 0:
            return Outcome.skipped("bandwidth.max_bytes is 0: no data may be used for a test")
        try:
            speedtest = import_speedtest()
        except ImportError:
            return Outcome.skipped("speedtest-cli is not installed (pip install speedtest-cli)")
        # Library use must never print: debug lines go through printer().
        speedtest.printer = lambda *args, **kwargs: None

        stop = Stop(ctx)
        reaper = Reaper(ctx)
        try:
            return self._run(ctx, speedtest, stop, Meter(stop), reaper)
        finally:
            reaper.cancel()

    def _run(self, ctx: CheckContext[BandwidthConfig], speedtest: Any, stop: Stop, meter: Meter,
             reaper: Reaper) -> Outcome:
        """1. a server, 2. the download, 3. the upload with what is left, 4. the judgement."""
        mini = ctx.config.mini_server.strip()
        where = "the Speedtest Mini server" if mini else "speedtest.net"
        try:
            st, best, ping_s = connect(ctx, speedtest, meter, stop, mini, reaper)
        except CheckCancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - one clear sentence, not a traceback
            if reaper.fired.is_set():
                return self._unavailable(f"{where} did not answer completely before the deadline",
                                         fc.GENERIC_TIMEOUT, mini)
            err = exc if isinstance(exc, Unavailable) else explain(exc, where)
            return self._unavailable(str(err), err.failure, mini)

        responsiveness = Responsiveness(ctx, threshold_ms=ctx.config.bufferbloat_ms)
        responsiveness.before_load(list(ctx.settings.endpoints))
        with responsiveness.during("download"):
            download = measure_download(ctx, st, stop, meter)
        with responsiveness.during("upload"):
            upload = measure_upload(ctx, st, stop, meter)
        # Loaded: the phase moved data over a link that carried the download (a
        # link that died meanwhile would time every probe out, which is no queue).
        carried = download.bytes_moved > 0
        judged = responsiveness.judge({"download": carried, "upload": carried and upload.attempted})
        # The meter counts what was read (config, pages, downloads); uploads are what was sent.
        out = self._result(ctx, best, mini, ping_s, download, upload, meter.total + upload.bytes_moved)
        return self._with_responsiveness(out, judged)

    @staticmethod
    def _with_responsiveness(out: Outcome, judged: Judgement) -> Outcome:
        out.metrics += judged.metrics
        out.findings += judged.findings
        out.evidence.append(judged.evidence)
        if judged.summary:
            out.summary += "; " + judged.summary
        return out

    # ------------------------------------------------------------ results

    def _unavailable(self, message: str, failure: str, mini: str) -> Outcome:
        target = mini or "speedtest.net"
        return Outcome(status="error", error=failure, summary=message, findings=[Finding(
            "bandwidth.unavailable", "info", message, target=target,
            data={"download_bps": None, "upload_bps": None, "failure": failure})])

    def _result(self, ctx: CheckContext[BandwidthConfig], best: dict[str, Any], mini: str,
                ping_s: float, download: PhaseResult, upload: PhaseResult, total: int) -> Outcome:
        cfg = ctx.config
        download_bps, upload_bps = round(download.bits_per_second, 1), round(upload.bits_per_second, 1)
        received, sent = download.bytes_moved, upload.bytes_moved
        target = mini or f"{best.get('sponsor', '')} ({best.get('name', '')})".strip()
        out = Outcome()
        out.metrics += [
            Metric("download_bits_per_second", download_bps, "bit/s"),
            Metric("upload_bits_per_second", upload_bps, "bit/s"),
            Metric("bandwidth_ping_seconds", round(ping_s, 6), "s"),
            Metric("bandwidth_bytes_total", float(total), "bytes"),
            Metric("bandwidth_download_bytes", float(received), "bytes"),
            Metric("bandwidth_upload_bytes", float(sent), "bytes"),
        ]
        out.evidence.append({"what": "bandwidth_server", "sponsor": best.get("sponsor"),
                             "name": best.get("name"), "country": best.get("country"),
                             "mini": bool(mini), "max_bytes": cfg.max_bytes,
                             "download_capped": download.capped})
        low = []
        if received and download_bps < cfg.low_download_bps:
            low.append(f"download {_mbit(download_bps)} (below {_mbit(cfg.low_download_bps)})")
        if sent and upload_bps < cfg.low_upload_bps:
            low.append(f"upload {_mbit(upload_bps)} (below {_mbit(cfg.low_upload_bps)})")
        if low:
            out.findings.append(Finding(
                "bandwidth.low", "warn", "the connection is slow: " + ", ".join(low),
                target=target,
                data={"download_bps": download_bps, "upload_bps": upload_bps if sent else None,
                      "failure": None, "low_download_bps": cfg.low_download_bps,
                      "low_upload_bps": cfg.low_upload_bps}))
        up = (_mbit(upload_bps) if sent else "not measured (it did not finish before the deadline)"
              if upload.attempted else "not measured (no time or data left)")
        out.summary = (f"download {_mbit(download_bps)}, upload {up}, ping {ping_s * 1000:.0f} ms "
                       f"via {'the Speedtest Mini server' if mini else 'speedtest.net'} "
                       f"(used {total / 1e6:.1f} MB of a {cfg.max_bytes / 1e6:.0f} MB cap)")
        return out
