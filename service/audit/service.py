"""Writing audit events; every state change goes through `record`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from service.audit.models import AuditEvent


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str | int,
    source: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the session's transaction (it commits with the change)."""
    event = AuditEvent(
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        source=source,
        details=details or {},
    )
    session.add(event)
    return event
