"""Reading the register: which recipients a notice reaches, and their pseudonymous keys."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.notices.schemas import Mode
from service.recipients.areas import AreaMap
from service.recipients.models import RecipientRecord
from service.recipients.schemas import Recipient

EXERCISE_GROUP = "exercise-participants"


def recipient_key(secret: str, recipient_id: int) -> str:
    """A pseudonymous, stable key for a recipient; it outlives a GDPR deletion of the row."""
    return hmac.new(
        secret.encode(), f"recipient:{recipient_id}".encode(), hashlib.sha256
    ).hexdigest()


def to_recipient(row: RecipientRecord) -> Recipient:
    """The register row as the delivery code sees a recipient."""
    return Recipient(
        name=row.name,
        phone=row.phone,
        email=row.email,
        languages=tuple(row.languages) or ("sv",),
        audiences=tuple(row.audiences) or ("general-public",),
        external_id=row.external_id or "",
        groups=tuple(row.groups),
    )


def select_recipients(
    session: Session, targets: list[str], mode: Mode, areas: AreaMap, *, batch_size: int = 2000
) -> Iterator[tuple[int, Recipient]]:
    """Active recipients in the targeted areas, streamed in batches.

    Exercise and test notices reach only the exercise group. Rows stream so that 100,000
    recipients never sit in memory at once.
    """
    query = sa.select(RecipientRecord).where(RecipientRecord.active.is_(True))
    query = query.order_by(RecipientRecord.id).execution_options(yield_per=batch_size)
    for row in session.scalars(query):
        if mode != Mode.actual and EXERCISE_GROUP not in row.groups:
            continue
        if areas.covers(targets, list(row.areas)):
            yield row.id, to_recipient(row)
