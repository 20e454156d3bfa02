"""URLs as messages may show them: where a request goes, never the credentials it carries.

Webhook URLs (build hooks, health checks, chat hooks) and git remotes carry their secret in the
userinfo, the query or a path segment. Every message that names a URL shows it through
`redact_url`; `redact_text` does so for each URL inside a line of text (an error from git or the
config, a log record, a line read back from a log file).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable

HIDDEN = "***"
# To the next space: a quote or a bracket may be part of a URL (a query value), so only those
# at its end are taken as the text's own punctuation.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"<>`]*?(?=['):,.;!?\]]*(?:[\s\"<>`]|$))")
_UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.I)
_HEX_RUN = re.compile(r"[0-9a-f]{16,}", re.I)
_WORD_RUN = re.compile(r"[A-Za-z0-9_-]{16,}")


def redact_url(url: str) -> str:
    """`scheme://host:port/first-segment`, `/…` for the rest of the path, `***` for the
    userinfo, every query value and a first segment that looks like a token. Never raises:
    a URL too broken to parse is still shown only this far."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, rest = rest[:cut], rest[cut:]
    if "@" in authority:
        authority = f"{HIDDEN}@{authority.rpartition('@')[2]}"
    path, _, query = rest.partition("#")[0].partition("?")
    segments = path.strip("/").split("/")
    first = HIDDEN if looks_like_a_token(segments[0]) else segments[0]
    shown = (f"{scheme}://" if sep else "") + authority
    if path.strip("/"):
        shown += f"/{first}" + ("/…" if len(segments) > 1 else "")
    elif path:
        shown += "/"
    if query:
        shown += "?" + "&".join(f"{pair.partition('=')[0]}={HIDDEN}" if "=" in pair else HIDDEN
                                for pair in query.split("&"))
    return shown + ("#…" if "#" in rest else "")


def mask_url(url: str) -> str:
    """The whole URL with only its credentials hidden (userinfo, query values, a path segment
    that looks like a token, as ***): for a form that edits it and a diff of the config, where
    `redact_url`'s cut path would hide what changed."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return HIDDEN
    host = parts.netloc.rpartition("@")
    netloc = f"{HIDDEN}@{host[2]}" if host[1] else parts.netloc
    path = "/".join(HIDDEN if looks_like_a_token(segment) else segment
                    for segment in parts.path.split("/"))
    query = "&".join(f"{pair.partition('=')[0]}={HIDDEN}" if "=" in pair else HIDDEN
                     for pair in parts.query.split("&")) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, path, query, HIDDEN if parts.fragment else ""))


def looks_like_a_token(segment: str) -> bool:
    """A UUID, a long hex run, or a long run of letters and digits mixed (base62, base64url)."""
    if _UUID.search(segment) or _HEX_RUN.search(segment):
        return True
    return any(len(run) >= 32 or (re.search(r"\d", run) and re.search(r"[A-Za-z]", run))
               for run in _WORD_RUN.findall(segment))


def redact_text(text: str) -> str:
    """`text` with every URL in it redacted."""
    return _URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)


def mask_text(text: str) -> str:
    """`text` with every URL in it masked (`mask_url`)."""
    return _URL_IN_TEXT.sub(lambda match: mask_url(match.group(0)), text)


class RedactingFilter(logging.Filter):
    """On a log handler: every record's message is redacted before any formatter sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()  # formatted once: the formatter reuses it
        record.msg, record.args = redact_text(message) if "://" in message else message, None
        if record.exc_info and not record.exc_text:  # a traceback (-v) quotes values too
            record.exc_text = redact_text(_TRACEBACKS.formatException(record.exc_info))
        return True


_TRACEBACKS = logging.Formatter()


# A header whose name says it carries a credential (Authorization, Proxy-Authorization, Cookie,
# X-Api-Key, X-Auth-Token, X-Client-Secret, …): what an attempt keeps of it is HIDDEN. The
# signature headers are HMACs of the body, not the secret, and are kept as sent.
_CREDENTIAL_WORDS = ("auth", "token", "secret", "key", "cookie", "password", "credential",
                     "session")
_SIGNATURE_HEADERS = frozenset({"x-cometcms-signature", "webhook-signature"})


@functools.lru_cache(maxsize=512)  # a few names per webhook, asked for every attempt
def credential_header(name: str) -> bool:
    """Whether a request header's value is to be masked before it is stored or shown."""
    lowered = name.lower()
    return lowered not in _SIGNATURE_HEADERS and any(word in lowered
                                                     for word in _CREDENTIAL_WORDS)


def masked_headers(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """`headers` with the value of each that carries a credential replaced by HIDDEN."""
    return tuple((name, HIDDEN if credential_header(name) else value) for name, value in headers)
