"""Uploading a support bundle: HTTPS POST with a bearer token, retried with backoff.

Plain http is allowed only to a loopback host (local relays and tests). The
token comes from the environment variable ``upload.token_env`` (default
PAYPROBE_UPLOAD_TOKEN) or ``upload.token``, and is never printed.
"""

from __future__ import annotations

import ipaddress
import os
import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from payprobe.classify import classify
from payprobe.engine.errors import PayprobeError, UsageError
from payprobe.settings import Settings

UPLOAD_ATTEMPTS = 4
UPLOAD_TIMEOUT_S = 30.0
_RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}


class UploadError(PayprobeError):
    """The bundle could not be uploaded (one sentence, no token, no credentials)."""


def _is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_upload_url(url: str) -> None:
    """HTTPS only, or http to a loopback host. Raises UsageError before any connection."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        raise UsageError("--upload: not a valid URL") from None
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and host and _is_loopback(host):
        return
    raise UsageError("--upload: expected an https:// URL (plain http is allowed only to a loopback host)")


def _token(settings: Settings | None) -> str:
    upload = getattr(settings, "upload", None)
    env_name = getattr(upload, "token_env", "") or "PAYPROBE_UPLOAD_TOKEN"
    return os.environ.get(env_name, "") or getattr(upload, "token", "") or ""


def _safe_url(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def upload_bundle(data: bytes, url: str, *, settings: Settings | None = None, code: str = "",
                  attempts: int = UPLOAD_ATTEMPTS, backoff_s: float = 1.0,
                  sleep: Callable[[float], None] = time.sleep, timeout_s: float = UPLOAD_TIMEOUT_S) -> int:
    """POST the zip; returns the final HTTP status. Raises UploadError after the
    last failed attempt, UsageError for a URL that is not allowed."""
    check_upload_url(url)
    import requests

    headers = {"Content-Type": "application/zip", "User-Agent": "payprobe", "X-Payprobe-Ticket": code}
    token = _token(settings)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    session = requests.Session()
    # A loopback relay must not be sent through an environment proxy.
    session.trust_env = not _is_loopback(urlsplit(url).hostname or "")
    last_problem = ""
    try:
        for attempt in range(1, attempts + 1):
            try:
                resp = session.post(url, data=data, headers=headers, timeout=timeout_s,
                                    allow_redirects=False)
            except requests.RequestException as exc:
                last_problem = classify(exc)
            else:
                if 200 <= resp.status_code < 300:
                    return resp.status_code
                last_problem = f"HTTP {resp.status_code}"
                if resp.status_code not in _RETRY_STATUSES:
                    break
            if attempt < attempts:
                sleep(backoff_s * (2 ** (attempt - 1)))
    finally:
        session.close()
    raise UploadError(f"upload to {_safe_url(url)} failed: {last_problem}")
