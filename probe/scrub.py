"""Free text made safe to show: no addresses, no credentials in URLs.

Kept apart from payprobe.classify (which imports socket and ssl to know the
exceptions it classifies) so the command line can describe an error without
paying for those imports at start-up.
"""

from __future__ import annotations

import re

_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b")
_IPV6 = re.compile(r"\[?\b(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}\b\]?(?::\d+)?", re.I)
_URL_CRED = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s:]+(?::[^/@\s]*)?@", re.I)
# Longer than this is a dump, not a message.
MAX_CHARS = 300


def scrub(text: str) -> str:
    """Remove addresses and URL credentials from a free-text error message."""
    text = _URL_CRED.sub(r"\g<scheme>***@", text)
    text = _IPV4.sub("<addr>", text)
    text = _IPV6.sub("<addr>", text)
    return text[:MAX_CHARS]


def describe(exc: BaseException) -> str:
    """A short, scrubbed, human description of an exception."""
    msg = str(exc) or type(exc).__name__
    return scrub(f"{type(exc).__name__}: {msg}" if str(exc) else msg)
