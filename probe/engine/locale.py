"""Which language the report text is in: --lang, then the config, then the locale."""

from __future__ import annotations

import os
from collections.abc import Mapping


def resolve_lang(cli_lang: str | None, config_lang: str | None = None,
                 environ: Mapping[str, str] | None = None) -> str:
    """--lang, then the config, then the locale (zh_* gives Chinese)."""
    if cli_lang:
        return cli_lang
    if config_lang and config_lang != "auto":
        return config_lang
    env = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(var, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"
