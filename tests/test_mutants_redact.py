"""The redactor, pinned piece by piece (mutation testing, docs/mutation.md).

redact_forms (canonical forms, secrets by syntax, home paths), redact_match
(fingerprints and the literal matcher), redact_sources (what identifies the device)
and redact (the Redactor and its entry points): exact outputs, so a changed rule,
bound or token fails here.
"""

from __future__ import annotations

import dataclasses
import getpass
import hashlib
import hmac
import os
import socket
from collections import namedtuple
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from payprobe.reports import redact_forms as forms
from payprobe.reports import redact_match as rm
from payprobe.reports import redact_sources as rs
from payprobe.reports.redact import (
    RECORD_KEY,
    Redactor,
    fingerprint_record,
    make_redactor,
    recorded_fingerprints,
    redact_report,
    redact_value,
)
from payprobe.reports.redact_sources import Secrets
from payprobe.settings import (
    AlertsConfig,
    BandwidthConfig,
    ClockConfig,
    ConnectivityConfig,
    DnsConfig,
    Endpoint,
    Resolver,
    Settings,
    UploadConfig,
)

SALT = bytes(range(16))
OTHER_SALT = bytes(range(1, 17))
_Addr = namedtuple("_Addr", "family address netmask broadcast ptp")


def token(kind: str, value: str, salt: bytes = SALT) -> str:
    """The documented token: kind, then 6 hex digits of SHA-256(salt, kind, value)."""
    digest = hashlib.sha256(salt + kind.encode() + b"\0" + value.encode())
    return f"{kind}-{digest.hexdigest()[:6]}"


def device_secrets() -> Secrets:
    return Secrets(hostname={"Pixel-7"}, users={"alice_w"}, homes={"/home/alice_w"}, literals={"pa@ss"},
                   addresses={"192.168.1.5", "127.0.0.1"}, macs={"3c22fbaabbcc"}, ssids={"Home Net"})


@pytest.fixture
def redactor() -> Redactor:
    return make_redactor(secrets=device_secrets(), salt=SALT)


@pytest.fixture
def bare_device(monkeypatch: pytest.MonkeyPatch) -> None:
    """A device with nothing to hide: no hostname, user, home, interfaces or proxy."""
    import psutil
    monkeypatch.setattr(socket, "gethostname", lambda: "localhost")
    monkeypatch.setattr(getpass, "getuser", lambda: "")
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: Path("/")))
    monkeypatch.setattr(psutil, "net_if_addrs", lambda: {})
    for var in list(os.environ):
        if var.lower().endswith("_proxy"):
            monkeypatch.delenv(var)


# ------------------------------------------------------------------ redact_forms


@pytest.mark.parametrize("raw, canonical", [
    ("Pa%40SS", "pa@ss"),
    ("  Alice \t Home\n5G ", "alice home 5g"),
    ("100%", "100%"),
    ("STRASSE", "strasse"),
    ("Straße", "strasse"),
])
def test_canonical_text_when_written_differently_gives_one_form(raw, canonical):
    assert forms.canonical_text(raw) == canonical


@pytest.mark.parametrize("raw, canonical", [
    ("3C-22-FB-AA-BB-CC", "3c:22:fb:aa:bb:cc"),
    ("3c22.fbaa.bbcc", "3c:22:fb:aa:bb:cc"),
    ("3c22fbaabbcc", "3c:22:fb:aa:bb:cc"),
    ("3c22fbaabb", None),
    ("3c22fbaabbccdd", None),
    ("3c22fbaabbcz", None),
])
def test_canonical_mac_when_written_in_any_notation_gives_colon_pairs(raw, canonical):
    assert forms.canonical_mac(raw) == canonical


@pytest.mark.parametrize("raw, expected", [
    ("3c22fbaabbcc", True), ("123456789012", False), ("aabbccddeeff", False),
])
def test_looks_like_bare_mac_when_digits_and_letters_mix_is_true(raw, expected):
    assert forms.looks_like_bare_mac(raw) is expected


@pytest.mark.parametrize("raw, canonical", [
    ("203.0.114.9", "203.0.114.9"),
    ("203.000.114.009", "203.0.114.9"),
    ("203-0-114-9", "203.0.114.9"),
    ("255.255.255.255", "255.255.255.255"),
    ("[fe80::1%wlan0]", "fe80::1"),
    ("FE80:0:0::1%25wlan0", "fe80::1"),
    ("::ffff:203.0.114.9", "203.0.114.9"),
    ("::ffff:cb00:7209", "203.0.114.9"),
    ("2001:DB8::1", "2001:db8::1"),
    ("fe80::1%wl%an0", "fe80::1"),
])
def test_canonical_ip_when_written_in_any_notation_names_the_address(raw, canonical):
    assert str(forms.canonical_ip(raw)) == canonical


@pytest.mark.parametrize("raw", ["256.1.1.1", "1.2.3", "1.2.3.4.5", "1.2.3.1000", "0203.0.114.9", "1.2.x.4", "X1.2.3.4", "fe80::zz",
                                 "1-2-3"])
def test_canonical_ip_when_not_an_address_is_none(raw):
    assert forms.canonical_ip(raw) is None


@pytest.mark.parametrize("text, masked", [
    ("see https://x.example/a?key=abc&flag&e=&=v#frag end.", "see https://x.example/a?key=***&***&e=&=***#*** end."),
    ("http://h/p?a=1&&b=2 x", "http://h/p?a=***&&b=*** x"),
    ("http://h/p#", "http://h/p#"),
    ("http://h/p?", "http://h/p?"),
    ("http://h/p#x?y=1", "http://h/p#***"),
    ("http://h/p", "http://h/p"),
    ("http://h/p#a#b", "http://h/p#***"),
    ("http://h/p?a?b", "http://h/p?***"),
    ("http://h/p?=b=c", "http://h/p?=***"),
    ("GET /x?token=abc&b=2 HTTP", "GET /x?token=***&b=*** HTTP"),
    ("see /x?a=1, then /y?b=2.", "see /x?a=***, then /y?b=***."),   # prose punctuation stays
    ("(/x?a=1)", "(/x?a=***)"),
    ("Authorization: Bearer abcdef123", "Authorization: Bearer ***"),
    ("proxy-authorization=basic xyz", "proxy-authorization=basic ***"),
    ("authorization:abc,next", "authorization:***,next"),
    ("bearer abcdefgh== rest", "bearer *** rest"),
    ("bearer abc", "bearer abc"),
    ("api_key: s3cr3t, my_pass=hunter2 pass=x key=y sid=1", "api_key: ***, my_pass=*** pass=*** key=*** sid=***"),
    ("session: 2 db_session: 3", "session: 2 db_session: ***"),
    ("user:pw@host.x", "***@host.x"),
    ("FTP://u:p@h/", "FTP://***@h/"),
    ("mail me at bob@example.org", "mail me at bob@example.org"),
])
def test_mask_secret_syntax_when_secrets_have_a_syntax_masks_values_and_keeps_keys(text, masked):
    assert forms.mask_secret_syntax(text) == masked


@pytest.mark.parametrize("text, masked", [
    ("/home/Alice Smith/x", "~/x"),
    ("at /home/bob", "at ~"),
    ("/Users/Bob/Desktop", "~/Desktop"),
    ("C:\\Users\\Carl\\y", "~\\y"),
    ("/HOME/dora/z", "~/z"),
    ("/home/", "/home/"),
    ("/home/~/z", "/home/~/z"),
])
def test_mask_home_paths_when_a_home_is_named_becomes_tilde(text, masked):
    assert forms.mask_home_paths(text) == masked


# ------------------------------------------------------------------ redact_match


def test_hasher_digest_when_asked_is_the_salted_hmac_of_the_value():
    expected = hmac.new(SALT, b"pa@ss", hashlib.sha256).hexdigest()[:32]
    hasher = rm.Hasher(SALT)
    assert hasher.digest("pa@ss") == expected
    assert hasher.digest("pa@ss") == expected   # from the memo, the same
    assert hasher.check == hmac.new(SALT, b"payprobe fingerprint salt check", hashlib.sha256).hexdigest()[:32]


def test_hasher_digest_when_asked_twice_hashes_once(monkeypatch):
    hasher = rm.Hasher(SALT)
    calls: list[bytes] = []
    real = hasher.digest_bytes
    monkeypatch.setattr(hasher, "digest_bytes", lambda data: calls.append(data) or real(data))
    assert hasher.digest("dns") == hasher.digest("dns")
    assert calls == [b"dns"]


def test_hasher_digest_when_the_value_has_a_lone_surrogate_still_hashes_it():
    expected = hmac.new(SALT, "a\udc80".encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]
    assert rm.Hasher(SALT).digest("a\udc80") == expected


def test_hasher_digest_when_the_memo_is_full_starts_it_again(monkeypatch):
    monkeypatch.setattr(rm, "_MEMO_ENTRIES", 2)
    hasher = rm.Hasher(SALT)
    first = [hasher.digest(v) for v in ("a", "b", "c")]
    assert len(hasher._memo) == 1
    assert [hasher.digest(v) for v in ("a", "b", "c")] == first


def test_fingerprints_of_when_values_are_given_counts_rounded_length_and_words():
    hasher = rm.Hasher(SALT)
    fp = rm.Fingerprints.of(hasher, {"literal": {"abcdefghi", ""}, "ssid": {"my home net"},
                                     "address": {"203.0.114.9"}, "mac": set()})
    assert fp.check == hasher.check
    assert fp.digests == {"literal": frozenset({hasher.digest("abcdefghi")}),
                          "ssid": frozenset({hasher.digest("my home net")}),
                          "address": frozenset({hasher.digest("203.0.114.9")})}
    assert fp.max_chars == 16
    assert fp.max_words == 3


def test_fingerprints_of_when_a_length_is_a_multiple_of_eight_keeps_it():
    fp = rm.Fingerprints.of(rm.Hasher(SALT), {"user": {"abcdefgh"}})
    assert (fp.max_chars, fp.max_words) == (8, 1)


def test_fingerprints_of_when_literals_are_huge_caps_length_and_words():
    fp = rm.Fingerprints.of(rm.Hasher(SALT), {"literal": {"x " * 600}})
    assert (fp.max_chars, fp.max_words) == (rm.MAX_CHARS, rm.MAX_WORDS)


def test_fingerprints_of_when_empty_has_no_digests_and_defaults():
    fp = rm.Fingerprints.of(rm.Hasher(SALT), {})
    assert (dict(fp.digests), fp.max_chars, fp.max_words) == ({}, 0, 1)


def test_fingerprints_merged_when_same_salt_unites_kinds_and_takes_the_larger_bounds():
    hasher = rm.Hasher(SALT)
    a = rm.Fingerprints.of(hasher, {"literal": {"one"}, "user": {"bob"}})
    b = rm.Fingerprints.of(hasher, {"literal": {"two words here and more"}, "mac": {"3c:22:fb:aa:bb:cc"}})
    merged = a.merged(b)
    assert merged.check == hasher.check
    assert merged.digests == {"literal": frozenset({hasher.digest("one"), hasher.digest("two words here and more")}),
                              "user": frozenset({hasher.digest("bob")}),
                              "mac": frozenset({hasher.digest("3c:22:fb:aa:bb:cc")})}
    assert (merged.max_chars, merged.max_words) == (24, 5)
    assert (b.merged(a).max_chars, b.merged(a).max_words) == (24, 5)


def test_fingerprints_merged_when_salts_differ_raises():
    a = rm.Fingerprints.of(rm.Hasher(SALT), {})
    b = rm.Fingerprints.of(rm.Hasher(OTHER_SALT), {})
    with pytest.raises(ValueError, match="^fingerprints made with another redaction salt cannot be used"):
        a.merged(b)


def test_fingerprints_kind_of_when_a_value_is_several_kinds_gives_the_first():
    hasher = rm.Hasher(SALT)
    fp = rm.Fingerprints.of(hasher, {"user": {"pixel"}, "hostname": {"pixel"}, "address": {"1.2.3.4"}})
    assert fp.kind_of(hasher.digest("pixel")) == "hostname"
    assert fp.kind_of(hasher.digest("1.2.3.4")) is None
    assert fp.kind_of(hasher.digest("1.2.3.4"), ("address",)) == "address"
    assert fp.kind_of(hasher.digest("nothing")) is None


def test_fingerprints_to_dict_when_read_back_is_equal():
    hasher = rm.Hasher(SALT)
    fp = rm.Fingerprints.of(hasher, {"literal": {"b-secret", "a-secret"}, "ssid": {"net"}})
    data = fp.to_dict()
    assert data == {"format": "payprobe-fingerprints/1", "check": hasher.check, "max_chars": 8, "max_words": 1,
                    "digests": {"literal": sorted([hasher.digest("a-secret"), hasher.digest("b-secret")]),
                                "ssid": [hasher.digest("net")]}}
    assert list(data["digests"]) == ["literal", "ssid"]
    assert rm.Fingerprints.from_dict(data) == fp


def _record(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"format": "payprobe-fingerprints/1", "check": "c", "max_chars": 8,
                              "max_words": 2, "digests": {"literal": ["d1"]}}
    record.update(changes)
    return record


def test_fingerprints_from_dict_when_valid_reads_every_field():
    fp = rm.Fingerprints.from_dict(_record())
    assert (fp.check, dict(fp.digests), fp.max_chars, fp.max_words) == ("c", {"literal": frozenset({"d1"})}, 8, 2)


@pytest.mark.parametrize("data, message", [
    ("not a mapping", "^not a payprobe-fingerprints/1 record$"),
    (_record(format="other/1"), "^not a payprobe-fingerprints/1 record$"),
    ({"check": "c"}, "^not a payprobe-fingerprints/1 record$"),
    (_record(check=5), "^fingerprint record: bad 'check' or 'digests'$"),
    (_record(digests=["d1"]), "^fingerprint record: bad 'check' or 'digests'$"),
    (_record(digests={"password": ["d1"]}), "^fingerprint record: bad 'digests'$"),
    (_record(digests={"literal": "d1"}), "^fingerprint record: bad 'digests'$"),
    (_record(digests={"literal": [1]}), "^fingerprint record: bad 'digests'$"),
    (_record(max_chars=-1), "^fingerprint record: bad 'max_chars' or 'max_words'$"),
    (_record(max_chars=rm.MAX_CHARS + 1), "^fingerprint record: bad 'max_chars' or 'max_words'$"),
    (_record(max_chars="8"), "^fingerprint record: bad 'max_chars' or 'max_words'$"),
    (_record(max_chars=True), "^fingerprint record: bad 'max_chars' or 'max_words'$"),
    (_record(max_words=0), "^fingerprint record: bad 'max_chars' or 'max_words'$"),
    (_record(max_words=rm.MAX_WORDS + 1), "^fingerprint record: bad 'max_chars' or 'max_words'$"),
])
def test_fingerprints_from_dict_when_malformed_raises_saying_what(data, message):
    with pytest.raises(ValueError, match=message):
        rm.Fingerprints.from_dict(data)


@pytest.mark.parametrize("max_chars, max_words", [(0, 1), (rm.MAX_CHARS, rm.MAX_WORDS)])
def test_fingerprints_from_dict_when_bounds_are_at_the_limits_accepts_them(max_chars, max_words):
    fp = rm.Fingerprints.from_dict(_record(max_chars=max_chars, max_words=max_words))
    assert (fp.max_chars, fp.max_words) == (max_chars, max_words)


@pytest.mark.parametrize("text, starts, ends", [
    ("ab cd", [0, 3], [2, 5]),
    ("pixel-7-alice2", [0, 5, 6, 7, 8], [5, 6, 7, 8, 13, 14]),
    ("a.b", [0, 1, 2], [1, 2, 3]),
    ("", [], []),
])
def test_boundaries_when_text_has_words_and_marks_gives_starts_and_ends(text, starts, ends):
    assert rm._boundaries(text) == (starts, ends)


def _fp(**canonical: set[str]) -> tuple[rm.Fingerprints, rm.Hasher]:
    hasher = rm.Hasher(SALT)
    return rm.Fingerprints.of(hasher, canonical), hasher


def test_find_literals_when_known_values_appear_gives_each_with_its_place():
    fp, hasher = _fp(hostname={"pixel-7-alice"}, literal={"pa@ss"}, ssid={"alice home 5g"})
    text = "PIXEL-7-ALICE.lan pa%40ss on Alice  Home 5G!"
    assert rm.find_literals(text, fp, hasher) == [
        (0, 13, "hostname", "pixel-7-alice"), (18, 25, "literal", "pa@ss"),
        (29, 43, "ssid", "alice home 5g")]


def test_find_literals_when_a_longer_value_starts_at_the_same_place_takes_the_longest():
    fp, hasher = _fp(user={"ab"}, hostname={"ab cd"})
    assert rm.find_literals("ab cd", fp, hasher) == [(0, 5, "hostname", "ab cd")]


def test_find_literals_when_matches_overlap_keeps_the_leftmost():
    fp, hasher = _fp(user={"ab cd"}, hostname={"cd ef"})
    assert rm.find_literals("ab cd ef", fp, hasher) == [(0, 5, "user", "ab cd")]


def test_find_literals_when_values_are_one_letter_or_too_many_words_ignores_them():
    hasher = rm.Hasher(SALT)
    fp = dataclasses.replace(rm.Fingerprints.of(hasher, {"literal": {"a b c"}}), max_words=2)
    assert rm.find_literals("a b c", fp, hasher) == []
    single = dataclasses.replace(rm.Fingerprints.of(hasher, {"literal": {"x"}}), max_chars=8)
    assert rm.find_literals("x", single, hasher) == []


def test_find_literals_when_a_value_is_exactly_max_chars_long_finds_it():
    fp, hasher = _fp(literal={"abcdefgh"})
    assert fp.max_chars == 8
    assert rm.find_literals("xx abcdefgh", fp, hasher) == [(3, 11, "literal", "abcdefgh")]


def test_find_literals_when_percent_encoded_past_max_chars_still_finds_it():
    fp, hasher = _fp(literal={"a@b@c@d@"})
    written = "a%40b%40c%40d%40"
    assert rm.find_literals(f"x {written} y", fp, hasher) == [(2, 2 + len(written), "literal", "a@b@c@d@")]


def test_find_literals_when_a_value_is_two_letters_finds_it():
    fp, hasher = _fp(user={"ab"})
    assert rm.find_literals("x ab y", fp, hasher) == [(2, 4, "user", "ab")]


def test_find_literals_when_a_stretch_is_longer_than_the_window_does_not_read_it():
    # The window is max_chars plus two per percent sign (a %XX is three letters for one):
    # "a%40b" + spaces + "c" collapses to "a@b c" but is written longer than the window.
    fp, hasher = _fp(literal={"a@b c"})
    assert fp.max_chars == 8
    assert rm.find_literals("a%40b   c", fp, hasher) == [(0, 9, "literal", "a@b c")]
    assert rm.find_literals("a%40b     c", fp, hasher) == []
    assert rm.find_literals("%%%% a%40b     c", fp, hasher) == []
    assert rm.find_literals("a%40b     c" + " " * 20 + "%%%%%%", fp, hasher) == []


def test_find_literals_when_only_values_are_known_finds_nothing():
    fp, hasher = _fp(address={"1.2.3.4"})
    assert rm.find_literals("1.2.3.4", fp, hasher) == []


def test_replace_literals_when_own_tokens_are_in_the_text_leaves_them():
    fp, hasher = _fp(literal={"secret1"}, user={"ssid"})
    out = rm.replace_literals("a secret1 ssid-abcdef b SECRET1 ***", fp, hasher,
                              lambda kind, canonical: f"<{kind}:{canonical}>")
    assert out == "a <literal:secret1> ssid-abcdef b <literal:secret1> ***"


def test_replace_literals_when_nothing_is_known_returns_the_text():
    fp, hasher = _fp()
    assert rm.replace_literals("a <user> b", fp, hasher, lambda kind, canonical: "X") == "a <user> b"


# ------------------------------------------------------------------ redact_sources


def test_secrets_merged_when_two_sets_unites_every_kind():
    a = Secrets({"h1"}, {"u1"}, {"/home/u1"}, {"l1"}, {"1.1.1.2"}, {"m1"}, {"s1"})
    b = Secrets({"h2"}, {"u2"}, {"/home/u2"}, {"l2"}, {"1.1.1.3"}, {"m2"}, {"s2"})
    assert a.merged(b) == Secrets({"h1", "h2"}, {"u1", "u2"}, {"/home/u1", "/home/u2"}, {"l1", "l2"},
                                  {"1.1.1.2", "1.1.1.3"}, {"m1", "m2"}, {"s1", "s2"})


def test_secrets_canonical_when_values_are_written_any_way_gives_canonical_forms():
    s = Secrets(hostname={"Pixel-7", "x"}, users={"Alice", "Al"}, homes={"/HOME/alice"}, literals={"pa%40ss"},
                addresses={"127.0.0.1", "::1", "203.000.114.009", "nope"}, macs={"3C-22-FB-AA-BB-CC", "zz"},
                ssids={"Home  Net"})
    assert s.canonical() == {"home": {"/home/alice"}, "hostname": {"pixel-7"}, "user": {"alice", "al"},
                             "ssid": {"home net"}, "literal": {"pa@ss"}, "address": {"203.0.114.9"},
                             "mac": {"3c:22:fb:aa:bb:cc"}}


def test_local_secrets_when_the_device_has_names_reads_each_source(monkeypatch):
    import psutil
    monkeypatch.setattr(socket, "gethostname", lambda: "Pixel-7.lan")
    monkeypatch.setattr(getpass, "getuser", lambda: "u0_a123")
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: Path("/home/Alice Smith")))
    monkeypatch.setattr(psutil, "net_if_addrs", lambda: {"wlan0": [
        _Addr(socket.AF_INET, "192.168.1.5", None, None, None),
        _Addr(psutil.AF_LINK, "3c:22:fb:aa:bb:cc", None, None, None),
        _Addr(psutil.AF_LINK, "not-a-mac", None, None, None)]})
    for var in list(os.environ):
        if var.lower().endswith("_proxy"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("https_proxy", "http://puser:ppass@10.0.0.1:3128")
    monkeypatch.setenv("NO_PROXYISH", "http://nuser:npass@10.0.0.1")
    monkeypatch.setenv("ALL_PROXY", "socks5://suser:spass@10.0.0.2")
    s = rs.local_secrets()
    assert s.hostname == {"Pixel-7.lan", "Pixel-7"}
    assert s.users == {"u0_a123", "Alice Smith"}
    assert "/home/Alice Smith" in s.homes
    assert s.addresses == {"192.168.1.5"}
    assert s.macs == {"3c:22:fb:aa:bb:cc"}
    assert s.literals == {"puser", "ppass", "suser", "spass"}


def test_local_secrets_when_the_device_hides_everything_is_empty(bare_device):
    s = rs.local_secrets()
    assert s == Secrets(users={""})


@pytest.mark.parametrize("name", ["", "localhost", "LOCALHOST.localdomain"])
def test_hostnames_when_generic_gives_none(monkeypatch, name):
    monkeypatch.setattr(socket, "gethostname", lambda: name)
    assert rs._hostnames() == set()


def test_hostnames_when_the_call_fails_gives_none(monkeypatch):
    def fail() -> str:
        raise OSError("no")
    monkeypatch.setattr(socket, "gethostname", fail)
    assert rs._hostnames() == set()


def test_homes_and_owners_when_home_is_not_a_persons_folder_has_no_owner(monkeypatch):
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: Path("/data/data/com.termux/files/home")))
    assert rs._homes_and_owners() == ({"/data/data/com.termux/files/home"}, set())


def test_homes_and_owners_when_under_users_names_the_owner(monkeypatch):
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: Path("/Users/bob")))
    assert rs._homes_and_owners() == ({"/Users/bob"}, {"bob"})


def test_homes_and_owners_when_home_is_a_symlink_adds_the_real_path(monkeypatch, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: link))
    assert rs._homes_and_owners() == ({str(link), str(real)}, set())


def test_homes_and_owners_when_home_is_unknown_gives_none(monkeypatch):
    def fail(cls: Any) -> Path:
        raise RuntimeError("no home")
    monkeypatch.setattr(Path, "home", classmethod(fail))
    assert rs._homes_and_owners() == (set(), set())


@pytest.mark.parametrize("url, found", [
    ("http://alice:pa%40ss@proxy:3128", {"alice", "pa%40ss"}),
    ("alice:secret@proxy:3128", {"alice", "secret"}),
    ("http://al:pwd@proxy", {"pwd"}),
    ("http://proxy:3128", set()),
    ("http://[::1@x", set()),
    ("http://:secret@proxy", {"secret"}),
    ("http://alice@proxy", {"alice"}),
])
def test_url_credentials_when_a_url_has_userinfo_gives_names_of_three_letters_or_more(url, found):
    assert rs.url_credentials(url) == found


@pytest.mark.parametrize("url, found", [
    ("https://x/p?key=abcdef&short=abcde&empty=&k=abcdefg", {"abcdef", "abcdefg"}),
    ("https://x/p", set()),
    ("http://[::1/?key=abcdefgh", set()),
])
def test_url_query_values_when_a_url_has_a_query_gives_values_of_six_letters_or_more(url, found):
    assert rs.url_query_values(url) == found


def _settings() -> Settings:
    return dataclasses.replace(
        Settings(),
        dns=DnsConfig(resolvers=[Resolver(name="doh", url="https://dohuser:dohpass@9.9.9.10/dns-query"),
                                 Resolver(name="plain", address="36.112.1.1:53"),
                                 Resolver(name="v6", address="[2402:4e00::9]:53")]),
        clock=ClockConfig(http_date_urls=["http://36.112.1.2/?token=datetoken"], ntp_servers=["36.112.1.3", "ntp.x"]),
        connectivity=ConnectivityConfig(check_urls=["http://36.112.1.4/generate_204?key=checkkey"]),
        endpoints=[Endpoint(name="e", url="https://epuser:eppass@pay.example/?sig=endpointsig")],
        bandwidth=BandwidthConfig(mini_server="http://bwuser:bwpass@36.112.1.5/"),
        alerts=AlertsConfig(webhook_url="https://hook.example/x?hook=webhooksecret"),
        upload=UploadConfig(url="https://up.example/u", token="uploadtoken", token_env="MUT_UPLOAD_TOKEN"),
    )


def test_config_urls_when_the_config_has_urls_gives_each_once():
    assert list(rs.config_urls(_settings())) == [
        "https://dohuser:dohpass@9.9.9.10/dns-query", "http://36.112.1.2/?token=datetoken",
        "http://36.112.1.4/generate_204?key=checkkey", "https://epuser:eppass@pay.example/?sig=endpointsig",
        "http://bwuser:bwpass@36.112.1.5/", "https://hook.example/x?hook=webhooksecret", "https://up.example/u"]
    assert list(rs.config_urls(None)) == []


def test_config_secrets_when_the_config_has_credentials_gives_each(monkeypatch):
    monkeypatch.setenv("MUT_UPLOAD_TOKEN", "envtoken")
    s = rs.config_secrets(_settings())
    assert s.literals == {"dohuser", "dohpass", "datetoken", "checkkey", "epuser", "eppass", "endpointsig",
                          "bwuser", "bwpass", "webhooksecret", "uploadtoken", "envtoken"}
    assert rs.config_secrets(None) == Secrets()


def test_config_secrets_when_tokens_are_short_ignores_them(monkeypatch):
    monkeypatch.setenv("MUT_UPLOAD_TOKEN", "abcde")
    settings = dataclasses.replace(Settings(), upload=UploadConfig(token="12345", token_env="MUT_UPLOAD_TOKEN"))
    assert rs.config_secrets(settings).literals == set()
    settings = dataclasses.replace(Settings(), upload=UploadConfig(token="123456", token_env=""))
    assert rs.config_secrets(settings).literals == {"123456"}


def _partial_settings() -> Any:
    """A settings-like object with none of the optional fields (only the sections it must have)."""
    return SimpleNamespace(dns=SimpleNamespace(), clock=SimpleNamespace(), connectivity=SimpleNamespace())


def test_config_sources_when_settings_lack_optional_fields_find_nothing():
    assert list(rs.config_urls(_partial_settings())) == []
    assert rs.config_secrets(_partial_settings()) == Secrets()
    assert rs.config_addresses(_partial_settings()) == set()


def test_config_sources_when_sections_lack_their_keys_find_nothing():
    settings = _partial_settings()
    for section in ("bandwidth", "alerts", "upload"):
        setattr(settings, section, SimpleNamespace())
    assert list(rs.config_urls(settings)) == []
    assert rs.config_secrets(settings) == Secrets()


def test_config_addresses_when_the_config_names_addresses_gives_each():
    assert rs.config_addresses(_settings()) == {"9.9.9.10", "36.112.1.1", "2402:4e00::9", "36.112.1.2",
                                                "36.112.1.3", "36.112.1.4", "36.112.1.5"}
    assert rs.config_addresses(None) == set()


def test_config_addresses_when_a_value_is_not_host_port_reads_it_whole():
    settings = dataclasses.replace(Settings(), clock=ClockConfig(ntp_servers=[" 36.112.9.9 ", "::1:2:3", "x:y:z", "a:b",
                                                                               "X1.2.3.4"]))
    assert rs.config_addresses(settings) == {"36.112.9.9", "::1:2:3"}


def test_collect_ssids_when_nested_gives_every_ssid_of_two_letters_or_more():
    report = {"checks": [{"evidence": ({"SSID": "Home Net", "wifi_ssid": "x", "essid": 5, "ESSID": "ab"},
                                       {"network_name": "Cafe"})}],
              "ssid": {"ssid": "Inner"}}
    assert rs.collect_ssids(report, {"Given"}) == {"Given", "Home Net", "ab", "Cafe", "Inner"}


# ------------------------------------------------------------------ redact


def test_redactor_token_when_asked_is_kind_and_six_hex_digits_of_the_salted_hash(redactor):
    assert redactor.token("addr", "36.1.2.3") == token("addr", "36.1.2.3")
    assert redactor.token("ssid", "é") == token("ssid", "é")
    lone = "a\udc80"
    digest = hashlib.sha256(SALT + b"ssid\0" + lone.encode("utf-8", "surrogatepass")).hexdigest()[:6]
    assert redactor.token("ssid", lone) == f"ssid-{digest}"


def test_redactor_text_when_device_literals_appear_replaces_each_by_its_kind(redactor):
    assert redactor.text("pixel-7.lan alice_w /home/alice_w/x pa%40ss home net") == (
        f"<hostname>.lan <user> ~/x *** {token('ssid', 'home net')}")


def test_redactor_text_when_macs_appear_tokenises_the_real_ones(redactor):
    text = "3c22fbaabbcc 123456789012 aabbccddeeff 3C:22:FB:AA:BB:CD 0a1b2c3d4e5f"
    assert redactor.text(text) == (f"{token('mac', '3c:22:fb:aa:bb:cc')} 123456789012 aabbccddeeff "
                                   f"{token('mac', '3c:22:fb:aa:bb:cd')} {token('mac', '0a:1b:2c:3d:4e:5f')}")


def test_redactor_text_when_a_known_mac_is_all_digits_still_tokenises_it():
    r = make_redactor(secrets=Secrets(macs={"001122334455"}), salt=SALT)
    assert r.text("id 001122334455 and 001122334466") == f"id {token('mac', '00:11:22:33:44:55')} and 001122334466"


@pytest.mark.parametrize("address, kind", [
    ("192.168.1.5", "lan"), ("10.0.0.1", "lan"), ("100.64.1.1", "lan"), ("169.254.1.1", "lan"),
    ("fe80::1", "lan"), ("fd00::1", "lan"), ("36.1.2.3", "addr"), ("2a00::1", "addr"),
])
def test_redactor_text_when_an_address_identifies_tokenises_it_by_range(redactor, address, kind):
    assert redactor.text(f"at {address} now") == f"at {token(kind, address)} now"


@pytest.mark.parametrize("address", [
    "8.8.8.8", "127.0.0.1", "0.0.0.0", "192.0.2.1", "198.51.100.2", "203.0.113.3", "198.18.0.1", "198.19.255.1",
    "2001:db8::1", "::1", "::", "2400:3200::1",
])
def test_redactor_text_when_an_address_identifies_nobody_keeps_it(redactor, address):
    assert redactor.text(f"at {address} now") == f"at {address} now"


def test_redactor_text_when_an_interface_address_is_in_a_kept_range_still_tokenises_it():
    r = make_redactor(secrets=Secrets(addresses={"198.18.0.7", "8.8.4.4"}), salt=SALT)
    assert r.text("198.18.0.7 8.8.4.4 198.18.0.8") == f"{token('lan', '198.18.0.7')} {token('addr', '8.8.4.4')} 198.18.0.8"


def test_redactor_text_when_an_address_is_dashed_or_mapped_tokenises_the_address(redactor):
    expected = token("addr", "36.1.2.3")
    assert redactor.text("ip-36-1-2-3.x ::ffff:36.1.2.3") == f"ip-{expected}.x {expected}"


def test_redactor_text_when_config_addresses_are_given_keeps_them():
    r = Redactor(rm.Fingerprints.of(rm.Hasher(SALT), {}), rm.Hasher(SALT), SALT, ["36.1.2.3", "not-an-ip"])
    assert r.text("36.1.2.3 36.1.2.4") == f"36.1.2.3 {token('addr', '36.1.2.4')}"


def test_redactor_text_when_already_redacted_is_unchanged(redactor):
    text = f"{token('lan', '10.0.0.1')} <hostname> *** ~/x mac-abcdef"
    assert redactor.text(text) == text


def test_redactor_text_when_a_bearer_token_ends_in_an_address_masks_it(redactor):
    assert redactor.text("Bearer ::ffff:abcd") == "Bearer ***"


def test_redactor_field_when_the_key_says_what_it_is_redacts_by_kind(redactor):
    assert redactor.value({
        "ssid": "My Net", "bssid": "AA-BB-CC-DD-EE-FF", "password": 5, "Api_Key": 1.5, "has_credentials": "yes",
        "k": None, "token": ["a"], "x": ("8.8.8.8", "36.1.2.3"), 1: "36.1.2.3", "e": "", "l": [], "d": {},
        "wifi_bssid": "zz", "flag": True, "n": 3, "36.1.2.3": "v", "ap_mac": "lan-abcdef",
    }) == {
        "ssid": token("ssid", "my net"), "bssid": token("mac", "aa:bb:cc:dd:ee:ff"), "password": "***",
        "Api_Key": "***", "has_credentials": "yes", "k": None, "token": ["a"], "x": ["8.8.8.8", token("addr", "36.1.2.3")],
        1: token("addr", "36.1.2.3"), "e": "", "l": [], "d": {}, "wifi_bssid": token("mac", "zz"), "flag": True,
        "n": 3, token("addr", "36.1.2.3"): "v", "ap_mac": "lan-abcdef",
    }


def test_redactor_field_when_a_secret_key_holds_a_false_flag_or_nothing_keeps_it(redactor):
    assert redactor.field("password", False) is False
    assert redactor.field("password", "") == ""
    assert redactor.field("password", None) is None
    assert redactor.field("password", 0) == "***"


def test_redactor_report_when_fields_are_the_tools_own_keeps_them_and_drops_the_record(redactor):
    report = {"status": "36.1.2.3", "tool": "36.1.2.3", RECORD_KEY: {"x": 1}, "redacted": False,
              "x": "36.1.2.3", "token": "abc"}
    assert redactor.report(report) == {"status": "36.1.2.3", "tool": "36.1.2.3", "redacted": True,
                                       "x": token("addr", "36.1.2.3"), "token": "***"}


def test_recorded_fingerprints_when_the_record_is_missing_or_bad_is_none():
    assert recorded_fingerprints({"a": 1}) is None
    assert recorded_fingerprints(["not a report"]) is None
    assert recorded_fingerprints({RECORD_KEY: {"format": "bad"}}) is None
    record = rm.Fingerprints.of(rm.Hasher(SALT), {"literal": {"abc"}}).to_dict()
    assert recorded_fingerprints({RECORD_KEY: record}) == rm.Fingerprints.from_dict(record)


def test_fingerprint_record_when_secrets_and_settings_are_given_records_both(monkeypatch):
    monkeypatch.delenv("MUT_UPLOAD_TOKEN", raising=False)
    record = fingerprint_record(settings=_settings(), secrets=Secrets(literals={"devicepass"}), salt=SALT)
    hasher = rm.Hasher(SALT)
    literals = set(record["digests"]["literal"])
    assert hasher.digest("devicepass") in literals
    assert hasher.digest("uploadtoken") in literals
    assert set(record["digests"]) == {"literal"}


def test_fingerprint_record_when_no_secrets_are_given_reads_the_device(monkeypatch, bare_device):
    monkeypatch.setattr(socket, "gethostname", lambda: "myphone")
    record = fingerprint_record(salt=SALT)
    assert record["digests"] == {"hostname": [rm.Hasher(SALT).digest("myphone")]}


def test_make_redactor_when_no_secrets_are_given_reads_the_device(monkeypatch, bare_device):
    monkeypatch.setattr(socket, "gethostname", lambda: "myphone")
    assert make_redactor(salt=SALT).text("myphone x") == "<hostname> x"


def test_make_redactor_when_no_salt_is_given_uses_a_random_one():
    a = make_redactor(secrets=Secrets())
    b = make_redactor(secrets=Secrets())
    assert a.salt != b.salt and len(a.salt) == 16
    assert a.text("36.1.2.3") == a.text("36.1.2.3") != token("addr", "36.1.2.3", b"")


def test_make_redactor_when_the_report_recorded_secrets_with_this_salt_uses_them():
    record = fingerprint_record(secrets=Secrets(literals={"oldpassword"}), salt=SALT)
    report = {RECORD_KEY: record, "note": "oldpassword and newpassword"}
    r = make_redactor(report, secrets=Secrets(literals={"newpassword"}), salt=SALT)
    assert r.text("oldpassword and newpassword") == "*** and ***"


def test_make_redactor_when_the_record_has_another_salt_ignores_it():
    record = fingerprint_record(secrets=Secrets(literals={"oldpassword"}), salt=OTHER_SALT)
    r = make_redactor({RECORD_KEY: record}, secrets=Secrets(), salt=SALT)
    assert r.text("oldpassword") == "oldpassword"


def test_make_redactor_when_values_name_ssids_removes_them_everywhere():
    r = make_redactor({"ssid": "Cafe Net"}, secrets=Secrets(), salt=SALT, related=[{"wifi_ssid": "Bar Net"}])
    assert r.text("on cafe net then BAR NET") == f"on {token('ssid', 'cafe net')} then {token('ssid', 'bar net')}"


def test_make_redactor_when_settings_are_given_keeps_config_addresses_and_masks_config_secrets(monkeypatch):
    monkeypatch.delenv("MUT_UPLOAD_TOKEN", raising=False)
    r = make_redactor(secrets=Secrets(), salt=SALT, settings=_settings())
    assert r.text("36.112.1.1 uploadtoken") == "36.112.1.1 ***"


def test_redact_value_when_given_settings_secrets_and_salt_uses_each(monkeypatch):
    monkeypatch.delenv("MUT_UPLOAD_TOKEN", raising=False)
    obj = {"ssid": "Cafe Net", "note": ["cafe net", "devicepass", "uploadtoken", "36.112.1.1", "36.1.2.3"]}
    assert redact_value(obj, settings=_settings(), secrets=Secrets(literals={"devicepass"}), salt=SALT) == {
        "ssid": token("ssid", "cafe net"),
        "note": [token("ssid", "cafe net"), "***", "***", "36.112.1.1", token("addr", "36.1.2.3")]}


def test_redact_report_when_given_settings_secrets_and_salt_uses_each(monkeypatch):
    monkeypatch.delenv("MUT_UPLOAD_TOKEN", raising=False)
    report: Any = {"status": "ok", "redacted": False, "ssid": "Cafe Net",
                   "note": "cafe net devicepass uploadtoken 36.112.1.1 36.1.2.3"}
    assert redact_report(report, settings=_settings(), secrets=Secrets(literals={"devicepass"}), salt=SALT) == {
        "status": "ok", "redacted": True, "ssid": token("ssid", "cafe net"),
        "note": f"{token('ssid', 'cafe net')} *** *** 36.112.1.1 {token('addr', '36.1.2.3')}"}
