"""A DNS query over UDP as a stub resolver sends it: resent when no answer comes.

One datagram lost on a bad link used to cost the whole query (dnspython's
``dns.query.udp`` sends once and waits out its timeout), so a link losing a
fifth of its packets made every resolver look dead. A phone's resolver resends
instead, and so does this, every :data:`RESEND_S` until the query's timeout.

Each try carries its own query ID, so the answer says which try it answers:

- the first try answered, however late (a slow server): nothing was lost;
- a later try answered first: the tries before it were lost on the way (or
  their answers were). That count is ``lost`` in the query's evidence, and the
  diagnosis reads it as what a lossy link does (payprobe.reports.evidence).

The reply is matched to a try like ``dns.query.udp`` matches it to its query
(ID, flags, question), and a reply that matches no try is an error as it is
there. The time is that of the try answered, send to reply, as dig reports it.
"""

from __future__ import annotations

import socket
import struct
import time
from typing import Any

# A try not answered within this long is sent again (glibc and Android's resolver
# wait seconds; a payment app gives a lookup little more than that in all).
RESEND_S = 1.0


def udp_with_resends(q: Any, address: str, port: int, timeout: float) -> tuple[Any, int, int]:
    """(response, tries sent, tries lost before the one answered). Raises like
    ``dns.query.udp`` (dns.exception.Timeout when no try was answered in time)."""
    import dns.exception
    import dns.inet
    import dns.message
    import dns.query

    af = dns.inet.af_for_address(address)
    destination = dns.inet.low_level_address_tuple((address, port), af)
    wire = q.to_wire()
    end = time.time() + timeout           # dnspython's expirations are time.time()
    tries: list[tuple[Any, float]] = []    # (the try's query, when it was sent)
    with dns.query.make_socket(af, socket.SOCK_DGRAM) as sock:
        while True:
            # A resend is the same query under a new ID (the first two bytes of the wire).
            sending = wire if not tries else struct.pack("!H", _new_id(tries)) + wire[2:]
            query = q if not tries else dns.message.from_wire(sending)
            sent = time.time()
            dns.query.send_udp(sock, sending, destination, end)
            tries.append((query, sent))
            resend_at = min(end, sent + RESEND_S)
            try:
                response, received = dns.query.receive_udp(
                    sock, destination, resend_at, raise_on_truncation=True)
            except dns.exception.Timeout:
                if resend_at >= end:
                    raise
                continue
            answered = next((i for i, (qi, _) in enumerate(tries) if qi.is_response(response)), None)
            if answered is None:
                raise dns.query.BadResponse("the answer matches none of the queries sent")
            response.time = received - tries[answered][1]
            return response, len(tries), answered


def _new_id(tries: list[tuple[Any, float]]) -> int:
    import dns.entropy
    used = {qi.id for qi, _ in tries}
    while True:
        candidate = dns.entropy.random_16()
        if candidate not in used:
            return int(candidate)
