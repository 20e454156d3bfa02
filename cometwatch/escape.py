"""Pure: text from outside (file names, answer bodies, errors) made safe for a terminal or a
text log line, escaped and never dropped, so the operator can still find the file.

A file may be named `a\\ncometwatch: ERROR: forged\\nb.md`, or carry ESC sequences that
recolour a terminal, or bidi overrides that show `gpj.exe` as `exe.jpg`. Every line that goes
to a terminal or a text log passes what it quotes through `escape`: C0 and C1 controls, DEL and
the bidi controls become escapes (`\\n`, `\\t`, `\\x1b`, `\\u202e`), and the bytes of a path
that is not UTF-8 (decoded with surrogateescape) become `\\xff`, as `git` quotes them. The JSON
log format gets the same characters as JSON `\\u` escapes.
"""

from __future__ import annotations

import re
import sys
from typing import TextIO

# Bidirectional controls: embeddings, overrides and isolates, and the marks (which reorder
# neighbouring text as well).
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff]")
_UNSAFE_IN_LINES = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _one(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str) -> str:
    """`text` as one line a terminal shows as it is: every control character escaped."""
    return _UNSAFE.sub(_one, text)


def escape_lines(text: str) -> str:
    """Like `escape`, but line breaks stay (for an answer body shown line by line)."""
    return _UNSAFE_IN_LINES.sub(_one, text.replace("\r\n", "\n"))


def json_safe(dumped: str) -> str:
    """A JSON text (json.dumps with ensure_ascii=False) with the characters `escape` escapes
    that JSON leaves raw (C1 controls, DEL, bidi controls) as `\\u` escapes: the same value."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", dumped)


def say(line: str, file: TextIO | None = None) -> None:
    """Print one line of a command's output for a person, escaped."""
    print(escape(line), file=file or sys.stdout)
