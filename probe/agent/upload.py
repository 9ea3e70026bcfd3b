"""Uploading a support bundle: an HTTPS POST with a bearer token, retried with backoff.

The URL and the sending follow :mod:`payprobe.agent.http`: https (plain http
only to a loopback host), no credentials in the URL, none from ~/.netrc or the
environment, no proxies, no redirects, ``ca_file`` honoured, one deadline for
all attempts. The token comes from the environment variable
``upload.token_env`` (default PAYPROBE_UPLOAD_TOKEN) or ``upload.token``, and
is never printed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from payprobe.agent import http
from payprobe.engine.errors import PayprobeError
from payprobe.settings import Settings

UPLOAD_ATTEMPTS = 4
UPLOAD_DEADLINE_S = 120.0
# The bundle and the token are both secret: https, or a loopback relay.
UPLOAD = http.Purpose("--upload", carries_secret=True)


class UploadError(PayprobeError):
    """The bundle could not be uploaded (one sentence, no token, no credentials)."""


def check_upload_url(url: str) -> http.Target:
    """The upload target, or UsageError (exit 64) before any connection."""
    return http.check_url(url, UPLOAD)


def _token(settings: Settings | None) -> str:
    upload = getattr(settings, "upload", None)
    env_name = getattr(upload, "token_env", "") or "PAYPROBE_UPLOAD_TOKEN"
    return os.environ.get(env_name, "") or getattr(upload, "token", "") or ""


def upload_bundle(data: bytes, url: str, *, settings: Settings | None = None, code: str = "",
                  attempts: int = UPLOAD_ATTEMPTS, backoff_s: float = 1.0,
                  sleep: Callable[[float], None] | None = None,
                  deadline_s: float = UPLOAD_DEADLINE_S) -> int:
    """POST the zip; returns the HTTP status (2xx). Raises UploadError when no
    attempt succeeded within ``deadline_s``, UsageError for a URL that is not allowed."""
    target = check_upload_url(url)
    headers = {"Content-Type": "application/zip", "X-Payprobe-Ticket": code}
    token = _token(settings)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    policy = http.Policy(deadline_s=deadline_s, ca_file=getattr(settings, "ca_file", "") or "",
                         attempts=attempts, backoff_s=backoff_s)
    try:
        reply = http.post(target, data, headers, policy, sleep=sleep or time.sleep)
    except http.SendError as exc:
        raise UploadError(f"upload to {exc}") from None
    if reply.ok:
        return reply.status
    note = " (redirects are not followed)" if 300 <= reply.status < 400 else ""
    raise UploadError(f"upload to {target.display} failed: HTTP {reply.status}{note}")
