"""What the tls and endpoints check tests share: their payment host, settings and runner.

The servers, certificates and fixtures are in tests/servers/, the context and
outcome readers in tests/helpers.py; the names below that come from there are
re-exported for tests/test_check_tls.py and tests/test_check_endpoints.py
until those import them from where they live.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from payprobe.api import Blackboard, CheckContext, Outcome
from payprobe.checks.handshake import TlsCheck
from payprobe.settings import Settings, TlsConfig

from tests import helpers
from tests.helpers import codes, finding
from tests.servers import server_ctx, start

__all__ = ["HOST", "NOW", "codes", "finding", "make_ctx", "run_tls", "server_ctx", "start",
           "tls_settings"]

HOST = "openapi.alipay.com"
NOW = dt.datetime.now(dt.timezone.utc)


def make_ctx(settings: Settings, name: str, deadline_s: float = 5.0,
             shared: Blackboard | None = None) -> CheckContext[Any]:
    """The check ``name``'s context under ``settings`` (tests/helpers.make_ctx, positionally)."""
    return helpers.make_ctx(settings.section(name), settings=settings, name=name,
                            deadline_s=deadline_s, shared=shared)


def tls_settings(ca_file: str, targets: list[str], **tls: Any) -> Settings:
    tls.setdefault("slow_ms", 60_000.0)
    return Settings(ca_file=ca_file, tls=TlsConfig(targets=targets, **tls))


def run_tls(settings: Settings, deadline_s: float = 5.0,
            shared: Blackboard | None = None) -> Outcome:
    return TlsCheck().run(make_ctx(settings, "tls", deadline_s, shared))
