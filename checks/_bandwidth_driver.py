"""bandwidth: speedtest-cli driven as a library, up to a chosen test server.

speedtest-cli is imported only when the check runs: at import time it wraps
the stdout and stderr file descriptors in UTF-8 writers, which ``payprobe
--help`` should not pay for. Its only output path in library use is
``printer`` (debug lines); it is replaced by a no-op so a check never prints.

Its HTTP goes through our opener: no proxy from the environment (payprobe
measures the device's own path), every read counted by the Meter, every
socket handed to the Reaper, every timeout from the check's deadline.
"""

from __future__ import annotations

import functools
import os
import socket
from typing import Any

from payprobe import classify as fc
from payprobe import net
from payprobe.api import CheckCancelled, CheckContext, parallel
from payprobe.checks._bandwidth_meter import Meter, MeteredOpener, Reaper, Stop
from payprobe.checks._bandwidth_phases import DOWNLOAD_SIDES, PHASE_MAX_S, UPLOAD_SIZES
from payprobe.settings import BandwidthConfig

SOCKET_TIMEOUT_S = 5.0
LATENCY_SAMPLES = 3
CLOSEST_SERVERS = 5


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


def explain(exc: BaseException, where: str) -> Unavailable:
    """An exception from speedtest-cli or our fetch, as the sentence and failure string."""
    status = _http_status(exc)
    if status is not None:
        failure = fc.HTTP_STATUS_5XX if status >= 500 else fc.HTTP_STATUS_4XX
        hint = (" (it blocks some networks and clients; set [bandwidth].mini_server to a "
                "Speedtest Mini server to measure anyway)" if status == 403 else "")
        return Unavailable(f"{where} refused the bandwidth test (HTTP {status}){hint}", failure)
    failure = fc.classify(exc)
    return Unavailable(f"{where} could not be reached for the bandwidth test ({failure})", failure)


def import_speedtest() -> Any:
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


def _ca_file(ctx: CheckContext[BandwidthConfig]) -> str:
    return getattr(ctx.settings, "ca_file", "") or ""


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


def _opener(speedtest: Any, timeout: float, tls: Any, meter: Meter, reaper: Reaper) -> MeteredOpener:
    """speedtest-cli's own handlers, with every socket given to the reaper and no proxy."""
    import urllib.request

    class HTTPConnection(speedtest.SpeedtestHTTPConnection):
        def connect(self) -> None:
            super().connect()
            reaper.add(self.sock)

    class HTTPSConnection(speedtest.SpeedtestHTTPSConnection):
        def connect(self) -> None:
            # speedtest-cli's connect() with the TCP socket registered before the
            # handshake, which a hostile server can drip out forever too.
            sock = socket.create_connection((self.host, self.port), self.timeout)
            reaper.add(sock)
            self.sock = self._context.wrap_socket(sock, server_hostname=self.host)

    class HTTPHandler(speedtest.SpeedtestHTTPHandler):
        def http_open(self, req: Any) -> Any:
            return self.do_open(functools.partial(HTTPConnection, timeout=self.timeout), req)

    class HTTPSHandler(speedtest.SpeedtestHTTPSHandler):
        def https_open(self, req: Any) -> Any:
            return self.do_open(functools.partial(HTTPSConnection, timeout=self.timeout,
                                                  context=tls), req)

    inner = urllib.request.OpenerDirector()
    for handler in (urllib.request.ProxyHandler({}),
                    HTTPHandler(timeout=timeout),
                    HTTPSHandler(context=tls, timeout=timeout),
                    urllib.request.HTTPDefaultErrorHandler(),
                    urllib.request.HTTPRedirectHandler(),
                    urllib.request.HTTPErrorProcessor()):
        inner.add_handler(handler)
    inner.addheaders = [("User-agent", speedtest.build_user_agent())]
    return MeteredOpener(inner, meter)


def build_speedtest(ctx: CheckContext[BandwidthConfig], speedtest: Any, meter: Meter, stop: Stop,
                    mini: str, reaper: Reaper) -> Any:
    """A speedtest.Speedtest on our opener; with a mini server it never asks speedtest.net."""
    timeout = ctx.timeout(SOCKET_TIMEOUT_S)
    opener = _opener(speedtest, timeout, net.tls_context(ca_file=_ca_file(ctx)), meter, reaper)

    class ProbeSpeedtest(speedtest.Speedtest):
        def __init__(self) -> None:  # noqa: D107 - replaces the base __init__ on purpose
            self.config: dict[str, Any] = {}
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
            self.servers: dict[float, list[dict[str, Any]]] = {}
            self.closest: list[dict[str, Any]] = []
            self._best: dict[str, Any] = {}
            self.results = speedtest.SpeedtestResults(client=self.config["client"],
                                                      opener=self._opener, secure=True)

    return ProbeSpeedtest()


def _check_mini_server(ctx: CheckContext[BandwidthConfig], mini: str) -> None:
    """Ask once ourselves: speedtest-cli drops the HTTP status of a refused mini server."""
    try:
        fetched = net.fetch(mini, timeout=ctx.timeout(SOCKET_TIMEOUT_S), method="GET",
                            context=net.tls_context(ca_file=_ca_file(ctx)))
    except CheckCancelled:
        raise
    except Exception as exc:  # noqa: BLE001
        raise explain(exc, "the Speedtest Mini server") from None
    status = fetched.response.status if fetched.response else 0
    if status >= 400:
        failure = fc.HTTP_STATUS_5XX if status >= 500 else fc.HTTP_STATUS_4XX
        raise Unavailable(f"the Speedtest Mini server refused the bandwidth test (HTTP {status})",
                          failure)


def find_servers(ctx: CheckContext[BandwidthConfig], speedtest: Any, st: Any,
                 mini: str) -> list[dict[str, Any]]:
    if mini:
        _check_mini_server(ctx, mini)
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


def pick_best(ctx: CheckContext[BandwidthConfig],
              servers: list[dict[str, Any]]) -> tuple[dict[str, Any], float]:
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


def connect(ctx: CheckContext[BandwidthConfig], speedtest: Any, meter: Meter, stop: Stop,
            mini: str, reaper: Reaper) -> tuple[Any, dict[str, Any], float]:
    """(speedtest, server, ping_s): a Speedtest set up on the lowest-latency server.

    Raises Unavailable, or whatever speedtest-cli raised, when there is none.
    """
    st = build_speedtest(ctx, speedtest, meter, stop, mini, reaper)
    servers = find_servers(ctx, speedtest, st, mini)
    best, ping_s = pick_best(ctx, servers)
    st._best.update(best)
    st.results.server = best
    st.results.ping = ping_s * 1000.0
    return st, best, ping_s
