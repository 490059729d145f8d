"""What the notices API takes and answers (service/workflow/views.py)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from starlette.convertors import Convertor, register_url_convertor

from service.notices.models import NoticeRecord, NoticeState

# The request body example: a water outage as in demo/notices/ (an exercise, so a test key
# may send it as it is).
NOTICE_EXAMPLE: dict[str, Any] = {
    "scenario": "water_outage",
    "message_type": "alert",
    "mode": "exercise",
    "exercise_name": "Övning Vattenavbrott 2027",
    "severity": "moderate",
    "urgency": "expected",
    "certainty": "observed",
    "areas": ["skultuna"],
    "fields": {
        "area_name": "Skultuna",
        "starts_at": "2027-03-02T10:00:00+01:00",
        "expected_end": "2027-03-02T16:00:00+01:00",
        "water_points": ["Skultuna skola, Kyrkvägen 1"],
        "boil_water_after": True,
    },
    "contact": {"phone": "021-39 00 00", "web": "https://www.vasteras.se/kris"},
    "audiences": ["general-public", "easy-read"],
    "languages": ["sv", "en"],
    "channels": ["sms", "email", "web"],
    "note": {"sv": "Ta med egna dunkar eller flaskor."},
}
PAGE_MAX = 100
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _iso_only(value: Any) -> Any:
    # pydantic would take 0.5 as a Unix time; the contract says an ISO 8601 string.
    if isinstance(value, str) and not ISO_DATE.match(value):
        raise ValueError("must be a date and time such as 2027-03-02T09:30:00+01:00")
    if not isinstance(value, str | datetime):
        raise ValueError("must be a date and time such as 2027-03-02T09:30:00+01:00")
    return value


IsoDatetime = Annotated[datetime, BeforeValidator(_iso_only)]


class NoticeCodeConvertor(Convertor[str]):
    """A notice code in a path: six letters and digits (so /notices/preview is no code)."""

    regex = "[A-Za-z0-9]{6}"

    def convert(self, value: str) -> str:
        """The code as written (lookups ignore case)."""
        return value

    def to_string(self, value: str) -> str:
        """The code as written."""
        return value


register_url_convertor("notice_code", NoticeCodeConvertor())


class Problem(BaseModel):
    """One thing wrong, at a dotted field path."""

    location: str
    message: str


class NoticeSummary(BaseModel):
    """A notice's state and who did what when."""

    code: str = Field(description="the public code (/n/CODE), fixed when the draft is created")
    state: NoticeState
    scenario: str
    message_type: str
    mode: str
    references: str | None = Field(None, description="code of the first notice of its thread")
    outbox_only: bool = Field(description="created with a test key: sent to the outbox only")
    created_at: datetime
    created_by: str
    updated_at: datetime | None
    updated_by: str | None
    submitted_at: datetime | None
    approved_at: datetime | None
    approved_by: str | None
    self_approved: bool
    send_at: datetime | None = Field(description="when a scheduled notice will be sent")
    sent_at: datetime | None
    sent_by: str | None
    cancelled_at: datetime | None


class NoticeDetail(NoticeSummary):
    """A notice with its content, what is still wrong with it, and its variants' checks."""

    notice: dict[str, Any] = Field(description="the notice as written (the create body)")
    problems: list[Problem] = Field(description="empty when it could be approved and sent")
    warnings: list[Problem]
    report: dict[str, Any] | None = Field(
        description="every variant's checks (audience, language, channel), when the notice is "
        "valid and checks were asked for"
    )


class NoticePage(BaseModel):
    """One page of notices, newest first; `next_cursor` fetches the next."""

    items: list[NoticeSummary]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null: done")


class ApproveIn(BaseModel):
    """An approval; failed checks must be accepted in so many words."""

    model_config = ConfigDict(extra="forbid")

    accept_failed_checks: bool = False


class ApprovalOut(BaseModel):
    """What was approved: the fingerprint of every text and the plan, and what sending does."""

    notice: NoticeSummary
    fingerprint: str
    impact: dict[str, Any]


class SendIn(BaseModel):
    """Send now (no `at`) or at a time; `repeat` sends content that was sent before anew."""

    model_config = ConfigDict(extra="forbid")

    at: IsoDatetime | None = Field(
        None, description="when to send (ISO 8601; without an offset: local time); null: now"
    )
    repeat: bool = Field(False, description="send the same content again as a new notice")


class SendingOut(BaseModel):
    """What sending did: sent now, or scheduled."""

    code: str
    state: NoticeState
    send_at: datetime | None


class FollowUpIn(BaseModel):
    """A follow-up of a sent notice: an update, an all-clear or a cancel."""

    model_config = ConfigDict(extra="forbid")

    message_type: Literal["update", "all_clear", "cancel"]


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def summary(record: NoticeRecord, references: str | None) -> dict[str, Any]:
    """The NoticeSummary fields of a stored notice."""
    return {
        "code": record.code,
        "state": record.status,
        "scenario": record.scenario,
        "message_type": record.message_type,
        "mode": record.mode,
        "references": references,
        "outbox_only": record.outbox_only,
        "created_at": _utc(record.created_at),
        "created_by": record.created_by,
        "updated_at": _utc(record.updated_at),
        "updated_by": record.updated_by,
        "submitted_at": _utc(record.submitted_at),
        "approved_at": _utc(record.approved_at),
        "approved_by": record.approved_by,
        "self_approved": record.self_approved,
        "send_at": _utc(record.send_at),
        "sent_at": _utc(record.sent_at),
        "sent_by": record.sent_by,
        "cancelled_at": _utc(record.cancelled_at),
    }


class BadCursor(ValueError):
    """A cursor this API did not hand out."""


def encode_cursor(last_id: int) -> str:
    """An opaque cursor after the row `last_id`."""
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The row id a cursor continues after (BadCursor if it is not one of ours)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after = value["after"]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise BadCursor("is not a cursor from this API: pass next_cursor as it came") from exc
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        raise BadCursor("is not a cursor from this API: pass next_cursor as it came")
    return after
