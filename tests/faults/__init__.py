"""Hostile servers for the fault-injection suite (tests/test_faults.py).

Every server listens on 127.0.0.1 on a random port, runs in daemon threads
and is stopped by ``close()`` (or leaving its ``with`` block): the listening
socket and every connection it accepted are closed and its threads joined,
so a stalled client blocked on one of them wakes up with an error.
"""
