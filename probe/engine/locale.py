"""Which language the report text is in: --lang, then the config, then the system's.

``lang = "auto"`` asks, in this order, and the first that names a language wins:

===================  ================================================================
Android (Termux)     ``getprop persist.sys.locale`` (the language the user chose),
                     then ``getprop ro.product.locale`` (the phone's factory language)
environment          the POSIX messages locale: LC_ALL, else LC_MESSAGES, else LANG;
                     unless that is C/POSIX, the first of GNU's LANGUAGE list goes
                     before it, as gettext does
macOS                ``defaults read -g AppleLocale``
Windows              GetUserDefaultLocaleName, else ``locale.getlocale()``
===================  ================================================================

Termux exports LANG=en_US.UTF-8 whatever the phone's language is, which is why
the phone's own setting comes first on Android. A locale of C or POSIX names no
language, so the search goes on. zh-Hans-CN, zh_CN.UTF-8 and any other zh-* or
zh_* give zh; every other language en. The answer is found once per process.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
from collections.abc import Iterator, Mapping

from payprobe import host
from payprobe.external import ExternalCommandError, run_external

# getprop answers in milliseconds; one that hangs costs this once, at start-up.
PROBE_TIMEOUT_S = 1.0
ANDROID_LOCALE_PROPS = ("persist.sys.locale", "ro.product.locale")
# Termux's PATH holds only its own prefix; getprop itself lives here on every Android.
ANDROID_GETPROP = "/system/bin/getprop"
_LOCALE_NAME_MAX = 85   # LOCALE_NAME_MAX_LENGTH in winnls.h
_ZH = re.compile(r"zh(?:[-_.@]|$)|chinese", re.IGNORECASE)
_NO_LANGUAGE = re.compile(r"(?:c|posix)(?:[.@].*)?", re.IGNORECASE)
_LOOKS_LIKE_LOCALE = re.compile(r"[A-Za-z]{2,8}(?:[-_.@ (].*)?")


def resolve_lang(cli_lang: str | None, config_lang: str | None = None,
                 environ: Mapping[str, str] | None = None) -> str:
    """--lang, then the config, then the system's language (see the module's table).

    With ``environ``, the system's language is looked up again in it instead of
    the process's cached answer.
    """
    if cli_lang:
        return cli_lang
    if config_lang and config_lang != "auto":
        return config_lang
    if environ is None:
        return detected_lang()
    return system_lang(environ)


@functools.lru_cache(maxsize=1)
def detected_lang() -> str:
    """This process's system language, asked once: getprop is a process on every call."""
    return system_lang(os.environ)


def system_lang(environ: Mapping[str, str], *, platform: str | None = None,
                timeout_s: float = PROBE_TIMEOUT_S) -> str:
    """"zh" or "en" for the first source in the module's table that names a language.

    ``platform`` is :class:`payprobe.host.HostInfo`'s (android, linux, darwin,
    windows); by default this host's.
    """
    where = platform or host.detect().platform
    for name in _locale_names(environ, where, timeout_s):
        lang = lang_of(name)
        if lang is not None:
            return lang
    return "en"


def lang_of(name: str) -> str | None:
    """"zh" for a Chinese locale name or tag, "en" for any other language, None
    for one that names no language ("", C, POSIX, C.UTF-8, garbage)."""
    name = name.strip()
    if not name or _NO_LANGUAGE.fullmatch(name) or not _LOOKS_LIKE_LOCALE.fullmatch(name):
        return None
    return "zh" if _ZH.match(name) else "en"


def _locale_names(environ: Mapping[str, str], platform: str, timeout_s: float) -> Iterator[str]:
    # A generator: each source is asked only when every one before it named no language.
    if platform == "android":
        yield from _android_locales(timeout_s)
    yield from _environment_locales(environ)
    if platform == "darwin":
        yield from _macos_locales(timeout_s)
    elif platform == "windows":
        yield from _windows_locales()


def _android_locales(timeout_s: float) -> Iterator[str]:
    command = "getprop" if shutil.which("getprop") else ANDROID_GETPROP
    for prop in ANDROID_LOCALE_PROPS:
        try:
            done = run_external([command, prop], timeout_s)
        except ExternalCommandError:
            # Missing, unstartable, or hung and killed: asking for the next
            # property would cost another timeout for the same answer.
            return
        if done.returncode == 0:
            yield done.first_line()


def _environment_locales(environ: Mapping[str, str]) -> Iterator[str]:
    messages = next((environ[v] for v in ("LC_ALL", "LC_MESSAGES", "LANG") if environ.get(v)), "")
    if messages and _NO_LANGUAGE.fullmatch(messages.strip()):
        return   # gettext ignores LANGUAGE under the C locale, and C names no language
    # LANGUAGE is the user's list of preferred languages ("zh_CN:en"); its first is the choice.
    first_choice = environ.get("LANGUAGE", "").split(":")[0]
    if first_choice:
        yield first_choice
    if messages:
        yield messages


def _macos_locales(timeout_s: float) -> Iterator[str]:
    try:
        done = run_external(["defaults", "read", "-g", "AppleLocale"], timeout_s)
    except ExternalCommandError:
        return
    if done.returncode == 0:
        yield done.first_line()


def _windows_locales() -> Iterator[str]:
    import ctypes  # Windows only: no reason to load it anywhere else
    import locale as c_locale

    windll = getattr(ctypes, "windll", None)
    if windll is not None:
        buffer = ctypes.create_unicode_buffer(_LOCALE_NAME_MAX)
        if windll.kernel32.GetUserDefaultLocaleName(buffer, _LOCALE_NAME_MAX):
            yield buffer.value   # "zh-CN"
    # "Chinese (Simplified)_China" on older Pythons, "zh_CN" on newer ones.
    yield c_locale.getlocale()[0] or ""

