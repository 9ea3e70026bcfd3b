"""From a finished run to the report people attach to a ticket:
results -> diagnosis -> report -> redaction."""

from __future__ import annotations

from typing import cast

from payprobe import __version__
from payprobe.engine.results import RunResult
from payprobe.host import HostInfo
from payprobe.reports import diagnosis, model
from payprobe.reports.redact import redact_report
from payprobe.reports.types import CheckEntry, Host, Report
from payprobe.settings import Settings


def finish_report(run: RunResult, *, settings: Settings, host: HostInfo, lang: str, trigger: str,
                  redact: bool = True, salt: bytes | None = None) -> Report:
    checks = cast(list[CheckEntry], [r.to_dict() for r in run.results])
    causes, summary = diagnosis.diagnose(checks, lang=lang, settings=settings)
    report = model.build_report(run, host=cast(Host, host.to_dict()), trigger=trigger, causes=causes,
                                version=__version__, redacted=redact,
                                extra={"lang": lang, "summary": summary})
    if redact:
        report = redact_report(report, settings=settings, salt=salt)
    return report
