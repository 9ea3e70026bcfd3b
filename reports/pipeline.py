"""From a finished run to the report people attach to a ticket:
results -> diagnosis -> report -> redaction."""

from __future__ import annotations

from typing import Any, cast

from payprobe import __version__
from payprobe.engine.results import RunResult
from payprobe.host import HostInfo
from payprobe.reports import diagnosis, model
from payprobe.reports.redact import RECORD_KEY, fingerprint_record, redact_report
from payprobe.reports.types import CheckEntry, Host, Report, ReportExtra
from payprobe.reports.wording import endpoint_names
from payprobe.settings import Settings


def finish_report(run: RunResult, *, settings: Settings, host: HostInfo, lang: str, trigger: str,
                  redact: bool = True, salt: bytes | None = None) -> Report:
    checks = cast(list[CheckEntry], [r.to_dict() for r in run.results])
    causes, summary = diagnosis.diagnose(checks, lang=lang, settings=settings)
    extra: ReportExtra = {"lang": lang, "summary": summary}
    names = endpoint_names(settings.endpoints)
    if names:
        # The renderers never read the config: the display names it gave travel in the report.
        extra["endpoint_names"] = names
    report = model.build_report(run, host=cast(Host, host.to_dict()), trigger=trigger, causes=causes,
                                version=__version__, redacted=redact, extra=extra)
    if redact:
        return redact_report(report, settings=settings, salt=salt)
    if salt is not None:
        # A bundle made from this report later must remove what identifies the
        # device now, whatever the environment then: recorded as salted hashes.
        cast(dict[str, Any], report)[RECORD_KEY] = fingerprint_record(settings=settings, salt=salt)
    return report
