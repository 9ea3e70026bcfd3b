"""Support bundle: one zip to attach to a ticket, and its optional upload.

``payprobe bundle [--last N] [--output FILE] [--upload URL]`` packs the latest
saved report (or ``--report FILE``) as JSON, HTML and Markdown, a summary.txt
with a ticket code (run-id prefix + status + top cause), and the last N history
summaries when a history exists. Everything in it goes through redaction again,
whatever the report says: a bundle is made to be shared.

``--upload URL`` POSTs the zip over HTTPS (plain http only to a loopback host,
for local relays and tests) with a bearer token from the environment variable
``upload.token_env`` (default PAYPROBE_UPLOAD_TOKEN) or ``upload.token``;
retried with exponential backoff on connection errors, 429 and 5xx. The token
is never printed.

This module is imported to build the CLI parser, so it imports only light
standard modules at load time (zipfile, requests... inside the functions).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from probe.argtypes import int_at_least
from probe.errors import PayprobeError, UsageError

DEFAULT_LAST = 5
UPLOAD_ATTEMPTS = 4
UPLOAD_TIMEOUT_S = 30.0
_RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}


class UploadError(PayprobeError):
    """The bundle could not be uploaded (one sentence, no token, no credentials)."""


# ------------------------------------------------------------------ building


def ticket_code(report: dict[str, Any]) -> str:
    """Run-id prefix + status + top cause, e.g. ``3f9a2c1d-unhealthy-clock_wrong``."""
    causes = [c for c in report.get("causes") or [] if c.get("code") != "inconclusive"]
    top = causes[0]["code"] if causes else "none"
    return f"{str(report.get('run_id', ''))[:8]}-{report.get('status', 'unknown')}-{top}"


def latest_report_path(folder: Path | None = None) -> Path | None:
    from probe import paths
    folder = folder or paths.reports_dir()
    try:
        candidates = [p for p in folder.glob("report-*.json") if p.is_file()]
    except OSError:
        return None
    return max(candidates, key=lambda p: (p.stat().st_mtime, p.name), default=None)


def history_summaries(n: int) -> list[dict[str, Any]]:
    if n <= 0:
        return []
    try:
        from probe import history
        return list(history.recent_summaries(n))
    except (ImportError, AttributeError):
        return []


def _summary_txt(report: dict[str, Any], code: str, lang: str, *, re_redacted: bool) -> str:
    from reports import catalog
    summary = report.get("summary") or {}
    lines = [f"{catalog.ui('ticket', lang)}: {code}",
             f"run_id: {report.get('run_id', '')}",
             f"started_at: {report.get('started_at', '')}",
             f"status: {report.get('status', '')}",
             f"tool: payprobe {(report.get('tool') or {}).get('version', '')}",
             f"platform: {(report.get('host') or {}).get('platform', '')}"]
    if summary.get("verdict"):
        lines += ["", str(summary["verdict"])]
    for i, cause in enumerate(report.get("causes") or [], 1):
        lines.append(f"{i}. [{cause.get('severity')}/{cause.get('confidence')}] {cause.get('code')}: "
                     f"{cause.get('title', '')}")
    lines += ["", catalog.ui("redacted", lang)]
    if re_redacted:
        lines.append("(the saved report was not redacted; this bundle holds a redacted copy)")
    return "\n".join(lines) + "\n"


def build_bundle(report: dict[str, Any], *, history: list[dict[str, Any]] | None = None,
                 lang: str | None = None, settings: Any = None) -> tuple[bytes, str]:
    """The zip (bytes) and the ticket code. Nothing unredacted goes in."""
    import io
    import json
    import zipfile

    from reports.redact import redact_report, redact_value
    from reports.render import render

    re_redacted = not report.get("redacted", False)
    # Always redact again: cheap, idempotent, and the only safe default for a
    # file made to leave the device.
    safe = redact_report(report, settings=settings)
    lang = lang or safe.get("lang") or "en"
    code = ticket_code(safe)
    buf = io.BytesIO()
    stamp = _zip_time(safe)
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        def put(name: str, text: str) -> None:
            info = zipfile.ZipInfo(f"payprobe-{code}/{name}", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            zf.writestr(info, text.encode("utf-8"))

        put("report.json", render(safe, "json", lang=lang))
        put("report.html", render(safe, "html", lang=lang))
        put("report.md", render(safe, "markdown", lang=lang))
        put("summary.txt", _summary_txt(safe, code, lang, re_redacted=re_redacted))
        if history:
            put("history.json", json.dumps(redact_value(history, settings=settings), ensure_ascii=False,
                                           indent=2) + "\n")
    return buf.getvalue(), code


def _zip_time(report: dict[str, Any]) -> tuple[int, int, int, int, int, int]:
    # The report's own time, so the same report gives the same zip bytes.
    try:
        s = str(report["started_at"])
        return (int(s[0:4]), int(s[5:7]), int(s[8:10]), int(s[11:13]), int(s[14:16]), int(s[17:19]))
    except (KeyError, ValueError):
        return (1980, 1, 1, 0, 0, 0)


def write_bundle(report: dict[str, Any], output: str | Path | None = None, *, last: int = DEFAULT_LAST,
                 lang: str | None = None, settings: Any = None) -> tuple[Path, str]:
    from probe import paths
    from reports.model import write_atomic

    data, code = build_bundle(report, history=history_summaries(last), lang=lang, settings=settings)
    path = Path(output) if output else paths.data_dir() / "bundles" / f"payprobe-{code}.zip"
    write_atomic(path, data, mode=0o600)
    return path, code


# ------------------------------------------------------------------ upload


def _is_loopback(host: str) -> bool:
    import ipaddress

    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_upload_url(url: str) -> None:
    """HTTPS only, or http to a loopback host. Raises UsageError before any connection."""
    from urllib.parse import urlsplit
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


def _token(settings: Any) -> str:
    upload = getattr(settings, "upload", None)
    env_name = getattr(upload, "token_env", "") or "PAYPROBE_UPLOAD_TOKEN"
    return os.environ.get(env_name, "") or getattr(upload, "token", "") or ""


def _safe_url(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def upload_bundle(data: bytes, url: str, *, settings: Any = None, code: str = "",
                  attempts: int = UPLOAD_ATTEMPTS, backoff_s: float = 1.0,
                  sleep: Callable[[float], None] = time.sleep, timeout_s: float = UPLOAD_TIMEOUT_S) -> int:
    """POST the zip; returns the final HTTP status. Raises UploadError after the
    last failed attempt, UsageError for a URL that is not allowed."""
    check_upload_url(url)
    import requests

    from probe.classify import classify

    headers = {"Content-Type": "application/zip", "User-Agent": "payprobe", "X-Payprobe-Ticket": code}
    token = _token(settings)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    from urllib.parse import urlsplit
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


# ------------------------------------------------------------------ CLI


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("bundle", help="write a support bundle (zip) of the latest report")
    p.add_argument("--last", type=int_at_least(0), default=DEFAULT_LAST, metavar="N",
                   help=f"include the last N history summaries (default {DEFAULT_LAST})")
    p.add_argument("--output", metavar="FILE", help="where to write the zip (default: the data dir)")
    p.add_argument("--upload", metavar="URL", help="POST the bundle to this HTTPS URL")
    p.add_argument("--report", metavar="REPORT.json", help="bundle this report instead of the latest")
    p.add_argument("--config", metavar="FILE", help="TOML config file (upload token, language)")
    p.add_argument("--lang", choices=("en", "zh"))
    p.set_defaults(handler=cmd_bundle)


def cmd_bundle(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from probe import config, paths
    from reports import catalog
    from reports.model import read_report

    if args.upload:
        check_upload_url(args.upload)   # refuse before doing any work
    settings = config.load(args.config if args.config else paths.default_config_file())
    path = Path(args.report) if args.report else latest_report_path()
    if path is None:
        raise UsageError(f"no saved report in {paths.reports_dir()}: run `payprobe run` first")
    report = read_report(path)
    from probe.cli import resolve_lang
    lang = resolve_lang(args.lang, report.get("lang") or settings.lang)
    written, code = write_bundle(report, args.output, last=args.last, lang=lang, settings=settings)
    out.write(f"{written}\n")
    err.write(f"payprobe: {catalog.ui('ticket', lang)}: {code}\n")
    if args.upload:
        status = upload_bundle(written.read_bytes(), args.upload, settings=settings, code=code)
        err.write(f"payprobe: {catalog.ui('bundle_uploaded', lang, status=status)}\n")
    return 0


def ticket_after_run(args: argparse.Namespace, settings: Any, report: dict[str, Any], err: TextIO) -> None:
    """`payprobe run --ticket [--upload URL]`: bundle the report just made and print its path."""
    from reports import catalog
    lang = report.get("lang") or "en"
    upload = getattr(args, "upload", None)
    if upload:
        check_upload_url(upload)
    written, code = write_bundle(report, None, last=getattr(args, "last", DEFAULT_LAST), lang=lang,
                                 settings=settings)
    err.write(f"payprobe: {catalog.ui('bundle_written', lang, path=written)}\n")
    err.write(f"payprobe: {catalog.ui('ticket', lang)}: {code}\n")
    if upload:
        status = upload_bundle(written.read_bytes(), upload, settings=settings, code=code)
        err.write(f"payprobe: {catalog.ui('bundle_uploaded', lang, status=status)}\n")
