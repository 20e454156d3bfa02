"""The 24-hour picture's geometry (pure): hours, stacked outcomes, the latency line."""

from __future__ import annotations

import pytest

from cometwatch.web.admin.chart import BAR_AREA, HOURS, picture

NOW = 1_764_579_600.0 + 1800  # 2025-12-01 09:30 UTC


def test_an_empty_day_has_24_hours_no_bars_and_says_so() -> None:
    p = picture([], [], NOW)
    assert len(p.hours) == HOURS and p.bars == () and p.latency == ""
    assert p.hours[-1].label == "09:00" and p.hours[0].label == "10:00"
    assert p.summary == "Last 24 hours: no deliveries."


@pytest.mark.parametrize(("statuses", "outcomes"), [
    (["ok"], {"ok": 1}),
    (["ok", "failed", "pending"], {"ok": 1, "open": 2}),
    (["dead", "skipped", "coalesced"], {"dead": 1, "aside": 2}),
])
def test_deliveries_of_an_hour_are_stacked_by_outcome(statuses: list[str],
                                                       outcomes: dict[str, int]) -> None:
    p = picture([(NOW - 60, s) for s in statuses], [], NOW)
    last = p.hours[-1]
    assert {k: v for k, v in last.counts.items() if v} == outcomes
    assert {b.outcome for b in p.bars} == set(outcomes)
    tallest = sum(b.height for b in p.bars)
    assert tallest == pytest.approx(BAR_AREA - 16, abs=0.5)  # the busiest hour fills it
    assert all(b.y >= 0 and b.y + b.height <= BAR_AREA + 0.1 for b in p.bars)


def test_older_than_a_day_or_in_the_future_is_left_out() -> None:
    p = picture([(NOW - 25 * 3600, "ok"), (NOW + 3600, "ok")], [(NOW - 90000, 1.0)], NOW)
    assert p.bars == () and p.latency == "" and p.most == 0


def test_the_latency_line_marks_each_hours_slowest_attempt() -> None:
    p = picture([(NOW - 60, "ok")], [(NOW - 60, 0.05), (NOW - 30, 0.2), (NOW - 7200, 0.1)],
                NOW)
    assert p.slowest == 0.2 and len(p.latency.split(" ")) == 2
    assert p.hours[-1].slowest == 0.2 and "slowest attempt 200 ms" in p.hours[-1].title
