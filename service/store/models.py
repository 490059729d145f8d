"""Imports every table module so Alembic and create_all see the whole schema."""

from service.accounts.models import ApiKey, LoginAttempt, OidcRequest, User, UserRole, WebSession
from service.audit.models import AuditEvent
from service.channels.models import SentMessage
from service.delivery.models import Delivery
from service.interop.models import CapImport
from service.notices.models import NoticeRecord
from service.recipients.models import RecipientRecord

__all__ = [
    "ApiKey",
    "AuditEvent",
    "CapImport",
    "Delivery",
    "LoginAttempt",
    "NoticeRecord",
    "OidcRequest",
    "RecipientRecord",
    "SentMessage",
    "User",
    "UserRole",
    "WebSession",
]
