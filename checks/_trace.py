"""One traceroute probe without root, as iputils' tracepath does it on Linux and Android.

A probe is one socket with its own TTL (``IP_TTL`` / ``IPV6_UNICAST_HOPS``) and
``IP_RECVERR`` / ``IPV6_RECVERR`` on. A router that drops it for its TTL sends
ICMP "time exceeded"; the kernel matches that ICMP to the socket from the
quoted header and queues it on the socket's error queue, where
``recvmsg(MSG_ERRQUEUE)`` reads it as a ``struct sock_extended_err`` followed by
the address of the router that sent it (the offender). No raw socket, so no root.

One socket per probe: the kernel then does the matching (by the source port,
or the ICMP echo id), so probes to many hops and hosts can be in flight at once.

=========  =============================================  ==========================
method     the probe                                      the destination answers
=========  =============================================  ==========================
``tcp``    a non-blocking connect to the port (443)       SYN-ACK (connected) or RST
``udp``    one datagram to the port                       ICMP port unreachable
``icmp``   an echo request on a ping socket (needs the    echo reply
           group in net.ipv4.ping_group_range)
=========  =============================================  ==========================

tcp is the default: a payment endpoint must answer on 443, and its SYN-ACK is
not an ICMP error, so routers' ICMP rate limits never make the destination
look lossy. A connected probe is closed with a RST (SO_LINGER 0), leaving
no state behind on either side.
"""

from __future__ import annotations

import errno
import select
import socket
import struct
import time
from dataclasses import dataclass

# Not every Python names these (3.11 has neither); the values are Linux's ABI.
IP_RECVERR = getattr(socket, "IP_RECVERR", 11)
IPV6_RECVERR = getattr(socket, "IPV6_RECVERR", 25)
MSG_ERRQUEUE = getattr(socket, "MSG_ERRQUEUE", 0x2000)
IPV6_UNICAST_HOPS = getattr(socket, "IPV6_UNICAST_HOPS", 16)

# <linux/errqueue.h>: where the error came from.
SO_EE_ORIGIN_LOCAL = 1
SO_EE_ORIGIN_ICMP = 2
SO_EE_ORIGIN_ICMP6 = 3
# ICMP types and codes that matter here.
ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED, ICMP_ECHO = 3, 11, 8
ICMP6_DEST_UNREACH, ICMP6_TIME_EXCEEDED, ICMP6_ECHO = 1, 3, 128

# struct sock_extended_err: u32 errno, u8 origin, u8 type, u8 code, u8 pad, u32 info, u32 data.
_EE = struct.Struct("=IBBBBII")
METHODS = ("tcp", "udp", "icmp")

# What a probe learned.
TIME_EXCEEDED = "time_exceeded"   # a router on the way answered
REACHED = "reached"               # the destination answered
UNREACHABLE = "unreachable"       # some host said the destination cannot be reached (!H, !N, !A)
LOCAL_ERROR = "local_error"       # this device refused to send (no route, no address)


@dataclass(frozen=True)
class ExtendedError:
    """A parsed ``struct sock_extended_err`` and its offender address."""

    errno: int
    origin: int
    icmp_type: int
    icmp_code: int
    info: int
    offender: str | None

    @property
    def from_icmp(self) -> bool:
        return self.origin in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6)

    @property
    def time_exceeded(self) -> bool:
        return ((self.origin == SO_EE_ORIGIN_ICMP and self.icmp_type == ICMP_TIME_EXCEEDED)
                or (self.origin == SO_EE_ORIGIN_ICMP6 and self.icmp_type == ICMP6_TIME_EXCEEDED))


def parse_extended_err(data: bytes) -> ExtendedError:
    """The control data of an IP_RECVERR / IPV6_RECVERR message.

    The offender (``SO_EE_OFFENDER``) is the sockaddr right after the struct:
    ``sockaddr_in`` (family, port, 4-byte address) or ``sockaddr_in6`` (family,
    port, flowinfo, 16-byte address, scope id); its family is AF_UNSPEC when
    the kernel has none (a local error).
    """
    if len(data) < _EE.size:
        raise ValueError(f"sock_extended_err needs {_EE.size} bytes, got {len(data)}")
    ee_errno, origin, icmp_type, icmp_code, _pad, info, _data = _EE.unpack_from(data)
    return ExtendedError(ee_errno, origin, icmp_type, icmp_code, info, _offender(data[_EE.size:]))


def _offender(raw: bytes) -> str | None:
    if len(raw) < 2:
        return None
    (family,) = struct.unpack_from("=H", raw)
    if family == socket.AF_INET and len(raw) >= 8:
        return socket.inet_ntop(socket.AF_INET, raw[4:8])
    if family == socket.AF_INET6 and len(raw) >= 24:
        return socket.inet_ntop(socket.AF_INET6, raw[8:24])
    return None


@dataclass(frozen=True)
class Answer:
    """What came back for one probe: who answered, how, and after how long."""

    kind: str
    responder: str | None
    rtt_s: float
    detail: str = ""


def open_probe(method: str, destination: str, port: int, ttl: int) -> socket.socket:
    """A socket that has sent one probe with this TTL; non-blocking, error queue on.

    Raises OSError when this device cannot send it (no route for the family,
    ping sockets not allowed, ...): that is the caller's "could not probe".
    """
    family = socket.AF_INET6 if ":" in destination else socket.AF_INET
    if method == "tcp":
        sock = socket.socket(family, socket.SOCK_STREAM)
    elif method == "udp":
        sock = socket.socket(family, socket.SOCK_DGRAM)
    else:
        proto = socket.IPPROTO_ICMP if family == socket.AF_INET else socket.IPPROTO_ICMPV6
        sock = socket.socket(family, socket.SOCK_DGRAM, proto)
    try:
        _arm(sock, family, ttl)
        _send(sock, method, family, destination, port)
    except BaseException:
        sock.close()
        raise
    return sock


def _arm(sock: socket.socket, family: int, ttl: int) -> None:
    if family == socket.AF_INET:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
        sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
    else:
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_UNICAST_HOPS, ttl)
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
    sock.setblocking(False)


def _send(sock: socket.socket, method: str, family: int, destination: str, port: int) -> None:
    if method == "tcp":
        # A RST on close: no TIME_WAIT here, no half-open connection at the server.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        code = sock.connect_ex((destination, port))
        if code not in (0, errno.EINPROGRESS):
            raise OSError(code, errno.errorcode.get(code, str(code)))
        return
    if method == "udp":
        sock.connect((destination, port))
        sock.send(b"payprobe")
        return
    # Ping sockets: the kernel sets the echo id and the checksum.
    echo = ICMP_ECHO if family == socket.AF_INET else ICMP6_ECHO
    sock.connect((destination, 0))
    sock.send(struct.pack("!BBHHH", echo, 0, 0, 0, 1) + b"payprobe")


def poll_mask(method: str) -> int:
    """The events that end a probe: an error queued, or the destination's answer."""
    return select.POLLERR | (select.POLLOUT if method == "tcp" else select.POLLIN)


def read_answer(sock: socket.socket, method: str, destination: str, sent_at: float) -> Answer | None:
    """The answer to a probe whose socket polled ready, or None if it was not one."""
    rtt_s = time.perf_counter() - sent_at
    queued = read_error_queue(sock)
    if queued is not None:
        return answer_from_error(queued, destination, rtt_s)
    if method == "tcp":
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code in (0, errno.ECONNREFUSED):
            # Connected, or the host itself refused: either way it answered.
            return Answer(REACHED, destination, rtt_s, "syn-ack" if code == 0 else "rst")
        if code in (errno.EINPROGRESS, errno.EALREADY):
            return None
        return Answer(LOCAL_ERROR, None, rtt_s, errno.errorcode.get(code, str(code)))
    try:
        sock.recv(2048)
    except BlockingIOError:
        return None
    except OSError as exc:
        return Answer(LOCAL_ERROR, None, rtt_s, errno.errorcode.get(exc.errno or 0, str(exc)))
    return Answer(REACHED, destination, rtt_s, "reply")


def read_error_queue(sock: socket.socket) -> ExtendedError | None:
    """The first IP_RECVERR / IPV6_RECVERR message queued on the socket, if any."""
    try:
        _data, ancillary, _flags, _addr = sock.recvmsg(512, 512, MSG_ERRQUEUE)
    except (BlockingIOError, InterruptedError):
        return None
    for level, kind, payload in ancillary:
        if (level, kind) in ((socket.IPPROTO_IP, IP_RECVERR), (socket.IPPROTO_IPV6, IPV6_RECVERR)):
            return parse_extended_err(payload)
    return None


def answer_from_error(err: ExtendedError, destination: str, rtt_s: float) -> Answer:
    """Classify an error-queue message the way tracepath's recverr() does."""
    if not err.from_icmp:
        return Answer(LOCAL_ERROR, None, rtt_s, errno.errorcode.get(err.errno, str(err.errno)))
    if err.time_exceeded:
        return Answer(TIME_EXCEEDED, err.offender, rtt_s, "time exceeded")
    if err.errno == errno.ECONNREFUSED:
        # Port unreachable: from the destination itself it means "reached".
        kind = REACHED if err.offender == destination else UNREACHABLE
        return Answer(kind, err.offender, rtt_s, "port unreachable")
    code = errno.errorcode.get(err.errno, str(err.errno))
    return Answer(UNREACHABLE, err.offender, rtt_s,
                  f"{code} (icmp type {err.icmp_type} code {err.icmp_code})")
