"""Pure: the outbox's values, and what one attempt means for its delivery.

A delivery is one event for one webhook; each attempt to send it is an Attempt (made by the HTTP
edge, recorded by the store) that `judge` turns into a Verdict, the delivery's next state: ok, a
retry at a scheduled moment, or dead. Only cometwatch.store turns rows into these values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from cometwatch import retry
from cometwatch.config import Webhook
from cometwatch.payload import ContentEvent
from cometwatch.retry import next_attempt_at
from cometwatch.utc import iso as utc_iso


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
    """One attempt to send a delivery and what came back. The HTTP edge makes it; the store
    records its first five fields and `headers` (the rest only matter to `judge` and to the
    dispatcher)."""

    started_at: float
    code: int | None  # HTTP status; None when no answer came
    duration: float  # seconds
    error: str | None  # one line; None on 2xx
    answer: bytes  # the first 4 KiB of the answer body
    retry_after: float | None = None  # seconds asked by Retry-After on 429/503, capped at 6 h
    disable: bool = False  # 410 Gone, or the answer header `webhook-delivery: disable`
    timed_out: bool = False  # no answer within `timeout` (or `connect_timeout`)
    cut: bool = False  # no answer because Sender.abort() cut it: nothing the endpoint did
    # The request's headers as sent, a credential's value masked (redaction.credential_header);
    # () when no request was made; None when not known (an attempt stored before migration 10)
    headers: tuple[tuple[str, str], ...] | None = None

    @property
    def ok(self) -> bool:
        return self.code is not None and 200 <= self.code < 300


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


def judge(hook: Webhook, delivery: Delivery, attempt: Attempt, now: float,
          rand: Callable[[], float]) -> Verdict:
    """Pure: success, a retry at a scheduled moment, or dead (no attempts left, 410 Gone).

    The answer's wish to be disabled (410, or `webhook-delivery: disable` on any answer, a
    2xx too) is read before its status: a 2xx that carries it was delivered, and disables
    the webhook all the same."""
    if attempt.disable:
        reason = ("410 Gone" if attempt.code == 410 else
                  "the endpoint answered `webhook-delivery: disable`")
        return Verdict(DeliveryStatus.OK if attempt.ok else DeliveryStatus.DEAD, None, reason)
    if attempt.ok:
        return Verdict(DeliveryStatus.OK, None, None)
    retry = next_attempt_at(hook.retry_schedule, delivery.tries + 1, now, attempt.retry_after,
                            rand)
    return Verdict(DeliveryStatus.DEAD if retry is None else DeliveryStatus.FAILED, retry, None)


def failing_too_long(hook: Webhook, state: WebhookState, now: float) -> str | None:
    """Why to disable a webhook that has failed without one success for `disable_after`."""
    since = state.failing_since
    if state.disabled_at is not None or not retry.failing_too_long(since, hook.disable_after,
                                                                    now):
        return None
    return f"no successful delivery since {utc_iso(since or now)}"


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
