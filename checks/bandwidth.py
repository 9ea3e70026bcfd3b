"""bandwidth (opt-in): download and upload throughput with speedtest-cli as a library.

Mobile data costs money, so the test is bounded twice: by a cap on bytes
([bandwidth].max_bytes, enforced while reading, not only planned) and by the
deadline (the runner gives it its own budget, after the other checks).

speedtest-cli is imported inside run(): at import time it wraps the stdout and
stderr file descriptors in UTF-8 writers, which ``payprobe --help`` should not
pay for. Its only output path in library use is ``printer`` (debug lines); it is
replaced by a no-op so a check never prints.
"""

from __future__ import annotations

import functools
import os
import socket
import threading
import time
from typing import Any, ClassVar

from payprobe import classify as fc
from payprobe import net
from payprobe.api import CheckCancelled, CheckContext, Finding, Metric, Outcome, parallel

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
SOCKET_TIMEOUT_S = 5.0
# The sockets are shut this long before the check's deadline, so the check
# still has time to say what happened.
REAP_MARGIN_S = 0.3
LATENCY_SAMPLES = 3
CLOSEST_SERVERS = 5
# A phase is given up this long before the check's deadline: speedtest-cli's
# threads do not look at the stop event while a request is opening, and on a
# slow link that can take seconds.
TAIL_MARGIN_S = 0.4
# Fewer seconds of reads than this are too few for a rate of our own.
MIN_WINDOW_S = 0.3


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


def _mbit(bps: float) -> str:
    return f"{bps / 1e6:.1f} Mbit/s"


class _Stop:
    """speedtest-cli's shutdown event: set by the byte cap, the deadline or a cancel."""

    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx
        self.phase = threading.Event()

    def isSet(self) -> bool:  # noqa: N802 - the name speedtest-cli calls
        return (self.phase.is_set() or self.ctx.cancelled.is_set()
                or time.monotonic() >= self.ctx.deadline - 0.3)

    is_set = isSet

    def set(self) -> None:
        self.phase.set()


class _Meter:
    """Counts bytes read through the opener; stops the phase at its cap."""

    def __init__(self, stop: _Stop) -> None:
        self.stop = stop
        self.lock = threading.Lock()
        self.total = 0
        self.phase_bytes = 0
        self.phase_cap = float("inf")
        self.phase_end = float("inf")
        # Reads inside the phase's length: first read (time, bytes), last read time, bytes.
        self.first: tuple[float, int] | None = None
        self.last_t = 0.0
        self.window_bytes = 0

    def start_phase(self, cap: float, length_s: float = float("inf")) -> None:
        with self.lock:
            self.phase_bytes = 0
            self.phase_cap = cap
            self.phase_end = time.monotonic() + length_s
            self.first, self.last_t, self.window_bytes = None, 0.0, 0
        self.stop.phase.clear()

    def add(self, n: int) -> None:
        now = time.monotonic()
        with self.lock:
            self.total += n
            self.phase_bytes += n
            if n and now <= self.phase_end:
                if self.first is None:
                    self.first = (now, n)
                self.last_t = now
                self.window_bytes += n
            over = self.phase_bytes >= self.phase_cap
        if over:
            self.stop.set()

    def rate_bps(self) -> float | None:
        """Bits/s between the phase's first and last read within its length.

        speedtest-cli divides by the time until its last thread ended, which
        counts connection setup at the start and, at the end, threads blocked
        in a request that started just before the phase ended: on a slow link
        seconds in which nothing is counted. The bytes of the first read
        arrived before it, so they are left out.
        """
        with self.lock:
            if self.first is None or self.last_t - self.first[0] < MIN_WINDOW_S:
                return None
            return 8.0 * (self.window_bytes - self.first[1]) / (self.last_t - self.first[0])


class _MeteredResponse:
    def __init__(self, inner: Any, meter: _Meter) -> None:
        self._inner = inner
        self._meter = meter

    def read(self, *args: Any) -> bytes:
        data = self._inner.read(*args)
        self._meter.add(len(data))
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _MeteredOpener:
    def __init__(self, inner: Any, meter: _Meter) -> None:
        self._inner = inner
        self._meter = meter

    def open(self, *args: Any, **kwargs: Any) -> Any:
        return _MeteredResponse(self._inner.open(*args, **kwargs), self._meter)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _Reaper:
    """Shuts down every socket of the test shortly before the check's deadline.

    speedtest-cli gives each socket a per-read timeout, which a server that sends
    one byte at a time (slowloris headers, a body that never ends) never lets
    fire; shutting the sockets down is the only way to get the thread back.
    """

    def __init__(self, ctx: CheckContext) -> None:
        self.fired = threading.Event()
        self._socks: list[Any] = []
        self._lock = threading.Lock()
        delay = max(0.0, ctx.deadline - time.monotonic() - REAP_MARGIN_S)
        self._timer = threading.Timer(delay, self.fire)
        self._timer.daemon = True
        self._timer.start()

    def add(self, sock: Any) -> None:
        with self._lock:
            self._socks.append(sock)
        if self.fired.is_set():
            self._shut(sock)

    def fire(self) -> None:
        self.fired.set()
        with self._lock:
            socks = list(self._socks)
        for sock in socks:
            self._shut(sock)

    def cancel(self) -> None:
        self._timer.cancel()

    @staticmethod
    def _shut(sock: Any) -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class Unavailable(Exception):
    """The test cannot run here; the message is the one sentence the person sees."""

    def __init__(self, message: str, failure: str) -> None:
        super().__init__(message)
        self.failure = failure


def _http_status(exc: BaseException | None) -> int | None:
    seen = 0
    while exc is not None and seen < 6:
        code = getattr(exc, "code", None)
        if isinstance(code, int):
            return code
        nxt = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None
        exc = nxt or exc.__cause__ or exc.__context__
        seen += 1
    return None


def _explain(exc: BaseException, where: str) -> Unavailable:
    status = _http_status(exc)
    if status is not None:
        failure = fc.HTTP_STATUS_5XX if status >= 500 else fc.HTTP_STATUS_4XX
        hint = (" (it blocks some networks and clients; set [bandwidth].mini_server to a "
                "Speedtest Mini server to measure anyway)" if status == 403 else "")
        return Unavailable(f"{where} refused the bandwidth test (HTTP {status}){hint}", failure)
    failure = fc.classify(exc)
    return Unavailable(f"{where} could not be reached for the bandwidth test ({failure})", failure)


def _import_speedtest() -> Any:
    """Import speedtest-cli without letting it own the terminal.

    At import it wraps the file descriptors of stdout and stderr in writers that
    close them when garbage-collected, at interpreter exit at the latest. With a
    stand-in stdout/stderr that has no file descriptor it keeps those instead;
    this check never lets it print anyway.
    """
    import io
    import sys
    if "speedtest" in sys.modules:
        return sys.modules["speedtest"]
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
    try:
        import speedtest
    finally:
        sys.stdout, sys.stderr = saved
    return speedtest


class BandwidthCheck:
    name: ClassVar[str] = "bandwidth"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = ("download/upload speed via speedtest.net or a Speedtest Mini "
                                  "server (opt-in: uses data)")
    timeout_s: ClassVar[float] = 45.0

    def run(self, ctx: CheckContext) -> Outcome:
        cfg = ctx.config
        if cfg.max_bytes <= 0:
            return Outcome.skipped("bandwidth.max_bytes is 0: no data may be used for a test")
        try:
            speedtest = _import_speedtest()
        except ImportError:
            return Outcome.skipped("speedtest-cli is not installed (pip install speedtest-cli)")
        # Library use must never print: debug lines go through printer().
        speedtest.printer = lambda *args, **kwargs: None

        mini = cfg.mini_server.strip()
        where = "the Speedtest Mini server" if mini else "speedtest.net"
        stop = _Stop(ctx)
        meter = _Meter(stop)
        reaper = _Reaper(ctx)
        try:
            return self._run(ctx, cfg, speedtest, stop, meter, reaper, mini, where)
        finally:
            reaper.cancel()

    def _run(self, ctx: CheckContext, cfg: Any, speedtest: Any, stop: _Stop, meter: _Meter,
             reaper: _Reaper, mini: str, where: str) -> Outcome:
        try:
            st = self._speedtest(ctx, speedtest, meter, stop, mini, reaper)
            servers = self._servers(ctx, speedtest, st, mini)
            best, ping_s = self._pick_best(ctx, servers)
        except CheckCancelled:
            raise
        except Unavailable as exc:
            if reaper.fired.is_set():
                return self._unavailable(f"{where} did not answer completely before the deadline",
                                         fc.GENERIC_TIMEOUT, mini)
            return self._unavailable(str(exc), exc.failure, mini)
        except Exception as exc:  # noqa: BLE001 - one clear sentence, not a traceback
            if reaper.fired.is_set():
                return self._unavailable(f"{where} did not answer completely before the deadline",
                                         fc.GENERIC_TIMEOUT, mini)
            err = _explain(exc, where)
            return self._unavailable(str(err), err.failure, mini)
        st._best.update(best)
        st.results.server = best
        st.results.ping = ping_s * 1000.0

        left = ctx.remaining() - 1.0
        phase_s = max(1.0, min(PHASE_MAX_S, left / 2.0))
        budget_left = max(0.0, cfg.max_bytes - meter.total)
        sides, count = plan_download(budget_left * DOWNLOAD_SHARE, int(st.config["counts"]["download"]))
        st.config["sizes"]["download"] = sides
        st.config["counts"]["download"] = count
        st.config["length"] = {"download": phase_s, "upload": phase_s}
        progress = ctx.options.get("progress_callback")

        def callback(phase: str) -> Any:
            def inner(i: int, total: int, start: bool = False, end: bool = False) -> None:
                if progress is not None and end:
                    try:
                        progress(phase, i + 1, total)
                    except Exception:  # noqa: BLE001, S110 - progress display must not break the test
                        pass
            return inner

        meter.start_phase(budget_left * DOWNLOAD_SHARE, phase_s)
        st_download = self._bounded(ctx, stop, lambda: float(st.download(
            callback=callback("download"), threads=min(st.config["threads"]["download"], 8))))
        download_capped = stop.phase.is_set()
        own_rate = meter.rate_bps()
        download_bps = own_rate if own_rate is not None else (st_download or 0.0)
        received = meter.phase_bytes if st_download is None else int(st.results.bytes_received)

        upload_budget = max(0.0, cfg.max_bytes - meter.total)
        up_sizes, up_count = plan_upload(upload_budget, int(st.config["counts"]["upload"]))
        upload_bps = 0.0
        sent = 0
        if ctx.remaining() > 1.5 and upload_budget >= UPLOAD_SIZES[0]:
            st.config["sizes"]["upload"] = up_sizes
            st.config["counts"]["upload"] = up_count
            # upload() waits for upload_max requests: it must equal what it will send.
            st.config["upload_max"] = len(up_sizes) * up_count
            st.config["length"]["upload"] = max(1.0, min(PHASE_MAX_S, ctx.remaining() - 1.0 - TAIL_MARGIN_S))
            meter.start_phase(float("inf"))
            st_upload = self._bounded(ctx, stop, lambda: float(st.upload(
                callback=callback("upload"), pre_allocate=True,
                threads=min(st.config["threads"]["upload"], 4))))
            if st_upload is not None:
                upload_bps, sent = st_upload, int(st.results.bytes_sent)

        # The meter counts what was read (config, pages, downloads); uploads are what was sent.
        return self._result(ctx, best, mini, ping_s, download_bps, upload_bps, received, sent,
                            meter.total + sent, download_capped)

    @staticmethod
    def _bounded(ctx: CheckContext, stop: _Stop, fn: Any) -> float | None:
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

    # ------------------------------------------------------------ setup

    def _speedtest(self, ctx: CheckContext, speedtest: Any, meter: _Meter, stop: _Stop,
                   mini: str, reaper: _Reaper) -> Any:
        import urllib.request

        timeout = ctx.timeout(SOCKET_TIMEOUT_S)
        tls = net.tls_context(ca_file=getattr(ctx.settings, "ca_file", "") or "")
        inner = urllib.request.OpenerDirector()
        # No ProxyHandler from the environment: payprobe measures the device's own path.

        class HTTPConnection(speedtest.SpeedtestHTTPConnection):  # type: ignore[misc, name-defined]
            def connect(self) -> None:
                super().connect()
                reaper.add(self.sock)

        class HTTPSConnection(speedtest.SpeedtestHTTPSConnection):  # type: ignore[misc, name-defined]
            def connect(self) -> None:
                # speedtest-cli's connect() with the TCP socket registered before the
                # handshake, which a hostile server can drip out forever too.
                sock = socket.create_connection((self.host, self.port), self.timeout)
                reaper.add(sock)
                self.sock = self._context.wrap_socket(sock, server_hostname=self.host)

        class HTTPHandler(speedtest.SpeedtestHTTPHandler):  # type: ignore[misc, name-defined]
            def http_open(self, req: Any) -> Any:
                return self.do_open(functools.partial(HTTPConnection, timeout=self.timeout), req)

        class HTTPSHandler(speedtest.SpeedtestHTTPSHandler):  # type: ignore[misc, name-defined]
            def https_open(self, req: Any) -> Any:
                return self.do_open(functools.partial(HTTPSConnection, timeout=self.timeout,
                                                      context=tls), req)

        for handler in (urllib.request.ProxyHandler({}),
                        HTTPHandler(timeout=timeout),
                        HTTPSHandler(context=tls, timeout=timeout),
                        urllib.request.HTTPDefaultErrorHandler(),
                        urllib.request.HTTPRedirectHandler(),
                        urllib.request.HTTPErrorProcessor()):
            inner.add_handler(handler)
        inner.addheaders = [("User-agent", speedtest.build_user_agent())]
        opener = _MeteredOpener(inner, meter)

        class ProbeSpeedtest(speedtest.Speedtest):  # type: ignore[misc, name-defined]
            """Speedtest with our opener; with a mini server it never asks speedtest.net."""

            def __init__(self) -> None:  # noqa: D107 - replaces the base __init__ on purpose
                self.config = {}
                self._source_address = None
                self._timeout = timeout
                self._opener = opener
                self._secure = True
                self._shutdown_event = stop
                if mini:
                    self.config.update(_mini_config())
                    self.lat_lon = (0.0, 0.0)
                else:
                    self.get_config()
                    if "sizes" not in self.config:
                        raise Unavailable("speedtest.net sent no usable configuration",
                                          fc.HTTP_PROTOCOL_ERROR)
                self.servers = {}
                self.closest = []
                self._best = {}
                self.results = speedtest.SpeedtestResults(client=self.config["client"],
                                                          opener=self._opener, secure=True)

        return ProbeSpeedtest()

    def _servers(self, ctx: CheckContext, speedtest: Any, st: Any, mini: str) -> list[dict[str, Any]]:
        if mini:
            # Ask once ourselves: speedtest-cli drops the HTTP status of a refused mini server.
            try:
                fetched = net.fetch(mini, timeout=ctx.timeout(SOCKET_TIMEOUT_S), method="GET",
                                    context=net.tls_context(ca_file=getattr(ctx.settings, "ca_file", "") or ""))
            except CheckCancelled:
                raise
            except Exception as exc:  # noqa: BLE001
                raise _explain(exc, "the Speedtest Mini server") from None
            status = fetched.response.status if fetched.response else 0
            if status >= 400:
                failure = fc.HTTP_STATUS_5XX if status >= 500 else fc.HTTP_STATUS_4XX
                raise Unavailable(f"the Speedtest Mini server refused the bandwidth test (HTTP {status})",
                                  failure)
            try:
                return list(st.set_mini_server(mini))
            except speedtest.InvalidSpeedtestMiniServer:
                raise Unavailable("the configured mini_server is not a Speedtest Mini server",
                                  fc.HTTP_PROTOCOL_ERROR) from None
        st.get_servers()
        closest = st.get_closest_servers(CLOSEST_SERVERS)
        if not closest:
            raise Unavailable("speedtest.net returned no test server", fc.HTTP_PROTOCOL_ERROR)
        return list(closest)

    def _pick_best(self, ctx: CheckContext, servers: list[dict[str, Any]]) -> tuple[dict[str, Any], float]:
        """Lowest latency.txt round trip; our own timing, bounded by ctx.timeout()."""

        def latency(server: dict[str, Any]) -> float:
            url = os.path.dirname(server["url"]) + "/latency.txt"
            best = float("inf")
            for _ in range(LATENCY_SAMPLES):
                try:
                    fetched = net.fetch(url, timeout=ctx.timeout(2.0), read_body=9)
                except CheckCancelled:
                    break
                except Exception:  # noqa: BLE001 - a server that does not answer is not picked
                    continue
                resp = fetched.response
                if resp is not None and resp.status == 200 and resp.body.startswith(b"test=test"):
                    best = min(best, resp.ttfb_s)
            return best

        results = parallel(latency, servers, ctx)
        ranked = sorted((r, i) for i, r in enumerate(results) if isinstance(r, float) and r != float("inf"))
        if not ranked:
            raise Unavailable("no bandwidth test server answered its latency probe",
                              fc.GENERIC_TIMEOUT)
        ping_s, index = ranked[0]
        best = dict(servers[index])
        best["latency"] = ping_s * 1000.0
        return best, ping_s

    # ------------------------------------------------------------ results

    def _unavailable(self, message: str, failure: str, mini: str) -> Outcome:
        target = mini or "speedtest.net"
        return Outcome(status="error", error=failure, summary=message, findings=[Finding(
            "bandwidth.unavailable", "info", message, target=target,
            data={"download_bps": None, "upload_bps": None, "failure": failure})])

    def _result(self, ctx: CheckContext, best: dict[str, Any], mini: str, ping_s: float,
                download_bps: float, upload_bps: float, received: int, sent: int, total: int,
                download_capped: bool) -> Outcome:
        cfg = ctx.config
        download_bps, upload_bps = round(download_bps, 1), round(upload_bps, 1)
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
                             "download_capped": download_capped})
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
        up = _mbit(upload_bps) if sent else "not measured (no time or data left)"
        out.summary = (f"download {_mbit(download_bps)}, upload {up}, ping {ping_s * 1000:.0f} ms "
                       f"via {'the Speedtest Mini server' if mini else 'speedtest.net'} "
                       f"(used {total / 1e6:.1f} MB of a {cfg.max_bytes / 1e6:.0f} MB cap)")
        return out


def _mini_config() -> dict[str, Any]:
    """What speedtest.net's configuration would give, for a mini server (never asked)."""
    return {
        "client": {"ip": "", "isp": "", "lat": "0", "lon": "0", "country": ""},
        "ignore_servers": [],
        "sizes": {"upload": list(UPLOAD_SIZES), "download": list(DOWNLOAD_SIDES)},
        "counts": {"upload": 2, "download": 2},
        "threads": {"upload": 2, "download": 4},
        "length": {"upload": PHASE_MAX_S, "download": PHASE_MAX_S},
        "upload_max": 2 * len(UPLOAD_SIZES),
    }
