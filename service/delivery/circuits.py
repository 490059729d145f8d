"""A circuit breaker per channel's transport, shared by every worker through the database.

A provider that is down is not hammered: after `circuit_failures` temporary failures in a row
the circuit opens, nobody sends on that channel, and after a wait one worker sends a single
probe (half-open). A probe that succeeds closes the circuit and brings every waiting delivery
of the channel forward; one that fails opens it again for twice as long (up to a ceiling, with
jitter so that workers do not probe in step). The state is a row per channel, so any number of
workers on any number of machines agree; times are the service clock's.

While a circuit is open, deliveries wait instead of failing: they fail only at their deadline.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.channels.models import TransportCircuit
from service.clock import as_utc, utcnow
from service.config import Settings
from service.delivery.models import Delivery, DeliveryStatus

logger = logging.getLogger(__name__)

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
PROVIDER_NAMES = {"sms": "the SMS provider", "email": "the e-mail server"}


@dataclass(frozen=True)
class CircuitState:
    """One channel's circuit as a worker last read it."""

    channel: str
    state: str = CLOSED
    since: datetime | None = None
    retry_at: datetime | None = None
    probe_until: datetime | None = None
    last_error: str | None = None

    def blocked(self, now: datetime) -> bool:
        """Whether nothing may be sent on this channel now (a probe may be due, though)."""
        return self.state != CLOSED

    def probe_due(self, now: datetime) -> bool:
        """Whether a worker may take the probe now."""
        if self.state == OPEN:
            return self.retry_at is None or as_utc(self.retry_at) <= now
        if self.state == HALF_OPEN:  # the prober vanished: another may probe
            return self.probe_until is None or as_utc(self.probe_until) <= now
        return False


def waiting_text(channel: str, since: datetime, timezone: str) -> str:
    """'waiting for the SMS provider since 03:12' in local time."""
    from zoneinfo import ZoneInfo

    local = as_utc(since).astimezone(ZoneInfo(timezone))
    name = PROVIDER_NAMES.get(channel, f"the {channel} transport")
    return f"waiting for {name} since {local:%H:%M}"


def read_circuits(session: Session) -> dict[str, CircuitState]:
    """Every channel's circuit (channels never troubled have no row: closed)."""
    return {
        row.channel: CircuitState(
            row.channel, row.state, row.since, row.retry_at, row.probe_until, row.last_error
        )
        for row in session.scalars(sa.select(TransportCircuit))
    }


def take_probe(session: Session, channel: str, probe_seconds: float) -> bool:
    """Claim the one probe of an open circuit whose wait is over; True for the winner."""
    now = utcnow()
    table = cast(sa.Table, TransportCircuit.__table__)
    due = sa.or_(
        sa.and_(table.c.state == OPEN, table.c.retry_at <= now),
        sa.and_(table.c.state == HALF_OPEN, table.c.probe_until <= now),
    )
    changed = session.execute(
        sa.update(table)
        .where(table.c.channel == channel, due)
        .values(state=HALF_OPEN, probe_until=now + timedelta(seconds=probe_seconds), updated_at=now)
    )
    return bool(cast(Any, changed).rowcount)


def _row(session: Session, channel: str) -> TransportCircuit:
    """The channel's row, locked for this transaction (created closed if missing)."""
    table = cast(sa.Table, TransportCircuit.__table__)
    dialect = session.get_bind().dialect.name
    values = {"channel": channel, "state": CLOSED, "failures": 0, "opened": 0}
    values["updated_at"] = utcnow()
    insert: Any
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as insert_
    else:
        from sqlalchemy.dialects.sqlite import insert as insert_  # type: ignore[assignment]
    insert = insert_(table).values(**values).on_conflict_do_nothing(index_elements=["channel"])
    session.execute(insert)
    row = session.scalars(
        sa.select(TransportCircuit)
        .where(TransportCircuit.channel == channel)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return row


def note_results(
    session: Session,
    channel: str,
    results: Sequence[str | None],
    settings: Settings,
    *,
    known: CircuitState | None = None,
) -> CircuitState:
    """Count a channel's finished sends; open or close its circuit as they say; the new state.

    `results` are in the order the sends ended: None for an answer from the provider (accepted,
    or refused for good), else the temporary error. `known` is the circuit as this worker last
    read or wrote it (at most CHECK_SECONDS old).
    """
    now = utcnow()
    if all(error is None for error in results):
        if known is not None and known.state == CLOSED and known.last_error is None:
            # Closed and clean when last read, and every send answered: nothing to write, and
            # not even a read (a round trip in every recording, while the slots wait). Failures
            # another worker noted since are seen at the next read, and cleared then.
            return known
        # The usual case: every send answered and the circuit is already closed and clean.
        # Nothing changes, so nothing is locked or written: otherwise every recording of every
        # worker would queue for this one row (measured: the recordings of two workers on a
        # busy machine took 0.3 s each, serialised on it).
        quiet = session.execute(
            sa.select(TransportCircuit.channel).where(
                TransportCircuit.channel == channel,
                TransportCircuit.state == CLOSED,
                TransportCircuit.failures == 0,
                TransportCircuit.last_error.is_(None),
            )
        ).first()
        if quiet is not None:
            return CircuitState(channel)
    row = _row(session, channel)
    answered = [i for i, error in enumerate(results) if error is None]
    trailing = [e for e in results[answered[-1] + 1 :] if e] if answered else list(results)
    was = row.state
    if answered:
        row.failures = len(trailing)
        if was != CLOSED:
            logger.warning("%s answers again: circuit closed", PROVIDER_NAMES.get(channel))
            row.state, row.opened, row.retry_at, row.probe_until = CLOSED, 0, None, None
            _bring_forward(session, channel, now)
    else:
        row.failures += len(trailing)
    if trailing:
        row.last_error = trailing[-1]
        row.since = row.since or now
    elif row.state == CLOSED:
        row.since = row.last_error = None
    if trailing and (
        (row.state == CLOSED and row.failures >= settings.circuit_failures)
        or (row.state == HALF_OPEN and not answered)
    ):
        row.opened += 1
        wait = min(
            settings.circuit_open_max_seconds,
            settings.circuit_open_seconds * 2 ** (row.opened - 1),
        )
        row.state = OPEN
        row.retry_at = now + timedelta(seconds=wait * random.uniform(0.8, 1.0))
        row.probe_until = None
        if was == CLOSED:
            logger.warning(
                "%s failed %d times in a row: circuit open, next probe in %.1f s (%s)",
                PROVIDER_NAMES.get(channel),
                row.failures,
                wait,
                row.last_error,
            )
    row.updated_at = now
    session.flush()
    return CircuitState(
        channel, row.state, row.since, row.retry_at, row.probe_until, row.last_error
    )


def _bring_forward(session: Session, channel: str, now: datetime) -> None:
    """Deliveries backing off on a channel that answers again are due at once."""
    session.execute(
        sa.update(Delivery)
        .where(
            Delivery.channel == channel,
            Delivery.status == DeliveryStatus.planned,
            Delivery.next_attempt_at > now,
        )
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
