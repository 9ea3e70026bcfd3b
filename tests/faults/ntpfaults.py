"""An NTP server (UDP) that answers with lies, or not at all.

Modes:

- ``zero_timestamps``: every timestamp 0.
- ``far_future``: receive and transmit at the end of NTP era 0 (year 2106).
- ``tx_before_recv``: the server "sent" its answer 5 s before it received the request.
- ``tx_before_orig``: receive and transmit one day before our originate timestamp.
- ``orig_not_echoed``: the originate timestamp is not our transmit timestamp.
- ``leap3``: leap indicator 3 (the server's clock is unsynchronised).
- ``stratum0_kod``: stratum 0 with a RATE kiss code (kiss-o'-death).
- ``client_mode``: mode 3 (a client request) instead of mode 4.
- ``short_packet``: 20 bytes.
- ``garbage``: 48 random bytes.
- ``silent``: reads the request, never answers.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import time

from tests.faults.servers import Server

MODES = ("zero_timestamps", "far_future", "tx_before_recv", "tx_before_orig", "orig_not_echoed",
         "leap3", "stratum0_kod", "client_mode", "short_packet", "garbage", "silent")
NTP_EPOCH_OFFSET_S = 2208988800.0


def to_ntp(unix_s: float) -> bytes:
    ntp = unix_s + NTP_EPOCH_OFFSET_S
    seconds = int(ntp) & 0xFFFFFFFF
    fraction = int((ntp - int(ntp)) * 2**32) & 0xFFFFFFFF
    return struct.pack("!II", seconds, fraction)


def packet(*, leap: int = 0, mode: int = 4, stratum: int = 2, refid: bytes = b"LOCL",
           orig: bytes, recv: bytes, tx: bytes) -> bytes:
    first = (leap << 6) | (3 << 3) | mode
    return (struct.pack("!BBbb", first, stratum, 6, -20) + struct.pack("!II", 0, 0) + refid
            + tx + orig + recv + tx)


def reply(mode: str, request: bytes) -> bytes | None:
    now = time.time()
    orig = request[40:48] if len(request) >= 48 else b"\0" * 8
    ok = {"orig": orig, "recv": to_ntp(now), "tx": to_ntp(now)}
    if mode == "zero_timestamps":
        return packet(orig=b"\0" * 8, recv=b"\0" * 8, tx=b"\0" * 8)
    if mode == "far_future":
        end_of_era = struct.pack("!II", 0xFFFFFFFF, 0)
        return packet(orig=orig, recv=end_of_era, tx=end_of_era)
    if mode == "tx_before_recv":
        return packet(orig=orig, recv=to_ntp(now), tx=to_ntp(now - 5.0))
    if mode == "tx_before_orig":
        day_before = to_ntp(now - 86400.0)
        return packet(orig=orig, recv=day_before, tx=day_before)
    if mode == "orig_not_echoed":
        return packet(orig=to_ntp(now - 1000.0), recv=ok["recv"], tx=ok["tx"])
    if mode == "leap3":
        return packet(leap=3, **ok)
    if mode == "stratum0_kod":
        return packet(stratum=0, refid=b"RATE", **ok)
    if mode == "client_mode":
        return packet(mode=3, **ok)
    if mode == "short_packet":
        return packet(**ok)[:20]
    if mode == "garbage":
        return os.urandom(48)
    return None  # silent


class NtpFaultServer(Server):
    def __init__(self, mode: str) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"unknown NTP fault mode {mode!r}")
        self.mode = mode
        self.requests = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self._track(self.sock)
        self._spawn(self._loop, name=f"ntp-{mode}")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _loop(self) -> None:
        while not self.stop.is_set():
            try:
                request, peer = self.sock.recvfrom(512)
            except TimeoutError:
                continue
            except OSError:
                return
            self.requests += 1
            data = reply(self.mode, request)
            if data is not None:
                with contextlib.suppress(OSError):
                    self.sock.sendto(data, peer)
