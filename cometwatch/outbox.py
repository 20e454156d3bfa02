"""Pure: the outbox's values, and what one attempt's outcome means.

A delivery is one event for one webhook; each attempt to send it ends with an Outcome (from the
HTTP edge) that `judge` turns into the delivery's next state: ok, a retry at a scheduled moment,
or dead. Only cometwatch.store turns rows into these values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from cometwatch.config import Webhook
from cometwatch.payload import ContentEvent
from cometwatch.retry import next_attempt_at
from cometwatch.utc import iso as utc_iso

if TYPE_CHECKING:
    from cometwatch.delivery import Outcome


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its first attempt (or a manual replay)
    FAILED = "failed"  # an attempt failed; the next one is scheduled
    OK = "ok"
    DEAD = "dead"  # no attempts left (or 410 Gone); kept for `redeliver`
    SKIPPED = "skipped"  # its webhook was disabled
    COALESCED = "coalesced"  # superseded by a later delivery of a coalescing webhook


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    webhook: str
    status: DeliveryStatus
    next_at: float | None
    attempts: int
    retry_base: int  # attempts made before the last replay: the schedule restarts there
    last_code: int | None
    last_error: str | None
    coalesced_into: int | None
    created_at: float
    updated_at: float
    event: ContentEvent

    @property
    def tries(self) -> int:
        """Attempts made since the delivery was created or last replayed."""
        return self.attempts - self.retry_base


@dataclass(frozen=True, slots=True)
class Attempt:
    started_at: float
    code: int | None  # HTTP status; None when no answer came
    duration: float
    error: str | None
    answer: bytes  # the first 4 KiB of the answer body


@dataclass(frozen=True, slots=True)
class Settled:
    """One attempt made, and what it means for its delivery."""

    delivery: Delivery
    attempt: Attempt
    status: DeliveryStatus
    next_at: float | None  # the next attempt; None once settled


@dataclass(frozen=True, slots=True)
class WebhookState:
    name: str
    disabled_at: float | None
    disabled_reason: str | None
    failing_since: float | None  # first failure since the last success
    last_success: float | None


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one attempt means for its delivery (and its webhook)."""

    status: DeliveryStatus
    next_at: float | None
    disable: str | None  # why the webhook is to be disabled


def judge(hook: Webhook, delivery: Delivery, outcome: Outcome, now: float,
          rand: Callable[[], float]) -> Verdict:
    """Pure: success, a retry at a scheduled moment, or dead (no attempts left, 410 Gone).

    The answer's wish to be disabled (410, or `webhook-delivery: disable` on any answer, a
    2xx too) is read before its status: a 2xx that carries it was delivered, and disables
    the webhook all the same."""
    if outcome.disable:
        reason = ("410 Gone" if outcome.status == 410 else
                  "the endpoint answered `webhook-delivery: disable`")
        return Verdict(DeliveryStatus.OK if outcome.ok else DeliveryStatus.DEAD, None, reason)
    if outcome.ok:
        return Verdict(DeliveryStatus.OK, None, None)
    retry = next_attempt_at(hook.retry_schedule, delivery.tries + 1, now, outcome.retry_after,
                            rand)
    return Verdict(DeliveryStatus.DEAD if retry is None else DeliveryStatus.FAILED, retry, None)


def failing_too_long(hook: Webhook, state: WebhookState, now: float) -> str | None:
    """Why to disable a webhook that has failed without one success for `disable_after`."""
    since = state.failing_since
    if state.disabled_at is not None or since is None or hook.disable_after <= 0:
        return None
    if now - since < hook.disable_after:
        return None
    return f"no successful delivery since {utc_iso(since)}"


def held(name: str, hook: Webhook | None) -> str | None:
    """Why the open deliveries of webhook `name` are kept but not sent, and how to send them
    (or set them aside); None while they are sent. `hook` is the config's webhook of that name.

    They are never dropped: a webhook removed or renamed in the config by mistake gets them
    once it is back under the same name."""
    if hook is None:
        why, fix = "which is no longer in the config", "a webhook of that name added back"
    elif not hook.enabled:
        why, fix = "which has enabled = false in the config", "enabled = true"
    else:
        return None
    return (f"{why}: kept, not sent; {fix} sends them, `cometwatch webhooks disable {name}` "
            "sets them aside (skipped)")
