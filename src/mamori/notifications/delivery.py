"""The delivery worker: hands queued messages to SMTP / the SMS provider, retrying failures.

A message waits in the outbox as "pending". A worker claims it with one conditional
UPDATE (pending → sending, `attempts` + 1, `claimed_at` = now), commits, and only then
talks to the channel, with no transaction open: a slow SMTP server holds no lock. The
outcome is written with another conditional UPDATE that names the claim (status
"sending" and the attempt number), so a worker whose lease ran out and whose message was
taken over cannot overwrite the newer outcome.

- Two workers (threads, processes or instances on one database) never both claim a
  message: the second UPDATE finds it no longer pending and changes nothing.
- A failed hand-over goes back to "pending" after `MAMORI_DELIVERY_RETRY_SECONDS`,
  doubling each time (capped at an hour); after `MAMORI_DELIVERY_MAX_ATTEMPTS` it is
  "failed", logged and audited (`delivery.failed`), and `mamori outbox retry` revives it.
- A worker that died mid-send leaves its message "sending": after LEASE another worker
  reclaims it. That attempt counts, so a message that kills workers ends up "failed".
  The lease is what makes delivery at-least-once rather than at-most-once: a worker
  that died after the server accepted the message but before it wrote "sent" causes
  one duplicate, never a lost alert.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, event, or_, select, update
from sqlalchemy.orm import Session

from mamori.audit.service import Origin, record_event
from mamori.context import Context
from mamori.core.errors import TooManyAttempts
from mamori.notifications.channels import ChannelError, channel_configured, hand_over
from mamori.notifications.models import FAILED, OUTBOX_ONLY, PENDING, SENDING, SENT, OutboxMessage
from mamori.notifications.quotas import reserve_sends, sms_slots
from mamori.observability.metrics import count_delivery_failure

log = logging.getLogger("mamori.notifications")

# Longer than one hand-over can take (each SMTP step is bounded by
# MAMORI_DELIVERY_TIMEOUT_SECONDS, at most 60 s), so a live worker never loses its claim.
LEASE = timedelta(minutes=5)
LONGEST_WAIT = timedelta(hours=1)
WORKER = Origin(user_agent="mamori delivery worker")
# `last_error` of an alert the SMS cap held back (notifications/service.py send_sms): it
# has no slot yet, so the worker reserves one before the hand-over, or waits again.
HELD_BY_SMS_CAP = "held: the hourly SMS cap was reached"

# Set when a unit of work that queued a message commits: the worker in this process
# wakes at once instead of at its next poll. Other processes find it by polling.
_queued = threading.Event()
# Woken by a commit, the worker lets the answer of the request that queued the message
# leave first. Handing a message over right away (a claim, a write, the hand-over itself)
# competed with that answer in the same process: a recovery code sent to a real address
# answered about 1.5 ms later than one withheld for an unknown address, in every round
# (tests/attacks/test_enumeration.py, on a loaded machine). Now that work lands on later
# requests, whichever kind they are. A person cannot notice 50 ms on a text or an e-mail.
ANSWER_FIRST_SECONDS = 0.05


@dataclass(frozen=True)
class DeliveryCounts:
    sent: int = 0
    retrying: int = 0  # failed this time, pending again at next_attempt_at
    failed: int = 0  # given up after MAMORI_DELIVERY_MAX_ATTEMPTS
    kept: int = 0  # development without a channel: the outbox is the delivery
    held: int = 0  # an alert the SMS cap still holds: pending again when it frees

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.failed + self.kept + self.held


@dataclass(frozen=True)
class Claim:
    """A message this worker holds: `attempt` is its number, and the claim's fence."""

    id: int
    attempt: int
    channel: str
    to: str
    subject: str
    body: str
    kind: str
    template: str | None
    user_id: int | None
    held: bool = False  # held by the SMS cap: needs a slot before it is sent


def deliver_pending(ctx: Context, limit: int = 20) -> DeliveryCounts:
    """Hand over up to `limit` due messages, oldest first; each one claimed before it is sent."""
    outcomes: Counter[str] = Counter()
    for message_id, attempts in _due(ctx, limit):
        claim = _claim(ctx, message_id, attempts)
        if claim is not None:  # None: another worker got there first
            outcomes[_deliver(ctx, claim)] += 1
    return DeliveryCounts(**outcomes)


def retry_delay(ctx: Context, attempt: int) -> timedelta:
    """How long a message waits after its `attempt`-th failed hand-over."""
    seconds = ctx.settings.delivery_retry_seconds * 2 ** min(attempt - 1, 20)
    return min(timedelta(seconds=seconds), LONGEST_WAIT)


def sealed_context(message_id: int) -> str:
    """What a message's sealed copy is bound to: it opens for that message only."""
    return f"outbox:{message_id}"


def wake_worker_after_commit(db: Session) -> None:
    """Once the caller's unit of work commits, the queued message is there to be sent."""
    if not db.info.get("wakes_delivery_worker"):
        db.info["wakes_delivery_worker"] = True
        event.listen(db, "after_commit", _wake_on_commit)


def _due_condition(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(
            OutboxMessage.status == PENDING,
            or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
        ),
        and_(OutboxMessage.status == SENDING, OutboxMessage.claimed_at <= now - LEASE),
    )


def _due(ctx: Context, limit: int) -> list[tuple[int, int]]:
    with ctx.database.session() as db:
        rows = db.execute(
            select(OutboxMessage.id, OutboxMessage.attempts)
            .where(_due_condition(ctx.clock.now()))
            .order_by(OutboxMessage.id)
            .limit(limit)
        ).all()
    return [(row.id, row.attempts) for row in rows]


def _claim(ctx: Context, message_id: int, seen_attempts: int) -> Claim | None:
    now = ctx.clock.now()
    with ctx.database.session() as db:
        row = db.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.attempts == seen_attempts,
                _due_condition(now),
            )
            .values(status=SENDING, claimed_at=now, attempts=OutboxMessage.attempts + 1)
            .returning(
                OutboxMessage.attempts,
                OutboxMessage.channel,
                OutboxMessage.to,
                OutboxMessage.subject,
                OutboxMessage.body,
                OutboxMessage.kind,
                OutboxMessage.template,
                OutboxMessage.user_id,
                OutboxMessage.sealed_body,
                OutboxMessage.last_error,
            )
            .execution_options(synchronize_session=False)
        ).one_or_none()
    if row is None:
        return None
    attempt, channel, to, subject, body, kind, template, user_id, sealed, last_error = row
    if sealed:
        body = ctx.keyring.unseal(sealed, sealed_context(message_id))
    held = channel == "sms" and last_error == HELD_BY_SMS_CAP
    return Claim(message_id, attempt, channel, to, subject, body, kind, template, user_id, held)


def _deliver(ctx: Context, claim: Claim) -> str:
    settings = ctx.settings
    if claim.attempt > settings.delivery_max_attempts:
        return _retry_or_give_up(ctx, claim, "the worker stopped during the last attempt")
    if claim.held and not _reserve_text(ctx, claim):
        return "held"
    if settings.development and not channel_configured(settings, claim.channel):
        _finish(
            ctx, claim, status=OUTBOX_ONLY, claimed_at=None, next_attempt_at=None, sealed_body=None
        )
        return "kept"
    try:
        reference = hand_over(
            settings,
            ctx.clock,
            channel=claim.channel,
            to=claim.to,
            subject=claim.subject,
            body=claim.body,
        )
    except ChannelError as exc:
        return _retry_or_give_up(ctx, claim, exc.reason)
    except Exception as exc:  # a bug must neither stop the worker nor lose the message
        log.exception("delivery of message %s raised", claim.id)
        return _retry_or_give_up(ctx, claim, f"unexpected {type(exc).__name__}")
    if not _finish(
        ctx,
        claim,
        status=SENT,
        provider_ref=reference[:255] or None,
        sent_at=ctx.clock.now(),
        claimed_at=None,
        next_attempt_at=None,
        sealed_body=None,  # the secret need not outlive its delivery
    ):
        log.warning("message %s was sent after its lease ran out: it may arrive twice", claim.id)
    return "sent"


def _reserve_text(ctx: Context, claim: Claim) -> bool:
    """A slot under the SMS cap for a held alert; else it waits again (no attempt spent)."""
    try:
        with ctx.database.session() as db:
            reserve_sends(db, ctx.clock, sms_slots(ctx.settings, ctx.keyring, claim.to, claim.kind))
    except TooManyAttempts as refused:
        _finish(
            ctx,
            claim,
            status=PENDING,
            attempts=claim.attempt - 1,
            claimed_at=None,
            next_attempt_at=ctx.clock.now() + timedelta(seconds=refused.retry_after_seconds),
        )
        return False
    _finish(ctx, claim, status=SENDING, last_error=None)
    return True


def _retry_or_give_up(ctx: Context, claim: Claim, reason: str) -> str:
    reason = reason[:200]
    given_up = claim.attempt >= ctx.settings.delivery_max_attempts
    count_delivery_failure(claim.channel, given_up=given_up)
    if given_up:
        _give_up(ctx, claim, reason)
        return "failed"
    wait = retry_delay(ctx, claim.attempt)
    if not _finish(
        ctx,
        claim,
        status=PENDING,
        next_attempt_at=ctx.clock.now() + wait,
        claimed_at=None,
        last_error=reason,
    ):
        log.warning("message %s was taken over after its lease ran out: %s", claim.id, reason)
        return "retrying"
    log.warning(
        "delivery of message %s (%s, %s) failed, attempt %s of %s; next in %s s: %s",
        claim.id,
        claim.channel,
        claim.template or claim.kind,
        claim.attempt,
        ctx.settings.delivery_max_attempts,
        int(wait.total_seconds()),
        reason,
    )
    return "retrying"


def _give_up(ctx: Context, claim: Claim, reason: str) -> None:
    with ctx.database.session() as db:
        if not _finish_in(
            db,
            claim,
            status=FAILED,
            next_attempt_at=None,
            claimed_at=None,
            last_error=reason,
            # A code is dead by now; an alert may be retried by the operator, link and all.
            **({"sealed_body": None} if claim.kind == "code" else {}),
        ):
            return
        record_event(
            db,
            ctx.clock,
            "delivery.failed",
            WORKER,
            user_id=claim.user_id,
            outcome="failure",
            channel=claim.channel,
            kind=claim.kind,
            template=claim.template,
            message_id=claim.id,
            attempts=claim.attempt,
            reason=reason,
        )
    log.warning(
        "delivery failed: message %s (%s, %s) for user %s given up after %s attempts: %s",
        claim.id,
        claim.channel,
        claim.template or claim.kind,
        claim.user_id,
        claim.attempt,
        reason,
    )


def _finish(ctx: Context, claim: Claim, **values: Any) -> bool:
    with ctx.database.session() as db:
        return _finish_in(db, claim, **values)


def _finish_in(db: Session, claim: Claim, **values: Any) -> bool:
    """Write the outcome only while the claim is still ours (nobody reclaimed it since)."""
    result = cast(
        CursorResult[Any],
        db.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == claim.id,
                OutboxMessage.status == SENDING,
                OutboxMessage.attempts == claim.attempt,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        ),
    )
    return result.rowcount == 1


class DeliveryWorker:
    """`mamori serve`'s background thread: delivers what is due, then waits for the next
    queued message or MAMORI_DELIVERY_POLL_SECONDS, whichever comes first."""

    def __init__(
        self,
        ctx: Context,
        batch: int = 20,
        before_each_round: Sequence[Callable[[Context], object]] = (),
    ) -> None:
        """`before_each_round`: what queues messages by looking rather than being told
        (the apps to tell of ended sessions, oidc/backchannel.py), run before each round."""
        self._ctx = ctx
        self._batch = batch
        self._before_each_round = tuple(before_each_round)
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="mamori-delivery-worker", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Finish the message in hand (bounded by the delivery timeout), then end."""
        self._stopping.set()
        _queued.set()
        # Beyond this the daemon thread is left behind; the lease covers its message.
        self._thread.join(timeout=self._ctx.settings.delivery_timeout_seconds + 5)

    def _run(self) -> None:
        while not self._stopping.is_set():
            _queued.clear()
            try:
                for queue_more in self._before_each_round:
                    queue_more(self._ctx)
                counts = deliver_pending(self._ctx, self._batch)
            except Exception:  # the database may be away for a while; the worker stays
                log.exception("the delivery worker could not read the outbox; trying again")
                counts = DeliveryCounts()
            if counts.handled < self._batch and _queued.wait(
                self._ctx.settings.delivery_poll_seconds
            ):
                self._stopping.wait(ANSWER_FIRST_SECONDS)


def _wake_on_commit(session: Session) -> None:
    _queued.set()
