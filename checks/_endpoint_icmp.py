"""The endpoints check's ping: one unprivileged ICMP echo series per address.

Evidence only, beside the samples. Endpoints that share an address (a
provider's several URLs on one host, or a thousand endpoints on a few CDN
addresses) share its ping: the path to an address is the same whichever URL
is asked of it, and pinging it once per endpoint would multiply the packets
and the wait by the number of endpoints.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from payprobe import classify as fc
from payprobe.api import CheckCancelled, CheckContext
from payprobe.settings import LatencyConfig

ICMP_COUNT = 3
# How long an endpoint waits for its address's ping once its samples are done.
ICMP_WAIT_S = 2.0
DISABLED = {"status": "skipped", "reason": "disabled by latency.icmp = false"}
NOT_PERMITTED = "unprivileged ICMP is not permitted here (net.ipv4.ping_group_range)"


def icmp_socket_permitted(address: str) -> bool:
    """Whether this process may open the datagram ICMP socket icmplib's unprivileged
    ping opens (False only on PermissionError, as icmplib reports it).

    Asked first so that where it is not permitted the run does not import icmplib,
    which imports asyncio: about 8 MB of a default run's RSS, for nothing."""
    v6 = ":" in address
    try:
        socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM,
                      socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP).close()
    except PermissionError:
        return False
    except OSError:
        return True   # anything else: icmplib's own attempt says what it is
    return True


class Ping:
    """One address's ping, running in a daemon thread until it has a result."""

    def __init__(self, ctx: CheckContext[LatencyConfig], address: str) -> None:
        self.result: dict[str, Any] = {}
        self.thread = threading.Thread(target=self._run, args=(ctx, address), daemon=True,
                                       name=f"icmp-{address}")
        self.thread.start()

    def wait(self, ctx: CheckContext[LatencyConfig]) -> dict[str, Any]:
        try:
            self.thread.join(ctx.timeout(ICMP_WAIT_S))
        except CheckCancelled:
            pass
        if self.thread.is_alive() or not self.result:
            return {"status": "skipped", "reason": "no answer before the deadline"}
        return self.result

    def _run(self, ctx: CheckContext[LatencyConfig], address: str) -> None:
        """Unprivileged ping (a datagram ICMP socket).

        Linux allows it only for groups in net.ipv4.ping_group_range; Android
        allows it for apps. When it is not permitted we say so and move on.
        """
        if not icmp_socket_permitted(address):
            self.result = {"status": "skipped", "reason": NOT_PERMITTED}
            return
        try:
            from icmplib import ping
        except ImportError:
            self.result = {"status": "skipped", "reason": "icmplib is not installed"}
            return
        try:
            host = ping(address, count=ICMP_COUNT, interval=0.2, timeout=ctx.timeout(1.0),
                        privileged=False)
        except CheckCancelled:
            self.result = {"status": "skipped", "reason": "deadline reached"}
            return
        except Exception as exc:  # noqa: BLE001 - permission and socket errors alike
            name = type(exc).__name__
            reason = (NOT_PERMITTED if "Permission" in name or isinstance(exc, PermissionError)
                      else fc.describe(exc))
            self.result = {"status": "skipped", "reason": reason}
            return
        self.result = {
            "status": "ok", "sent": host.packets_sent, "received": host.packets_received,
            "loss_ratio": host.packet_loss,
            "avg_rtt_s": round(host.avg_rtt / 1000.0, 6) if host.packets_received else None}


class Pings:
    """The run's pings, one per address, shared by the endpoints on it."""

    def __init__(self, ctx: CheckContext[LatencyConfig]) -> None:
        self.ctx = ctx
        self.enabled = bool(getattr(ctx.config, "icmp", True))
        self.lock = threading.Lock()
        self.by_address: dict[str, Ping] = {}

    def start(self, address: str) -> Ping | None:
        """The ping of ``address``, started by the first endpoint that asks."""
        if not self.enabled:
            return None
        with self.lock:
            ping = self.by_address.get(address)
            if ping is None:
                ping = self.by_address[address] = Ping(self.ctx, address)
            return ping

    def result(self, ping: Ping | None) -> dict[str, Any]:
        return dict(DISABLED) if ping is None else dict(ping.wait(self.ctx))
