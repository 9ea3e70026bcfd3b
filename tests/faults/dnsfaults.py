"""A DNS server (UDP and TCP on the same port) whose answers are wrong on purpose.

Modes (UDP unless named tcp_*):

- ``garbage``: random bytes.
- ``short_header``: 5 bytes, less than a DNS header.
- ``pointer_loop``: a valid header whose question name is a compression pointer to itself.
- ``truncated``: the TC bit set on UDP; over TCP the length prefix promises more than is sent.
- ``truncated_tcp_stall``: the TC bit set on UDP; the TCP server accepts and never answers.
- ``huge``: a valid answer of thousands of A records, as big as a UDP message can be.
- ``mismatched_id``: a valid answer carrying another query's ID.
- ``wrong_source``: a valid answer sent from another port than the one asked.
- ``tcp_stall``: (ask over TCP) accept, read the query, never answer.
- ``tcp_bad_length``: (ask over TCP) a length prefix of 65535 then 10 bytes and silence.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct

from tests.faults.servers import Server

UDP_MODES = ("garbage", "short_header", "pointer_loop", "truncated", "truncated_tcp_stall", "huge",
             "mismatched_id", "wrong_source")
TCP_MODES = ("tcp_stall", "tcp_bad_length")
# A records that fit one UDP message (65507 bytes of payload): 16 bytes each.
HUGE_RECORDS = 4000


def _question_end(query: bytes) -> int:
    """Offset just past the question section (one question, uncompressed name)."""
    i = 12
    while i < len(query) and query[i] != 0:
        i += query[i] + 1
    return i + 1 + 4


def answer(query: bytes, addresses: list[str], *, qid: int | None = None, tc: bool = False) -> bytes:
    """A NOERROR response echoing the question with these A records."""
    (orig_id,) = struct.unpack("!H", query[:2])
    flags = 0x8180 | (0x0200 if tc else 0)
    qend = _question_end(query)
    question = query[12:qend]
    qtype = struct.unpack("!H", question[-4:-2])[0] if len(question) >= 4 else 1
    records = [] if tc or qtype != 1 else addresses
    head = struct.pack("!HHHHHH", orig_id if qid is None else qid, flags, 1, len(records), 0, 0)
    body = b"".join(b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(a)
                    for a in records)
    return head + question + body


def huge_addresses(n: int = HUGE_RECORDS) -> list[str]:
    """127.0.0.1 first (so the system's answer agrees), then more loopback addresses."""
    return ["127.0.0.1"] + [f"127.{1 + i // 65536 % 250}.{i // 256 % 256}.{i % 256}"
                            for i in range(1, n)]


class DnsFaultServer(Server):
    """UDP and TCP on one port of 127.0.0.1, misbehaving as ``mode`` says."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        if mode not in UDP_MODES + TCP_MODES:
            raise ValueError(f"unknown DNS fault mode {mode!r}")
        self.mode = mode
        self.queries = 0
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.port = self.udp.getsockname()[1]
        self.udp.settimeout(0.1)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(16)
        self.tcp.settimeout(0.1)
        self.other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # for wrong_source
        self.other.bind(("127.0.0.1", 0))
        for s in (self.udp, self.tcp, self.other):
            self._track(s)
        self._spawn(self._udp_loop, name=f"dns-{mode}-udp")
        self._spawn(self._tcp_loop, name=f"dns-{mode}-tcp")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _udp_loop(self) -> None:
        while not self.stop.is_set():
            try:
                query, peer = self.udp.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.queries += 1
            reply = self._udp_reply(query)
            if reply is None:
                continue
            sender = self.other if self.mode == "wrong_source" else self.udp
            with contextlib.suppress(OSError):
                sender.sendto(reply, peer)

    def _udp_reply(self, query: bytes) -> bytes | None:
        mode = self.mode
        if len(query) < 12:
            return None
        if mode == "garbage":
            return os.urandom(200)
        if mode == "short_header":
            return query[:2] + b"\x81\x80\x00"
        if mode == "pointer_loop":
            # One question whose name is a pointer to offset 12, i.e. to itself.
            return query[:2] + struct.pack("!HHHHH", 0x8180, 1, 0, 0, 0) + b"\xc0\x0c\x00\x01\x00\x01"
        if mode in ("truncated", "truncated_tcp_stall"):
            return answer(query, [], tc=True)
        if mode == "huge":
            return answer(query, huge_addresses())
        if mode == "mismatched_id":
            (qid,) = struct.unpack("!H", query[:2])
            return answer(query, ["127.0.0.1"], qid=qid ^ 0x5A5A)
        if mode == "wrong_source":
            return answer(query, ["127.0.0.1"])
        # TCP modes: UDP is silent, the check is pointed at TCP.
        return None

    def _tcp_loop(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.tcp.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._track(conn)
            self._spawn(self._tcp_serve, conn, name=f"dns-{self.mode}-tcpconn")

    def _tcp_serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(2.0)
            head = conn.recv(2)
            if len(head) < 2:
                return
            (n,) = struct.unpack("!H", head)
            query = b""
            while len(query) < n:
                chunk = conn.recv(n - len(query))
                if not chunk:
                    return
                query += chunk
            self.queries += 1
            if self.mode in ("truncated", "tcp_bad_length"):
                # A length prefix promising far more than what follows, then silence
                # ("truncated": then the connection closes; "tcp_bad_length": it stays open).
                conn.sendall(struct.pack("!H", 65535) + answer(query, ["127.0.0.1"])[:10])
                if self.mode == "truncated":
                    return
            self.stop.wait()
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.close()


def serve(mode: str) -> DnsFaultServer:
    return DnsFaultServer(mode)


__all__ = ["TCP_MODES", "UDP_MODES", "DnsFaultServer", "answer", "huge_addresses", "serve"]
