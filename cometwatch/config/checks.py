"""The checks a config value passes beyond its kind: a folder, a time zone, a git name, a
header. Each raises Bad, with the fix, for a value it refuses; most return the value, normalised."""

from __future__ import annotations

import re
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cometwatch.config.kinds import Bad
from cometwatch.netpolicy import header_refusal


def clean_dir(value: str) -> str:
    """A repository-relative folder: "" for the root, no leading ./ or trailing slash."""
    return value.strip().strip("/").removeprefix("./") if value.strip() not in (".", "./") else ""


def extension(value: str) -> str:
    return value.lstrip(".").lower()


def time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise Bad(f"unknown time zone {value!r}",
                  'use an IANA name such as "UTC" or "Europe/Paris"') from None
    return value


def pattern(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise Bad(f"not a regular expression: {exc}", r'for example "\d{4}-\d{2}-\d{2}-"') from None
    return value


def preset_name(value: str) -> str:
    from cometwatch.presets import PRESETS  # data only

    if value not in PRESETS:
        raise Bad(f"unknown preset {value!r}", "use one of: " + ", ".join(sorted(PRESETS)))
    return value


# git check-ref-format: what no branch or remote name holds. A leading "-" would also make
# the name an option of the git command it is passed to (`--upload-pack=…`).
_NOT_IN_REF = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")


def git_name(what: str, example: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        parts = value.split("/")
        if not value or value == "@" or value.startswith("-") or _NOT_IN_REF.search(value) \
                or any(not p or p.startswith(".") or p.endswith((".", ".lock")) for p in parts):
            raise Bad(f"{value!r} is not a {what} name git accepts", f'write it as "{example}"')
        return value
    return check


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def plain_name(value: str) -> str:
    if not value:
        raise Bad("is missing", 'give the webhook a name, e.g. name = "netlify"')
    if not _NAME.match(value):
        raise Bad(f"{value!r} is not a plain name", "use letters, digits, - _ .")
    return value


_WORKSPACE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def workspace_name(value: str) -> str:
    if not _WORKSPACE.match(value):
        raise Bad(f"{value!r} is not a workspace name",
                  f'use lowercase letters, digits and -, e.g. "{slug(value) or "site"}"')
    return value


# RFC 9110: a header name is a token; a value is visible ASCII, spaces and tabs.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_HEADER_VALUE = re.compile(r"^[\x20-\x7e\t]*$")


def header(name: str, value: str) -> None:
    if not _HEADER_NAME.match(name):
        raise Bad(f"{name!r} is not a header name", "use letters, digits and - only")
    refusal = header_refusal(name)
    if refusal:
        raise Bad(refusal, "remove it from headers")
    if not _HEADER_VALUE.match(value):
        raise Bad(f"the value of {name} has a line break, a control or a non-ASCII character",
                  "use plain ASCII text on one line")


def header_token(value: str) -> None:
    """A token a client sends in a header (`Authorization: Bearer …`, `X-Gitlab-Token`):
    one with a line break, a control character, a space or non-ASCII can never be sent (the
    client refuses it, or the line is cut or folded on the way), so it is refused now."""
    wrong = next((c for c in value if not "!" <= c <= "~"), None)
    if wrong is None:
        return
    what = ("a space" if wrong == " " else "a non-ASCII character" if ord(wrong) > 0x7F
            else "a line break" if wrong in "\r\n" else "a control character")
    raise Bad(f"the token contains {what}",
              "a token is sent in an HTTP header: printable ASCII without spaces")
