"""cometwatch.sites.jsdate: date strings as JavaScript's `new Date(text)` reads them."""

from __future__ import annotations

import json
import shutil
import subprocess
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cometwatch.sites.jsdate import parse_js_date

NEW_YORK = ZoneInfo("America/New_York")
UTC = ZoneInfo("UTC")

CASES = [
    # (text, seconds in America/New_York as local time; None: Invalid Date)
    ("Aug 02 2022", 1659412800),  # Astro's blog template writes pubDate this way
    ("Jul 08 2022", 1657252800),
    ("August 2, 2022", 1659412800),
    ("2 August 2022", 1659412800),
    ("2022-08-02", 1659398400),  # a date alone is UTC
    ("2022-08-02T10:00", 1659448800),  # a date-time without a zone is local
    ("2022-08-02T10:00:00Z", 1659434400),
    ("2022-08-02T10:00:00.123+02:00", 1659427200.123),
    ("2022-08-02 10:00", 1659448800),
    ("2022/08/02", 1659412800),
    ("08/02/2022", 1659412800),  # month first
    ("Tue Aug 02 2022 10:00:00 GMT+0200 (Central European Summer Time)", 1659427200),
    ("Aug 2, 2022 3:30 PM", 1659468600),
    ("2022", 1640995200),
    ("2022-08", 1659312000),
    ("Aug 2022", 1659326400),
    ("Sat, 02 Aug 2022 10:00:00 GMT", 1659434400),
    ("2 Aug 22", 1659412800),
    ("Aug 02 2022 10:00 UTC", 1659434400),
    ("December 17, 1995 03:24:00", 819188640),
    ("2022-08-02T24:00", 1659499200),
    ("not a date", None),
    ("", None),
    ("2022-13-01", None),
    ("Aug Sep 2022", 1662004800),  # the last month named wins
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_dates_read_as_javascript_reads_them(text: str, expected: float | None) -> None:
    assert parse_js_date(text, NEW_YORK) == expected


@pytest.mark.sitetool
@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_table_agrees_with_node() -> None:
    texts = [text for text, _ in CASES]
    script = ("const c = JSON.parse(process.argv[1]); console.log(JSON.stringify(c.map(s => {"
              "const t = new Date(s).getTime(); return isNaN(t) ? null : t / 1000; })))")
    result = subprocess.run(["node", "-e", script, json.dumps(texts)], capture_output=True,
                            text=True, timeout=60, env={"TZ": "America/New_York"}, check=True)
    assert json.loads(result.stdout) == [parse_js_date(t, NEW_YORK) for t in texts]


@given(st.text(max_size=60))
def test_any_text_gives_a_moment_or_none(text: str) -> None:
    moment = parse_js_date(text, UTC)
    assert moment is None or isinstance(moment, float)
