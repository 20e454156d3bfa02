"""The coalescing rule of a build hook, table by table."""

from __future__ import annotations

import pytest

from cometwatch.coalescing import Window, burst_due, next_request, windows
from cometwatch.config import Webhook


@pytest.mark.parametrize(("oldest", "newest", "window", "due"), [
    (0.0, 0.0, Window(30.0, 30.0), 30.0),  # one delivery: the window after it
    (0.0, 20.0, Window(30.0, 30.0), 30.0),  # without max_wait: after the oldest
    (0.0, 20.0, Window(30.0, 60.0), 50.0),  # a quiet period: after the newest...
    (0.0, 45.0, Window(30.0, 60.0), 60.0),  # ...but never later than max_wait
])
def test_a_burst_is_due_a_window_after_the_newest_but_no_later_than_max_wait(
        oldest: float, newest: float, window: Window, due: float) -> None:
    assert burst_due(oldest, newest, window) == due


@pytest.mark.parametrize(("alone", "latest", "latest_due", "now", "expected"), [
    ("r", "l", 100.0, 0.0, ("r", False)),  # a redelivered one first, by itself
    (None, "l", 100.0, 99.0, None),  # the window is still open
    (None, "l", 100.0, 100.0, ("l", True)),  # the newest carries the burst
    (None, None, None, 100.0, None),
])
def test_what_a_coalescing_webhook_sends_next(
        alone: str | None, latest: str | None, latest_due: float | None, now: float,
        expected: tuple[str, bool] | None) -> None:
    assert next_request(alone, latest, latest_due, now) == expected


def test_only_coalescing_webhooks_have_a_window_and_max_wait_defaults_to_it() -> None:
    hooks = [Webhook("a", "https://example.org/a", (), coalesce=30.0),
             Webhook("b", "https://example.org/b", (), coalesce=30.0, max_wait=300.0),
             Webhook("c", "https://example.org/c", ())]
    assert windows(hooks) == {"a": Window(30.0, 30.0), "b": Window(30.0, 300.0)}
