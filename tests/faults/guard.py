"""Name resolution for the fault suite: nothing ever leaves the machine.

``install()`` replaces ``socket.getaddrinfo``: numeric addresses and
``localhost`` resolve as usual, names under ``fault.test`` resolve to
127.0.0.1, and every other name fails at once with EAI_NONAME, as a name that
does not exist would (the dns check looks up random ``.invalid`` names on
purpose). Self-contained: the subprocess tests load it from sitecustomize,
before ``tests`` is importable.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

FAULT_DOMAIN = "fault.test"
_REAL = socket.getaddrinfo


def _numeric(host: Any) -> bool:
    if host is None:
        return True
    text = host.decode() if isinstance(host, bytes) else str(host)
    try:
        ipaddress.ip_address(text.strip("[]").split("%")[0])
    except ValueError:
        return False
    return True


def fake_getaddrinfo(host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0,
                     flags: int = 0) -> list[Any]:
    text = (host.decode() if isinstance(host, bytes) else str(host or "")).rstrip(".").lower()
    if _numeric(host) or text == "localhost":
        return _REAL(host, port, family, type, proto, flags)
    if text == FAULT_DOMAIN or text.endswith("." + FAULT_DOMAIN):
        return _REAL("127.0.0.1", port, socket.AF_INET, type, proto, flags)
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def install() -> None:
    socket.getaddrinfo = fake_getaddrinfo


def uninstall() -> None:
    socket.getaddrinfo = _REAL
