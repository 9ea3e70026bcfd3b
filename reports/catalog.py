"""Message catalogs (reports/i18n/en.json, zh.json): titles, explanations and
remedies of every cause and finding code, the sentences diagnosis builds its
explanations from (``detail``), the renderers' labels (``ui``) and the display
names of the built-in endpoints (``endpoints``).

Both catalogs have exactly the same keys (a test checks it); a key missing in
one language falls back to English, then to the key itself, so a gap shows as a
visible key rather than a crash. Chinese text gets a space where a Latin value
meets a Chinese character (:func:`fill`), so templates write placeholders tight.
"""

from __future__ import annotations

import functools
import json
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

LANGS = ("en", "zh")
I18N_DIR = Path(__file__).parent / "i18n"

# Provider ids of the built-in endpoints -> the names people know them by.
PROVIDER_NAMES: dict[str, dict[str, str]] = {
    "alipay": {"en": "Alipay", "zh": "支付宝"},
    "wechatpay": {"en": "WeChat Pay", "zh": "微信支付"},
    "douyinpay": {"en": "Douyin Pay", "zh": "抖音支付"},
    "douyin": {"en": "Douyin", "zh": "抖音"},
    "unionpay": {"en": "UnionPay", "zh": "银联"},
    "stripe": {"en": "Stripe", "zh": "Stripe"},
    "paypal": {"en": "PayPal", "zh": "PayPal"},
}


def norm_lang(lang: str | None) -> str:
    return lang if lang in LANGS else "en"


@functools.lru_cache(maxsize=4)
def load(lang: str) -> dict[str, Any]:
    path = I18N_DIR / f"{norm_lang(lang)}.json"
    return json.loads(path.read_text(encoding="utf-8"))


class Blank(dict):
    # Missing placeholders render empty instead of raising KeyError.
    def __missing__(self, key: str) -> str:
        return ""



def _lookup(lang: str, section: str, key: str) -> Any:
    for candidate in (norm_lang(lang), "en"):
        value = load(candidate).get(section, {}).get(key)
        if value is not None:
            return value
    return None


def _cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def _latin(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _joined(left: str, right: str) -> str:
    # Chinese puts a space between a Chinese character and a Latin word or number
    # ("Stripe 的证书", "支付宝的证书"): where a value meets the text around it.
    if left and right and ((_cjk(left[-1]) and _latin(right[0])) or (_latin(left[-1]) and _cjk(right[0]))):
        return f"{left} {right}"
    return left + right


def fill(template: str, params: Mapping[str, Any], lang: str) -> str:
    """``template`` with its ``{name}`` placeholders filled (missing ones empty); in
    Chinese, a space where a Latin value meets a Chinese character or the reverse."""
    values = Blank({k: str(v) for k, v in params.items()})
    if norm_lang(lang) != "zh":
        return template.format_map(values)
    out = ""
    for literal, name, spec, conversion in string.Formatter().parse(template):
        out = _joined(out, literal)
        if name is not None:
            out = _joined(out, ("{" + name + (f"!{conversion}" if conversion else "")
                                + (f":{spec}" if spec else "") + "}").format_map(values))
    return out


def text(section: str, key: str, lang: str, **params: Any) -> str:
    """One message, with ``{name}`` placeholders filled from ``params``."""
    template = _lookup(lang, section, key)
    if not isinstance(template, str):
        return key
    return fill(template, params, lang)


def ui(key: str, lang: str, **params: Any) -> str:
    return text("ui", key, lang, **params)


def after_word(key: str, lang: str, **params: Any) -> str:
    """A ui bracket ("aside", "target_tag", "cause_tags") to follow a word: after a space
    in English, straight after it in Chinese, whose full-width brackets carry their own."""
    said = ui(key, lang, **params)
    return said if said[:1] in "（【「" else " " + said


def remedy(key: str, lang: str) -> str:
    return text("remedies", key, lang)


def cause_entry(code: str, lang: str) -> dict[str, Any] | None:
    return _lookup(lang, "causes", code)


def finding_entry(code: str, lang: str) -> dict[str, Any] | None:
    return _lookup(lang, "findings", code)


def finding_title(code: str, lang: str) -> str:
    """The finding's title in ``lang`` (e.g. "证书尚未生效"), or "" for a code
    the catalog does not know (a plugin's). Check messages are English
    measurement notes; the title is what a reader in either language scans."""
    entry = finding_entry(code, lang)
    return str(entry.get("title", "")) if entry else ""


def cause_codes() -> list[str]:
    return list(load("en")["causes"])


def finding_codes() -> list[str]:
    return list(load("en")["findings"])


def provider_name(provider: str, lang: str) -> str:
    names = PROVIDER_NAMES.get(provider.lower())
    return names[norm_lang(lang)] if names else provider


def endpoint_name(name: str, lang: str) -> str:
    """A built-in endpoint's display name ("UnionPay Gateway" -> 银联支付网关); any
    other name as it was written."""
    value = load(norm_lang(lang)).get("endpoints", {}).get(name)
    return value if isinstance(value, str) and value else name


def check_name(name: str, lang: str) -> str:
    """A check's name in words ("dns" -> 域名解析); a plugin's check keeps its name."""
    value = _lookup(lang, "ui", f"check_name.{name}")
    return value if isinstance(value, str) else name


def join(items: list[str], lang: str) -> str:
    return text("detail", "list_sep", lang).join(items)


def explain(code: str, lang: str = "en") -> str | None:
    """`payprobe explain CODE`: title, explanation and remedies of a cause or
    finding code in ``lang``; None when the code is unknown."""
    lang = norm_lang(lang)
    code = code.strip()
    entry = cause_entry(code, lang)
    kind = "cause"
    if entry is None:
        entry = finding_entry(code, lang)
        kind = "finding"
    if entry is None:
        return None
    generic = {"provider": _generic_provider(lang)}
    title = fill(entry["title"], generic, lang)
    title = title[:1].upper() + title[1:]
    # Cause explanations carry per-run details ({detail}); "about" is the run-free text.
    explanation = entry.get("about") or fill(entry["explanation"], generic, lang)
    kind_words = after_word("aside", lang, text=ui("explain." + kind, lang))
    lines = [f"{code}{kind_words}{ui('colon', lang)}{title}", "", explanation, ""]
    remedies = entry.get("remedies", [])
    if remedies:
        lines.append(ui("remedies", lang) + ui("colon", lang).rstrip())
        lines.extend(f"  - {remedy(key, lang)}" for key in remedies)
    return "\n".join(lines).rstrip() + "\n"


def _generic_provider(lang: str) -> str:
    return "支付服务" if norm_lang(lang) == "zh" else "the payment service"
