"""Phrases: the words of a diagnosis kept as catalog keys and plain values, said in
any language when the report is shown.

A cause's ``params`` in the report are phrases, so ``payprobe show --lang en``
re-makes a Chinese report's text in English (payprobe.reports.wording). A
phrase is JSON, one of:

=========================================  ==============================================
``"gateway.95516.com"``, ``3``, ``true``   a plain value, shown as it is (measured, not
                                           translated: a host, a count, a failure code)
``{"key": K, "params": {name: phrase}}``   the sentence ``K`` of the catalog's ``detail``
                                           section, its ``{name}`` placeholders filled
``{"list": [phrase...], "sep": S}``        the items joined by the catalog's separator
                                           ``S``: ``list_sep`` (", " / "、") for names,
                                           ``clause_sep`` (", " / "；") for clauses,
                                           ``list_sep_outer`` ("; " / "；") or
                                           ``sentence_sep`` (" " / "")
``{"provider": "alipay"}``                 a provider's name (支付宝 in Chinese)
``{"endpoint": "Alipay OpenAPI"}``         an endpoint's display name (支付宝开放平台)
``{"check": "dns"}``                       a check's name in words (域名解析)
``{"duration_s": 7200}``                   how long, in units people use (2.0 h, 2.0 小时)
``{"number": -78.0, "unit": "dBm"}``       a measured number without needless decimals
=========================================  ==============================================

Nothing in a phrase is text already in one language. A phrase from outside (a
report someone hands us) may be anything: :func:`say` raises
:class:`PhraseError` for what it does not know, and the caller keeps the
stored text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from payprobe.reports import catalog, units

Phrase = Any      # JSON: see the module's table
SEPARATORS = ("list_sep", "list_sep_outer", "clause_sep", "sentence_sep")
# Units written straight after the number ("12%"), the others after a space ("-78 dBm").
_TIGHT_UNITS = ("%",)


class PhraseError(ValueError):
    """A phrase this version cannot say (a report from elsewhere, or made by hand)."""


@dataclass(frozen=True)
class Voice:
    """Who is spoken to: the language, and the display names the run's config gave its
    endpoints (endpoint name -> language -> display name)."""

    lang: str = "en"
    endpoint_names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def endpoint(self, name: str) -> str:
        own = self.endpoint_names.get(name)
        chosen = own.get(self.lang) if isinstance(own, Mapping) else None
        return chosen if isinstance(chosen, str) and chosen else catalog.endpoint_name(name, self.lang)


# ------------------------------------------------------------------ making phrases


def detail(key: str, **params: Phrase) -> dict[str, Any]:
    """The catalog sentence ``detail.<key>`` with its parameters (phrases too)."""
    return {"key": key, "params": params}


def join(items: Iterable[Phrase], sep: str = "list_sep") -> dict[str, Any]:
    return {"list": list(items), "sep": sep}


def clauses(items: Iterable[Phrase]) -> dict[str, Any]:
    """Clauses of one sentence ("packets are lost, the signal is weak"; in Chinese with ；)."""
    return join(items, "clause_sep")


def sentences(items: Iterable[Phrase]) -> dict[str, Any]:
    return join(items, "sentence_sep")


def provider(name: str) -> dict[str, Any]:
    return {"provider": name}


def endpoint(name: str) -> dict[str, Any]:
    return {"endpoint": name}


def check(name: str) -> dict[str, Any]:
    return {"check": name}


def duration(seconds: float) -> dict[str, Any]:
    return {"duration_s": seconds}


def number(value: float, unit: str = "") -> dict[str, Any]:
    return {"number": value, "unit": unit}


def measured(value: object, unit: str = "") -> Phrase:
    """A number a check measured (anything else, e.g. None, is "?")."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return number(float(value), unit)
    return "?"


# ------------------------------------------------------------------ saying them


def say(phrase: Phrase, voice: Voice) -> str:
    """The phrase as text in ``voice.lang``; PhraseError for a phrase it does not know."""
    if phrase is None or isinstance(phrase, (str, bool, int, float)):
        return "" if phrase is None else str(phrase)
    if not isinstance(phrase, Mapping):
        raise PhraseError("a phrase is a plain value or an object")
    if "key" in phrase:
        return _sentence(phrase, voice)
    if "list" in phrase:
        return _joined(phrase, voice)
    if len(phrase) == 1:
        (kind, value), = phrase.items()
        if kind in _NAMED and isinstance(value, str):
            return _NAMED[kind](value, voice)
        if kind == "duration_s" and _is_number(value):
            return human_duration(float(value), voice.lang)
    if set(phrase) == {"number", "unit"} and _is_number(phrase["number"]) and isinstance(phrase["unit"], str):
        return quantity(float(phrase["number"]), phrase["unit"])
    raise PhraseError("unknown phrase")


def say_all(params: Mapping[str, Phrase], voice: Voice) -> dict[str, str]:
    if not isinstance(params, Mapping):
        raise PhraseError("params are an object")
    return {str(k): say(v, voice) for k, v in params.items()}


def _sentence(phrase: Mapping[str, Any], voice: Voice) -> str:
    key, params = phrase.get("key"), phrase.get("params", {})
    if not isinstance(key, str) or set(phrase) - {"key", "params"}:
        raise PhraseError("a sentence is {key, params}")
    return catalog.text("detail", key, voice.lang, **say_all(params, voice))


def _joined(phrase: Mapping[str, Any], voice: Voice) -> str:
    items, sep = phrase.get("list"), phrase.get("sep", "list_sep")
    if not isinstance(items, list) or sep not in SEPARATORS:
        raise PhraseError("a list is {list, sep}")
    return catalog.text("detail", sep, voice.lang).join(say(item, voice) for item in items)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_NAMED = {
    "provider": lambda name, voice: catalog.provider_name(name, voice.lang),
    "endpoint": lambda name, voice: voice.endpoint(name),
    "check": lambda name, voice: catalog.check_name(name, voice.lang),
}


def quantity(value: float, unit: str) -> str:
    """-78 dBm, 12%, 512 MB: the number with about three significant digits."""
    text = units.number(value)
    if not unit:
        return text
    return f"{text}{unit}" if unit in _TIGHT_UNITS else f"{text} {unit}"


def human_duration(seconds: float, lang: str = "en") -> str:
    """37 s, 12 min, 3.2 h, 5 days: how far off a clock is, in words people use."""
    s = abs(seconds)
    zh = catalog.norm_lang(lang) == "zh"
    if s < 90:
        return f"{s:.0f} 秒" if zh else f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} 分钟" if zh else f"{s / 60:.0f} min"
    if s < 2 * 86400:
        hours = f"{s / 3600:.1f}".rstrip("0").rstrip(".")
        return f"{hours} 小时" if zh else f"{hours} h"
    return f"{s / 86400:.0f} 天" if zh else f"{s / 86400:.0f} days"
