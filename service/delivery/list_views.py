"""REST routes listing deliveries: a notice's (per recipient and channel), and a recipient's.

A notice's list shows addresses masked (as the CSV report does); the full contact details of
people not reached are in /not-reached. A recipient's history needs recipients:read, as it
tells whom the register holds. A test key sees exercise and test notices only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from service.accounts.permissions import (
    PROTECTED_RESPONSES,
    RecipientsRead,
    ReportsRead,
    refuse_test_key_for,
)
from service.accounts.principal import TEST_KEY_MODES
from service.api.deps import SessionDep
from service.api.errors import query_problem
from service.channels.base import mask_address
from service.delivery.models import Delivery, DeliveryStatus
from service.delivery.tracking import recipient_history
from service.notices.publish import find_by_code
from service.recipients.models import RecipientRecord

# Importing api_schemas also registers the {code:notice_code} path convertor.
from service.workflow.api_schemas import PAGE_MAX, BadCursor, decode_cursor, encode_cursor

router = APIRouter(prefix="/api/v1", tags=["deliveries"], responses=PROTECTED_RESPONSES)
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such notice or recipient"}}


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class DeliveryOut(BaseModel):
    """One message to one recipient on one channel."""

    id: int
    recipient_id: int | None = Field(description="null after the person was deleted (GDPR)")
    channel: str
    address: str | None = Field(description="masked")
    language: str
    # `register` in JSON; renamed here because BaseModel has a `register` attribute.
    text_register: str = Field(validation_alias="register", serialization_alias="register")
    audience: str
    status: DeliveryStatus
    attempts: int
    error: str | None
    fallback_of: int | None = Field(description="the delivery this one stands in for")
    created_at: datetime
    sent_at: datetime | None
    updated_at: datetime


class DeliveryPage(BaseModel):
    """One page of a notice's deliveries; `next_cursor` fetches the next."""

    items: list[DeliveryOut]
    next_cursor: str | None


class HistoryOut(BaseModel):
    """One delivery to a recipient, with the notice it carried."""

    delivery_id: int
    notice_code: str
    scenario: str
    mode: str
    channel: str
    status: str
    attempts: int
    language: str
    # `register` in JSON; renamed here because BaseModel has a `register` attribute.
    text_register: str = Field(validation_alias="register", serialization_alias="register")
    audience: str
    error: str | None
    created_at: datetime
    sent_at: datetime | None
    updated_at: datetime


@router.get(
    "/notices/{code:notice_code}/deliveries",
    operation_id="list_notice_deliveries",
    response_model=DeliveryPage,
    responses=NOT_FOUND,
)
def list_notice_deliveries(
    code: Annotated[str, Path(pattern=r"^[A-Za-z0-9]{6}$")],
    session: SessionDep,
    principal: ReportsRead,
    request: Request,
    status: DeliveryStatus | None = None,
    channel: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 50,
    cursor: Annotated[str | None, Query(max_length=200, description="a page's next_cursor")] = None,
) -> dict[str, Any]:
    """A notice's deliveries, a page at a time: channel, status, attempts, the last error."""
    record = find_by_code(session, code)
    if record is None:
        raise HTTPException(404, f"no notice has the code {code.upper()!r}")
    refuse_test_key_for(session, principal, request, record.mode)
    try:
        after = decode_cursor(cursor) if cursor is not None else 0
    except BadCursor as exc:
        raise query_problem("cursor", str(exc)) from None
    query = sa.select(Delivery).where(Delivery.notice_id == record.id, Delivery.id > after)
    if status is not None:
        query = query.where(Delivery.status == status.value)
    if channel is not None:
        query = query.where(Delivery.channel == channel)
    rows = list(session.scalars(query.order_by(Delivery.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        {
            "id": d.id,
            "recipient_id": d.recipient_id,
            "channel": d.channel,
            "address": mask_address(d.address) if d.address else None,
            "language": d.language,
            "register": d.register,
            "audience": d.audience,
            "status": d.status,
            "attempts": d.attempts,
            "error": d.last_error,
            "fallback_of": d.fallback_of_id,
            "created_at": _utc(d.created_at),
            "sent_at": _utc(d.sent_at),
            "updated_at": _utc(d.updated_at),
        }
        for d in rows
    ]
    return {"items": items, "next_cursor": encode_cursor(rows[-1].id) if more else None}


@router.get(
    "/recipients/{recipient_id:int}/deliveries",
    operation_id="list_recipient_deliveries",
    response_model=list[HistoryOut],
    responses=NOT_FOUND,
)
def list_recipient_deliveries(
    recipient_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    session: SessionDep,
    principal: RecipientsRead,
) -> list[dict[str, Any]]:
    """Every delivery to one recipient, newest first (a test key: exercise and test only)."""
    if session.get(RecipientRecord, recipient_id) is None:
        raise HTTPException(404, f"no recipient has id {recipient_id}")
    return [
        {
            **{k: v for k, v in vars(entry).items() if not k.endswith("_at")},
            "created_at": _utc(entry.created_at),
            "sent_at": _utc(entry.sent_at),
            "updated_at": _utc(entry.updated_at),
        }
        for entry in recipient_history(session, recipient_id)
        if not principal.is_test or entry.mode in TEST_KEY_MODES
    ]
