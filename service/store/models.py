"""Imports every table module so Alembic and create_all see the whole schema."""

from service.audit.models import AuditEvent
from service.channels.models import SentMessage
from service.notices.models import NoticeRecord

__all__ = ["AuditEvent", "NoticeRecord", "SentMessage"]
