"""From a finished run to the report people attach to a ticket:
results -> diagnosis -> report -> redaction."""

from __future__ import annotations

from typing import Any

from payprobe import __version__
from payprobe.engine.results import RunResult
from payprobe.host import HostInfo
from payprobe.reports import diagnosis, model
from payprobe.reports.redact import redact_report
from payprobe.settings import Settings


def finish_report(run: RunResult, *, settings: Settings, host: HostInfo, lang: str, trigger: str,
                  redact: bool = True, salt: bytes | None = None) -> dict[str, Any]:
    checks = [r.to_dict() for r in run.results]
    causes, summary = diagnosis.diagnose(checks, lang=lang, settings=settings)
    report = model.build_report(run, host=host.to_dict(), trigger=trigger, causes=causes,
                                version=__version__, redacted=redact,
                                extra={"lang": lang, "summary": summary})
    if redact:
        report = redact_report(report, settings=settings, salt=salt)
    return report
