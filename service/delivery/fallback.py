"""Channel fallback: when a delivery fails for good, try the person's next channel.

The order is the audience profile's `channels`. A person who cannot be reached on any channel
lands on the "not reached" list (for follow-up phone calls); when their profile has print, or
is one whose people are visited by staff, the list says to hand them a printed notice. The list
is the failed deliveries whose `last_error` contains NOT_REACHED.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.content import ContentLibrary
from service.delivery.choose import SENT_CHANNELS
from service.delivery.models import Delivery, DeliveryStatus
from service.notices.schemas import Channel
from service.notices.service import Notice
from service.recipients.models import RecipientRecord
from service.variants.plan import variant_key

logger = logging.getLogger(__name__)

NOT_REACHED = "not reached on any channel"
# Audiences whose people staff visit with a printed notice even when the profile lists no print.
PRINTED_FOR = frozenset({"care-staff", "older-people-living-alone"})
_UNDERWAY = (
    DeliveryStatus.planned,
    DeliveryStatus.sending,
    DeliveryStatus.sent,
    DeliveryStatus.delivered,
)


def not_reached_reason(audience: str, library: ContentLibrary) -> str:
    """What the not-reached list says about a person of this audience."""
    profile = library.audiences.get(audience)
    if audience in PRINTED_FOR or (profile is not None and Channel.print in profile.channels):
        command = f"klarvarsel print-pack --audience {audience}"
        return f"{NOT_REACHED}: hand them a printed notice ({command})"
    return f"{NOT_REACHED}: call them"


def fall_back(
    session: Session, failed: Delivery, notice: Notice, library: ContentLibrary
) -> Delivery | None:
    """The next delivery for a person whose `failed` delivery cannot succeed, if any.

    Without one, and with nothing else under way for them, the failed delivery's reason says
    that they were not reached.
    """
    siblings = {
        d.channel: d
        for d in session.scalars(
            sa.select(Delivery).where(
                Delivery.notice_id == failed.notice_id,
                Delivery.recipient_key == failed.recipient_key,
            )
        )
    }
    if any(d.status == DeliveryStatus.cancelled for d in siblings.values()) or _cancelled(
        session, failed.notice_id
    ):
        return None  # the notice was cancelled: nothing new goes out
    profile = library.audiences.get(failed.audience)
    recipient = session.get(RecipientRecord, failed.recipient_id) if failed.recipient_id else None
    if profile is not None and recipient is not None and recipient.active:
        addresses = {Channel.sms: recipient.phone, Channel.email: recipient.email}
        for channel in profile.channels:
            address = addresses.get(channel)
            if (
                channel not in SENT_CHANNELS
                or channel.value == failed.channel
                or channel not in notice.envelope.channels
                or not address
            ):
                continue
            existing = siblings.get(channel.value)
            if existing is not None:
                if existing.status in _UNDERWAY:
                    return None  # they have a message on this channel already
                continue  # that channel failed too: try the next one
            created = _create(session, failed, channel, address, library)
            if created is not None:
                logger.info(
                    "delivery %s failed; falling back to %s as delivery %s",
                    failed.id,
                    channel.value,
                    created.id,
                )
                return created
    if any(d.status in _UNDERWAY for d in siblings.values() if d.id != failed.id):
        return None
    failed.last_error = (
        f"{failed.last_error or 'failed'}; {not_reached_reason(failed.audience, library)}"
    )
    return None


def _cancelled(session: Session, notice_id: int) -> bool:
    """Whether sending this notice was cancelled (some of its deliveries were)."""
    return (
        session.scalar(
            sa.select(Delivery.id)
            .where(Delivery.notice_id == notice_id, Delivery.status == DeliveryStatus.cancelled)
            .limit(1)
        )
        is not None
    )


def _create(
    session: Session, failed: Delivery, channel: Channel, address: str, library: ContentLibrary
) -> Delivery | None:
    """Insert the fallback delivery; None if a concurrent one got there first."""
    key = variant_key(library.audiences[failed.audience], failed.language, channel)
    delivery = Delivery(
        notice_id=failed.notice_id,
        recipient_id=failed.recipient_id,
        recipient_key=failed.recipient_key,
        channel=channel.value,
        address=address,
        language=failed.language,
        register=key.register.value,
        role=key.role.value,
        audience=failed.audience,
        status=DeliveryStatus.planned,
        attempts=0,
        fallback_of_id=failed.id,
    )
    try:
        # A savepoint: a clash with uq_deliveries_once must not undo the failure just recorded.
        with session.begin_nested():
            session.add(delivery)
    except IntegrityError:
        logger.info("delivery %s: a %s delivery already exists", failed.id, channel.value)
        return None
    return delivery
