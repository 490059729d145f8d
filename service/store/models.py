"""Imports every table module so Alembic and create_all see the whole schema."""

from service.audit.models import AuditEvent
from service.channels.models import SentMessage
from service.delivery.models import Delivery
from service.exercises.models import (
    CanaryRecord,
    ExerciseRunRecord,
    FiringRecord,
    ScheduleRecord,
)
from service.notices.models import NoticeRecord
from service.recipients.models import RecipientRecord

__all__ = [
    "AuditEvent",
    "CanaryRecord",
    "Delivery",
    "ExerciseRunRecord",
    "FiringRecord",
    "NoticeRecord",
    "RecipientRecord",
    "ScheduleRecord",
    "SentMessage",
]
