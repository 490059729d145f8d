"""Reading the audit log: filter by actor, action and time; personal data masked on the way out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.audit.models import AuditEvent
from service.channels.base import mask_address
from service.clock import utcnow

_EMAIL = re.compile(r"[^\s<>()\[\]\"',;:]+@[^\s<>()\[\]\"',;:]+")
_PHONE = re.compile(r"\+?\d[\d \-]{6,}\d")
_RELATIVE = re.compile(r"^(\d+)\s*([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
# Subjects that are staff accounts: their address is who acted, not personal data to hide.
STAFF_SUBJECTS = frozenset({"user"})


def mask_text(text: str) -> str:
    """Every e-mail address and phone number in `text`, masked."""
    text = _EMAIL.sub(lambda m: mask_address(m.group(0)), text)
    return _PHONE.sub(lambda m: mask_address(re.sub(r"[ \-]", "", m.group(0))), text)


def mask_value(value: Any) -> Any:
    """`value` with every string in it masked (dicts and lists are walked)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(v) for v in value]
    return value


def parse_since(text: str) -> datetime:
    """`30m`, `12h`, `7d` ago, or an ISO date or time (a date is midnight UTC)."""
    text = text.strip()
    relative = _RELATIVE.match(text)
    if relative:
        return utcnow() - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--since {text!r}: use 30m, 12h, 7d, a date (2026-11-23) or a time with offset"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ShownEvent:
    """One audit event as it may be shown: personal data masked."""

    at: datetime
    actor: str
    action: str
    subject: str
    source: str
    details: dict[str, Any]


def list_events(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
) -> list[ShownEvent]:
    """The newest events first; `action` matches itself and its sub-actions (login: login.*)."""
    query = sa.select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if action:
        query = query.where(
            sa.or_(AuditEvent.action == action, AuditEvent.action.startswith(f"{action}."))
        )
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    shown = []
    for event in session.scalars(query.limit(limit)):
        subject = event.subject_id
        if event.subject_type not in STAFF_SUBJECTS:
            subject = mask_text(subject)
        at = event.at if event.at.tzinfo else event.at.replace(tzinfo=UTC)
        shown.append(
            ShownEvent(
                at=at,
                actor=event.actor,
                action=event.action,
                subject=f"{event.subject_type}:{subject}",
                source=event.source,
                details=mask_value(event.details or {}),
            )
        )
    return shown
