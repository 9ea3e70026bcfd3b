"""From a finished run to the report people attach to a ticket:
results -> diagnosis -> report -> redaction."""

from __future__ import annotations

from typing import Any


def finish_report(run: Any, *, settings: Any, host: Any, lang: str, trigger: str,
                  redact: bool = True) -> dict[str, Any]:
    from probe import __version__
    from reports import diagnosis, model
    from reports.redact import redact_report

    checks = [r.to_dict() for r in run.results]
    causes, summary = diagnosis.diagnose(checks, lang=lang, settings=settings)
    report = model.build_report(run, host=host.to_dict(), trigger=trigger, causes=causes,
                                version=__version__, redacted=redact,
                                extra={"lang": lang, "summary": summary})
    if redact:
        report = redact_report(report, settings=settings)
    return report
