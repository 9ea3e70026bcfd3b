"""Fingerprints: a run's identifying literals, kept only as salted hashes of
their canonical form, and the matcher that finds them in text.

Why hashes: a report made with ``--no-redact`` is bundled later, maybe in
another shell where the proxy variable, the Wi-Fi or even the hostname differ.
The bundle must remove what identified the device *when the report was made*,
so the run records its secrets; recording them in plain text would put the
proxy password on disk. A fingerprint is ``HMAC-SHA256(salt, canonical)`` with
the device's redaction salt, which never leaves the device: the fingerprints
say nothing without it, and with it they only confirm a guess.

How text is matched: every stretch of text that starts at a word start (or a
punctuation mark) and ends at a word end (or a punctuation mark, or where
letters turn into digits: ``pixel-7-alice2``) is put in canonical form
(``redact_forms.canonical_text``) and looked up. The longest stretch found at
the leftmost place wins. So ``PIXEL-7-ALICE.lan``, ``pixel-7-alice-5g``,
``pa%40ss`` and ``alice home 5g`` are all caught by the fingerprints of
``pixel-7-alice``, ``pa@ss`` and ``Alice Home 5G``.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from payprobe.reports.redact_forms import OWN_TOKEN, canonical_text

# Kinds of literal, in the order that wins when one value is several (a user
# named like the host is still the host).
LITERAL_KINDS = ("home", "hostname", "user", "ssid", "literal")
VALUE_KINDS = ("address", "mac")      # compared in their own canonical forms, never searched
KINDS = LITERAL_KINDS + VALUE_KINDS
FORMAT = "payprobe-fingerprints/1"
_DIGEST_HEX = 32
MAX_WORDS = 8                        # an SSID may have spaces; a stretch never spans more words
# Longest literal a record may claim: the matcher's work grows with it, and a
# report from outside must not make a bundle take hours.
MAX_CHARS = 512
_MEMO_ENTRIES = 50_000
_CHECK_LABEL = b"payprobe fingerprint salt check"


def _round_up(n: int, step: int = 8) -> int:
    # Lengths are stored rounded, so the record does not tell a password's length.
    return -(-n // step) * step


class Hasher:
    """Keyed hash of canonical values with one salt."""

    def __init__(self, salt: bytes) -> None:
        self._base = hmac.new(salt, digestmod=hashlib.sha256)
        self.check = self.digest_bytes(_CHECK_LABEL)
        # The matcher hashes the same short stretches ("dns", "ok") over and over.
        self._memo: dict[str, str] = {}

    def digest_bytes(self, data: bytes) -> str:
        h = self._base.copy()
        h.update(data)
        return h.hexdigest()[:_DIGEST_HEX]

    def digest(self, canonical: str) -> str:
        found = self._memo.get(canonical)
        if found is None:
            if len(self._memo) >= _MEMO_ENTRIES:
                self._memo.clear()
            found = self._memo[canonical] = self.digest_bytes(canonical.encode("utf-8", "surrogatepass"))
        return found


@dataclass(frozen=True)
class Fingerprints:
    """Salted hashes of identifying values, by kind; JSON-ready through to_dict()."""

    check: str                                         # which salt made them
    digests: Mapping[str, frozenset[str]] = field(default_factory=dict)
    max_chars: int = 0                                 # longest literal (canonical), rounded up
    max_words: int = 1

    @classmethod
    def of(cls, hasher: Hasher, canonical: Mapping[str, Iterable[str]]) -> Fingerprints:
        """From values already in canonical form (``canonical_text``, ``canonical_mac``...)."""
        digests = {kind: frozenset(hasher.digest(v) for v in canonical.get(kind, ()) if v) for kind in KINDS}
        literals = [v for kind in LITERAL_KINDS for v in canonical.get(kind, ()) if v]
        return cls(check=hasher.check, digests={k: v for k, v in digests.items() if v},
                   max_chars=min(MAX_CHARS, _round_up(max((len(v) for v in literals), default=0))),
                   max_words=min(MAX_WORDS, max((len(v.split(" ")) for v in literals), default=1)))

    def merged(self, other: Fingerprints) -> Fingerprints:
        if other.check != self.check:
            raise ValueError("fingerprints made with another redaction salt cannot be used with this one")
        kinds = set(self.digests) | set(other.digests)
        return Fingerprints(self.check,
                            {k: self.digests.get(k, frozenset()) | other.digests.get(k, frozenset())
                             for k in kinds},
                            max(self.max_chars, other.max_chars), max(self.max_words, other.max_words))

    def kind_of(self, digest: str, kinds: Iterable[str] = LITERAL_KINDS) -> str | None:
        for kind in kinds:
            if digest in self.digests.get(kind, ()):
                return kind
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "check": self.check, "max_chars": self.max_chars,
                "max_words": self.max_words,
                "digests": {k: sorted(v) for k, v in sorted(self.digests.items())}}

    @classmethod
    def from_dict(cls, data: Any) -> Fingerprints:
        """Read what to_dict() wrote; ValueError when it is not that (it may come from outside)."""
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} record")
        check, raw = data.get("check"), data.get("digests")
        max_chars, max_words = data.get("max_chars"), data.get("max_words")
        if not isinstance(check, str) or not isinstance(raw, Mapping):
            raise ValueError("fingerprint record: bad 'check' or 'digests'")
        if not all(k in KINDS and isinstance(v, list) and all(isinstance(d, str) for d in v)
                   for k, v in raw.items()):
            raise ValueError("fingerprint record: bad 'digests'")
        if not (_count(max_chars, MAX_CHARS, 0) and _count(max_words, MAX_WORDS, 1)):
            raise ValueError("fingerprint record: bad 'max_chars' or 'max_words'")
        return cls(check=check, digests={k: frozenset(v) for k, v in raw.items()},
                   max_chars=cast(int, max_chars), max_words=cast(int, max_words))


def _count(value: Any, most: int, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and least <= value <= most


# ------------------------------------------------------------------ the matcher


def _boundaries(text: str) -> tuple[list[int], list[int]]:
    """Where a stretch may start and where it may end (see the module doc)."""
    starts: list[int] = []
    ends: list[int] = []
    n = len(text)
    for i, ch in enumerate(text):
        if ch.isspace():
            continue
        prev = text[i - 1] if i else " "
        if not ch.isalnum() or not prev.isalnum():
            starts.append(i)
        nxt = text[i + 1] if i + 1 < n else " "
        if not ch.isalnum() or not nxt.isalnum() or ch.isalpha() != nxt.isalpha():
            ends.append(i + 1)
    return starts, ends


def find_literals(text: str, fingerprints: Fingerprints, hasher: Hasher) -> list[tuple[int, int, str, str]]:
    """(start, end, kind, canonical) of each known literal in ``text``, left to right."""
    if not fingerprints.max_chars or not any(k in fingerprints.digests for k in LITERAL_KINDS):
        return []
    found: list[tuple[int, int, str, str]] = []
    starts, ends = _boundaries(text)
    done = 0
    for start in starts:
        if start < done:
            continue
        # Percent-encoding makes the written form up to three times the canonical one.
        limit = start + fingerprints.max_chars + 2 * text.count("%", start, start + 3 * fingerprints.max_chars)
        first = bisect.bisect_right(ends, start)
        last = bisect.bisect_right(ends, limit)
        for end in reversed(ends[first:last]):
            canonical = canonical_text(text[start:end])
            if len(canonical) < 2 or canonical.count(" ") >= fingerprints.max_words:
                continue
            kind = fingerprints.kind_of(hasher.digest(canonical))
            if kind is not None:
                found.append((start, end, kind, canonical))
                done = end
                break
    return found


def replace_literals(text: str, fingerprints: Fingerprints, hasher: Hasher,
                     replacement: Any) -> str:
    """``text`` with each known literal replaced by ``replacement(kind, canonical)``;
    the redactor's own tokens are left as they are."""
    out: list[str] = []
    pos = 0
    for own in [*OWN_TOKEN.finditer(text), None]:
        stop = own.start() if own is not None else len(text)
        piece = text[pos:stop]
        cursor = 0
        for start, end, kind, canonical in find_literals(piece, fingerprints, hasher):
            out.append(piece[cursor:start])
            out.append(replacement(kind, canonical))
            cursor = end
        out.append(piece[cursor:])
        if own is not None:
            out.append(own.group(0))
            pos = own.end()
    return "".join(out)
