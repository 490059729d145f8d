"""Imports every table module so Alembic and create_all see the whole schema."""

from service.accounts.models import ApiKey, LoginAttempt, OidcRequest, User, UserRole, WebSession
from service.api.idempotency import IdempotencyRecord
from service.audit.models import AuditEvent
from service.channels.models import ReceiptInbox, SentMessage, TransportCircuit
from service.delivery.models import Delivery
from service.exercises.models import (
    CanaryRecord,
    ExerciseRunRecord,
    FiringRecord,
    ScheduleRecord,
)
from service.interop.models import CapImport
from service.notices.models import NoticeRecord
from service.recipients.models import RecipientRecord
from service.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)

__all__ = [
    "ApiKey",
    "AuditEvent",
    "CanaryRecord",
    "CapImport",
    "Delivery",
    "ExerciseRunRecord",
    "FiringRecord",
    "IdempotencyRecord",
    "LoginAttempt",
    "NoticeRecord",
    "OidcRequest",
    "ReceiptInbox",
    "RecipientRecord",
    "ScheduleRecord",
    "SentMessage",
    "TransportCircuit",
    "User",
    "UserRole",
    "WebSession",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookSubscription",
]
