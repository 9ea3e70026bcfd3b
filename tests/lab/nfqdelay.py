"""Hold every packet of one NFQUEUE for an exact time, then accept it.

This kernel has no netem, so the lab adds delay by sending chosen packets
(TCP SYNs, UDP/53, UDP/123) to an NFQUEUE with iptables-legacy and holding them
here: ``python -m tests.lab.nfqdelay QUEUE_NUM DELAY_MS``. Prints ``READY``
once bound; the lab installs the iptables rule only after that, because packets
sent to a queue nobody listens on are dropped.
"""

from __future__ import annotations

import heapq
import itertools
import select
import signal
import sys
import time
from typing import Any


def main(argv: list[str]) -> int:
    from netfilterqueue import NetfilterQueue

    queue_num = int(argv[1])
    delay_s = float(argv[2]) / 1000.0
    held: list[tuple[float, int, Any]] = []
    order = itertools.count()

    def on_packet(packet: Any) -> None:
        # Due time counts from when we got the packet: the kernel hands it over
        # within microseconds, far below the 2 ms the lab promises.
        heapq.heappush(held, (time.monotonic() + delay_s, next(order), packet))

    nfq = NetfilterQueue()
    nfq.bind(queue_num, on_packet, max_len=4096)
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    fd = nfq.get_fd()
    print("READY", flush=True)
    try:
        while not stopping:
            now = time.monotonic()
            while held and held[0][0] <= now:
                heapq.heappop(held)[2].accept()
            wait_s = max(0.0, held[0][0] - now) if held else 0.5
            try:
                readable, _, _ = select.select([fd], [], [], wait_s)
            except InterruptedError:
                continue
            if readable:
                nfq.run(block=False)
    finally:
        for _, _, packet in held:
            packet.accept()  # never leave a held packet behind on shutdown
        nfq.unbind()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
