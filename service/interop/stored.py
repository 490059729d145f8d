"""Small facts about stored notices that CAP needs without validating them again."""

from __future__ import annotations

from datetime import UTC, datetime

from service.notices.models import NoticeRecord


def stored_sent_at(record: NoticeRecord) -> datetime:
    """When a published notice was sent: its payload's `sent_at`, else its publication time.

    The same rule as notices.publish.load_stored_notice, so a reference to a notice names the
    very time its own alert carries.
    """
    sent = record.payload.get("sent_at")
    if isinstance(sent, str) and sent:
        value = datetime.fromisoformat(sent)
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    created = record.created_at
    return created if created.tzinfo else created.replace(tzinfo=UTC)  # SQLite drops it
