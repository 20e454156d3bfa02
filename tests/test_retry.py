"""The retry policy and Retry-After parsing: pure, table by table."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cometwatch.config import DEFAULT_RETRY_SCHEDULE
from cometwatch.retry import (
    MAX_RETRY_AFTER,
    Backoff,
    failing_too_long,
    health_after,
    next_attempt_at,
    retry_after_seconds,
)

NOW = 1_750_000_000.0
MIDDLE = 0.5  # rand() at the middle: no jitter
H = 3600.0


def fixed(value: float) -> Callable[[], float]:
    return lambda: value


@pytest.mark.parametrize(("attempts_made", "delay"), [
    (0, 0.0), (1, 5.0), (2, 300.0), (3, 1800.0), (4, 2 * H), (5, 5 * H), (6, 10 * H),
    (7, 14 * H), (8, 20 * H), (9, 24 * H),
])
def test_the_default_schedule_waits_its_delay_after_each_failed_attempt(
        attempts_made: int, delay: float) -> None:
    assert next_attempt_at(DEFAULT_RETRY_SCHEDULE, attempts_made, NOW, None,
                           fixed(MIDDLE)) == NOW + delay


def test_the_default_schedule_is_ten_attempts_over_about_three_days() -> None:
    assert len(DEFAULT_RETRY_SCHEDULE) == 10
    assert 3 * 24 * H <= sum(DEFAULT_RETRY_SCHEDULE) <= 3.2 * 24 * H


@pytest.mark.parametrize("attempts_made", [10, 11, 100])
def test_no_attempt_is_left_after_the_last_one(attempts_made: int) -> None:
    assert next_attempt_at(DEFAULT_RETRY_SCHEDULE, attempts_made, NOW, None,
                           fixed(MIDDLE)) is None


def test_no_attempt_is_left_even_when_a_retry_after_asks_for_one() -> None:
    assert next_attempt_at((0.0, 5.0), 2, NOW, 60.0, fixed(MIDDLE)) is None


@pytest.mark.parametrize(("rand", "factor"), [(0.0, 0.8), (0.25, 0.9), (0.5, 1.0), (0.75, 1.1),
                                              (0.999999, 1.2)])
def test_jitter_spreads_a_delay_by_20_percent_either_way(rand: float, factor: float) -> None:
    at = next_attempt_at(DEFAULT_RETRY_SCHEDULE, 2, NOW, None, fixed(rand))
    assert at == pytest.approx(NOW + 300.0 * factor, abs=1e-3)


@pytest.mark.parametrize(("retry_after", "attempts_made", "expected"), [
    (120.0, 1, 120.0),  # later than the schedule's 5 s: Retry-After wins
    (1.0, 2, 300.0),  # earlier than the schedule's 5 min: the schedule wins
    (0.0, 1, 5.0),
    (-30.0, 1, 5.0),  # nonsense is no reason to hurry
    (24 * H, 1, 6 * H),  # capped at six hours
    (24 * H, 9, 24 * H),  # the cap never shortens the schedule's own delay
])
def test_retry_after_is_honoured_when_later_than_the_schedule_and_capped_at_6h(
        retry_after: float, attempts_made: int, expected: float) -> None:
    assert next_attempt_at(DEFAULT_RETRY_SCHEDULE, attempts_made, NOW, retry_after,
                           fixed(MIDDLE)) == NOW + expected


def test_a_custom_schedule_is_used_as_given() -> None:
    schedule = (0.0, 0.1, 0.2)
    got = [next_attempt_at(schedule, n, NOW, None, fixed(MIDDLE)) for n in range(4)]
    assert got == [NOW, NOW + 0.1, NOW + 0.2, None]


def test_a_negative_attempt_count_is_a_bug_and_says_so() -> None:
    with pytest.raises(ValueError, match="attempts_made"):
        next_attempt_at(DEFAULT_RETRY_SCHEDULE, -1, NOW, None, fixed(MIDDLE))


@given(attempts_made=st.integers(0, 12), rand=st.floats(0.0, 1.0, exclude_max=True),
       retry_after=st.none() | st.floats(-1e6, 1e9, allow_nan=False))
def test_the_next_attempt_is_never_before_now_nor_outside_the_jitter_band(
        attempts_made: int, rand: float, retry_after: float | None) -> None:
    at = next_attempt_at(DEFAULT_RETRY_SCHEDULE, attempts_made, NOW, retry_after, fixed(rand))
    if attempts_made >= len(DEFAULT_RETRY_SCHEDULE):
        assert at is None
        return
    assert at is not None
    delay = DEFAULT_RETRY_SCHEDULE[attempts_made]
    asked = min(max(retry_after or 0.0, 0.0), MAX_RETRY_AFTER)
    assert NOW <= at <= NOW + max(delay * 1.2, asked) + 1e-6
    assert at >= NOW + max(delay * 0.8, asked) - 1e-6


# -- Retry-After ------------------------------------------------------------------------------

@pytest.mark.parametrize(("header", "seconds"), [
    ("120", 120.0),
    (" 7 ", 7.0),
    ("0", 0.0),
    ("999999", MAX_RETRY_AFTER),
    ("Sun, 15 Jun 2025 16:06:40 GMT", 3600.0),  # NOW + 1 h, IMF-fixdate
    ("Sunday, 15-Jun-25 16:06:40 GMT", 3600.0),  # obsolete RFC 850 form
    ("Sun Jun 15 16:06:40 2025", 3600.0),  # asctime form
    ("Sun, 15 Jun 2025 15:06:40 GMT", 0.0),  # now
    ("Sun, 15 Jun 2025 14:00:00 GMT", 0.0),  # in the past: no wait asked
    ("Mon, 16 Jun 2025 15:06:40 GMT", MAX_RETRY_AFTER),  # a day away: capped
])
def test_retry_after_reads_seconds_and_http_dates(header: str, seconds: float) -> None:
    assert retry_after_seconds(header, NOW) == seconds


@pytest.mark.parametrize("header", [None, "", "   ", "soon", "-5", "1.5", "12 seconds",
                                    "Sun, 99 Foo 2025", "٣", "1e3"])
def test_an_unreadable_retry_after_leaves_the_schedule_alone(header: str | None) -> None:
    assert retry_after_seconds(header, NOW) is None


@given(st.text(max_size=60))
def test_retry_after_never_raises_and_stays_within_zero_and_6h(header: str) -> None:
    seconds = retry_after_seconds(header, NOW)
    assert seconds is None or 0.0 <= seconds <= MAX_RETRY_AFTER


# -- a webhook's health ------------------------------------------------------------------------

@pytest.mark.parametrize(("before", "attempts", "after"), [
    ((None, None), [], (None, None)),
    ((None, None), [(10.0, False)], (10.0, None)),  # the first failure starts the streak
    ((10.0, None), [(20.0, False)], (10.0, None)),  # a later one does not move it
    ((10.0, 5.0), [(20.0, True)], (None, 20.0)),  # a success ends it
    ((None, 50.0), [(20.0, True)], (None, 50.0)),  # the last success never goes back
    ((None, None), [(1.0, True), (2.0, False), (3.0, False)], (2.0, 1.0)),  # in order made
    ((None, None), [(1.0, False), (2.0, True), (3.0, False)], (3.0, 2.0)),
])
def test_a_webhooks_health_after_its_attempts(
        before: tuple[float | None, float | None], attempts: list[tuple[float, bool]],
        after: tuple[float | None, float | None]) -> None:
    assert health_after(*before, attempts) == after


@pytest.mark.parametrize(("failing_since", "disable_after", "now", "expected"), [
    (None, 3600.0, 10_000.0, False),  # not failing
    (0.0, 3600.0, 3599.0, False),
    (0.0, 3600.0, 3600.0, True),
    (0.0, 0.0, 10**9, False),  # disable_after = 0: never
])
def test_a_webhook_failing_for_disable_after_is_to_be_disabled(
        failing_since: float | None, disable_after: float, now: float, expected: bool) -> None:
    assert failing_too_long(failing_since, disable_after, now) is expected


def test_a_task_failing_waits_longer_each_time_up_to_its_cap_and_tells_a_new_message() -> None:
    backoff = Backoff()
    told = [backoff.failed(message, cap=3.0) for message in ("a", "a", "a", "b", "b")]
    assert told == [(0.5, True), (1.0, False), (2.0, False), (3.0, True), (3.0, False)]
    assert backoff.succeeded() == 5 and backoff.failures == 0
    assert backoff.failed("a", cap=3.0) == (0.5, True)  # a fresh streak tells again
