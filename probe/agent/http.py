"""The agent's one outgoing HTTP sender, and the one URL policy it enforces.

Alert webhooks, Pushgateway pushes and bundle uploads all leave through here,
so the same rules hold for each of them:

==================  =========================================================
URL                 parsed by the library that connects (urllib3's parse_url
                    and requests' own preparation); refused when two parsers
                    disagree on where it goes, or when it holds spaces,
                    control characters or backslashes
scheme              https for anything that carries a secret (a token, a
                    secret path, credentials); plain http only to a loopback
                    host (local relays, tests)
credentials         never from the environment or ~/.netrc; user:password in
                    the URL only where the purpose allows it (as a Basic header)
proxies             none: environment proxies are what payprobe diagnoses
redirects           never followed
deadline            one for the whole send (all attempts): every connect and
                    read is capped by what is left of it, and when it passes
                    the socket is shut down (:mod:`.http_deadline`), so a
                    server that trickles bytes cannot hold us
response            at most ``max_response_bytes`` read, as sent (never
                    decompressed), then the connection is closed
trust store         ``ca_file`` when set, else the default; never from the
                    environment (REQUESTS_CA_BUNDLE)
retries             with backoff, only after a connection error, 429 or 5xx;
                    never after a TLS or certificate error
messages            name a URL only through :func:`display_url`
==================  =========================================================

requests is imported inside the functions that need it: ``payprobe --help``
must start fast on a phone.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from payprobe.agent.http_deadline import Deadline, DeadlinePassed
from payprobe.agent.http_deadline import transport as deadline_transport
from payprobe.classify import classify
from payprobe.engine.errors import PayprobeError, UsageError

RESPONSE_CAP_BYTES = 64 * 1024
CONNECT_CAP_S = 10.0
_READ_CHUNK_BYTES = 16 * 1024
_SCHEMES = ("http", "https")
# What the URL may hold anywhere: no whitespace, no control characters, no
# backslash (parsers split "a\@b" differently: that is how a check is fooled).
_UNSAFE_CHARS = re.compile(r"[\x00-\x20\x7f\\]")
_HOSTNAME = re.compile(r"[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?\.?")


@dataclass(frozen=True)
class Purpose:
    """What a URL is for, and so which rules apply to it."""

    what: str                          # names the URL in messages: "--upload", "[alerts] webhook_url"
    carries_secret: bool               # a token or the data itself is secret: https (or loopback)
    secret_path: bool = False          # the path is the secret (webhooks): never shown
    credentials_in_url: bool = False   # user:password@ allowed, sent as a Basic header


@dataclass(frozen=True)
class Target:
    """A URL the policy allowed: what the sender connects to, and how to name it."""

    url: str                 # as requests sends it; no user info, no fragment
    scheme: str
    host: str                # lower case, IPv6 without brackets
    netloc: str              # host (bracketed for IPv6) and the port when one was given
    secret_path: bool = False
    basic_auth: str | None = None   # "Basic ..." from user:password@ in the URL

    @property
    def display(self) -> str:
        """The URL for messages: never credentials, a query, or a secret path."""
        return display_url(self.url, with_path=not self.secret_path)

    def with_path(self, path: str) -> Target:
        """The same host, another path (already percent-encoded), no query."""
        return replace(self, url=f"{self.scheme}://{self.netloc}{path}")


@dataclass(frozen=True)
class Policy:
    """How one send may behave: its deadline, trust store, retries and reply size."""

    deadline_s: float
    ca_file: str = ""                  # PEM bundle (Settings.ca_file); empty: the default store
    attempts: int = 1
    backoff_s: float = 1.0
    max_response_bytes: int = RESPONSE_CAP_BYTES
    connect_cap_s: float = CONNECT_CAP_S


@dataclass(frozen=True)
class Reply:
    """An HTTP answer (any status: redirects are answers too), its body capped."""

    status: int
    body: bytes
    truncated: bool

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class SendError(PayprobeError):
    """No HTTP answer: ``str()`` is "<display URL> failed: <failure code>", never more."""

    def __init__(self, message: str, code: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


# ------------------------------------------------------------------ the URL policy


def is_loopback(host: str) -> bool:
    """A loopback IP literal or the name localhost (from /etc/hosts, not DNS)."""
    host = host.strip("[]").lower()
    if host in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def display_url(url: str, *, with_path: bool = False) -> str:
    """scheme://host[:port] and the path only when asked; never user info or query.

    Parsed like the connecting library parses it, so the host named is the
    host contacted. Never raises.
    """
    try:
        from urllib3.util import parse_url

        parts = parse_url(url)
    except Exception:  # noqa: BLE001 - naming a URL must never fail a message
        return "<invalid URL>"
    if not parts.scheme or not parts.host:
        return "<invalid URL>"
    port = f":{parts.port}" if parts.port else ""
    base = f"{parts.scheme.lower()}://{_printable(parts.host.lower())}{port}"
    if not with_path:
        return base + "/…"
    return base + _printable(parts.path or "/")


def _printable(text: str) -> str:
    return quote(text, safe="/%:@-._~!$&'()*+,;=[]")


def check_url(url: str, purpose: Purpose) -> Target:
    """The Target for ``url`` under ``purpose``, or UsageError (exit 64) in one
    sentence that names the purpose and never the credentials or a secret path."""
    invalid = UsageError(f"{purpose.what}: not a valid http(s) URL")
    if not isinstance(url, str) or not url or _UNSAFE_CHARS.search(url):
        raise invalid
    scheme, host, auth = _agreed_parts(url, purpose)
    if auth is not None and not purpose.credentials_in_url:
        raise UsageError(f"{purpose.what}: the URL must not hold a user name or password")
    prepared = _prepared_url(url, purpose)
    if _agreed_parts(prepared, purpose)[:2] != (scheme, host):
        raise invalid  # preparing moved the host (percent-encoding, IDNA): ambiguous
    basic = _basic_auth(auth) if auth is not None else None
    if scheme == "http" and (purpose.carries_secret or basic) and not is_loopback(host):
        raise UsageError(f"{purpose.what}: {display_url(url)} carries a secret, so it must be an "
                         "https:// URL (plain http is allowed only to a loopback host)")
    netloc = urlsplit(prepared).netloc
    return Target(url=prepared, scheme=scheme, host=host, netloc=netloc,
                  secret_path=purpose.secret_path, basic_auth=basic)


def _agreed_parts(url: str, purpose: Purpose) -> tuple[str, str, str | None]:
    """(scheme, host, user info) when urllib3 and urllib agree on all three hosts' worth."""
    from urllib3.util import parse_url

    invalid = UsageError(f"{purpose.what}: not a valid http(s) URL")
    try:
        ours, theirs = urlsplit(url), parse_url(url)
        port_ours = ours.port
    except ValueError:  # urllib3's LocationParseError is a ValueError too
        raise invalid from None
    scheme = (theirs.scheme or "").lower()
    if scheme not in _SCHEMES:
        raise UsageError(f"{purpose.what}: expected an http(s) URL")
    host = (theirs.host or "").strip("[]").lower()
    if not host or host != (ours.hostname or "").lower() or theirs.port != port_ours:
        raise invalid
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise invalid from None
    elif not _HOSTNAME.fullmatch(host):
        raise invalid
    auth = None
    if ours.username is not None or ours.password is not None:
        auth = f"{unquote(ours.username or '')}:{unquote(ours.password or '')}"
    return scheme, host, auth


def _prepared_url(url: str, purpose: Purpose) -> str:
    """The URL exactly as requests will send it, without user info or fragment."""
    import requests
    from urllib3.util import parse_url

    bare = parse_url(url)._replace(auth=None, fragment=None).url
    prepared = requests.PreparedRequest()
    try:
        prepared.prepare_url(bare, None)
    except requests.RequestException:
        raise UsageError(f"{purpose.what}: not a valid http(s) URL") from None
    return str(prepared.url)


def _basic_auth(userinfo: str) -> str:
    return "Basic " + base64.b64encode(userinfo.encode("utf-8")).decode("ascii")


# ------------------------------------------------------------------ the sender


def post(target: Target, body: bytes, headers: Mapping[str, str], policy: Policy, *,
         sleep: Callable[[float], None] | None = None) -> Reply:
    return send("POST", target, body, headers, policy, sleep=sleep)


def send(method: str, target: Target, body: bytes, headers: Mapping[str, str], policy: Policy, *,
         sleep: Callable[[float], None] | None = None) -> Reply:
    """Send, retrying per the policy. Returns the last HTTP answer (any status);
    raises SendError when no answer came."""
    _check_ca_file(target, policy)
    pause = sleep or time.sleep
    attempts = max(1, policy.attempts)
    outcome: Reply | SendError = SendError(f"{target.display} failed: generic_timeout", "generic_timeout")
    with Deadline(policy.deadline_s) as deadline:
        adapter = deadline_transport(deadline)
        try:
            for attempt in range(1, attempts + 1):
                try:
                    outcome = deadline.call(
                        lambda: _attempt(adapter, method, target, body, headers, policy, deadline))
                except SendError as exc:
                    outcome = exc
                except DeadlinePassed:
                    outcome = SendError(f"{target.display} failed: generic_timeout", "generic_timeout")
                    break
                if not _worth_retrying(outcome) or attempt == attempts:
                    break
                wait_s = policy.backoff_s * (2 ** (attempt - 1))
                if wait_s >= deadline.left_s():
                    break  # no time left for another try: the last outcome stands
                pause(wait_s)
        finally:
            adapter.close()
    if isinstance(outcome, SendError):
        raise outcome
    return outcome


def _worth_retrying(outcome: Reply | SendError) -> bool:
    if isinstance(outcome, SendError):
        return outcome.retryable
    return outcome.status == 429 or 500 <= outcome.status <= 599


def _check_ca_file(target: Target, policy: Policy) -> None:
    if target.scheme == "https" and policy.ca_file and not os.path.exists(policy.ca_file):
        raise SendError(f"{target.display} failed: ca_file {policy.ca_file} does not exist",
                        "ca_file_missing")


def _attempt(adapter: Any, method: str, target: Target, body: bytes, headers: Mapping[str, str],
             policy: Policy, deadline: Deadline) -> Reply:
    import requests
    import urllib3

    left_s = deadline.left_s()
    timed_out = SendError(f"{target.display} failed: generic_timeout", "generic_timeout")
    if left_s <= 0:
        raise timed_out
    all_headers = {"User-Agent": "payprobe", "Accept-Encoding": "identity", **headers}
    # Request.prepare and the bare adapter: no Session merges in anything (see http_deadline).
    prepared = requests.Request(method, target.url, data=body, headers=all_headers).prepare()
    if urlsplit(str(prepared.url)).hostname != target.host:
        raise SendError(f"{target.display} failed: url_mismatch", "url_mismatch")
    try:
        response = adapter.send(prepared, timeout=(min(policy.connect_cap_s, left_s), left_s),
                                stream=True, proxies={}, verify=policy.ca_file or True)
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        if deadline.expired:  # our timer cut the connection: what it broke is no failure code
            raise timed_out from None
        code = classify(exc)
        raise SendError(f"{target.display} failed: {code}", code,
                        retryable=_is_connection_error(exc) and not code.startswith("tls_")) from None
    if deadline.expired:  # cut off in the headers: http.client takes that end for a whole answer
        response.close()
        raise timed_out
    try:
        data, truncated = _read_capped(response.raw, policy.max_response_bytes, deadline)
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError):
        data, truncated = b"", True   # the status is the answer; a broken body does not undo it
    finally:
        response.close()
    return Reply(status=int(response.status_code), body=data, truncated=truncated)


def _read_capped(raw: Any, cap_bytes: int, deadline: Deadline) -> tuple[bytes, bool]:
    """At most ``cap_bytes`` of the body as sent (never decompressed: no bomb can
    grow it), read until the deadline at the latest; and whether more was left."""
    chunks: list[bytes] = []
    size = 0
    for chunk in raw.stream(_READ_CHUNK_BYTES, decode_content=False):
        chunks.append(chunk[: max(0, cap_bytes - size)])
        size += len(chunk)
        if size > cap_bytes or deadline.expired:
            return b"".join(chunks), True
    return b"".join(chunks), False


def _is_connection_error(exc: BaseException) -> bool:
    """Only a connection that never got going is worth another try: a TLS or
    certificate failure fails the same way again, and a request that reached
    the server (a read timeout) may already have been acted on."""
    import requests

    if isinstance(exc, requests.exceptions.SSLError):
        return False
    return isinstance(exc, requests.exceptions.ConnectionError)
