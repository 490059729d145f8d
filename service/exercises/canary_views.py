"""REST routes for test recipients ("canaries"): list, add, read, change, remove.

A canary's address is a phone number or mailbox, often a person's duty phone: personal data.
Every route needs notices:send, as running tests does (approvers and admins); viewers see the
canaries' labels on the Schedules page, not their addresses. Removing keeps the row inactive,
so past reports still name it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from service.accounts.permissions import PROTECTED_RESPONSES, NoticesSend
from service.accounts.principal import Principal
from service.api.deps import LibraryDep, SessionDep
from service.api.idempotency import Idempotent, json_response
from service.api.json_body import LimitedJSONRoute
from service.api.problems import located, problem_response
from service.clock import as_utc
from service.content import ContentLibrary
from service.exercises.canaries import (
    ADDRESS_MAX_LENGTH,
    CANARY_CHANNELS,
    LABEL_MAX_LENGTH,
    CanaryInvalid,
    add_canary,
    list_canaries,
    remove_canary,
    update_canary,
)
from service.exercises.models import CanaryRecord

router = APIRouter(
    prefix="/api/v1/canaries",
    tags=["exercises"],
    route_class=LimitedJSONRoute,
    responses=PROTECTED_RESPONSES,
)
CanaryId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the canary's id")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no canary has this id"}}
INVALID: dict[int | str, dict[str, Any]] = {422: {"description": "every problem with the input"}}
Address = Annotated[str, Field(max_length=ADDRESS_MAX_LENGTH, description="E.164 or e-mail")]
Label = Annotated[str, Field(max_length=LABEL_MAX_LENGTH, description="whose phone or mailbox")]
Language = Annotated[str, Field(max_length=16, description="the language its tests come in")]


class CanaryIn(BaseModel):
    """A new test recipient on one channel."""

    channel: str = Field(max_length=16, description=f"one of {', '.join(CANARY_CHANNELS)}")
    address: Address
    label: Label
    language: Language = "sv"

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {"channel": "sms", "address": "+46701234567", "label": "Jourtelefon"},
                {
                    "channel": "email",
                    "address": "krisledning@vasteras.se",
                    "label": "Krisledningens brevlåda",
                    "language": "sv",
                },
            ]
        },
    }


class CanaryChange(BaseModel):
    """A canary's new address, label and language (the channel stays: add another instead)."""

    address: Address
    label: Label
    language: Language = "sv"

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [{"address": "+46701234568", "label": "Jourtelefon 2", "language": "sv"}]
        },
    }


class CanaryOut(BaseModel):
    """A test recipient: every exercise and test notice plans one delivery to it."""

    id: int
    channel: str
    address: str
    label: str
    language: str
    active: bool
    created_at: datetime
    created_by: str


def canary_out(canary: CanaryRecord) -> dict[str, Any]:
    """The canary as the API shows it."""
    return CanaryOut(
        id=canary.id,
        channel=canary.channel,
        address=canary.address,
        label=canary.label,
        language=canary.language,
        active=canary.active,
        created_at=as_utc(canary.created_at),
        created_by=canary.created_by,
    ).model_dump(mode="json")


def _invalid(exc: CanaryInvalid) -> JSONResponse:
    detail = f"the canary was not saved: {len(exc.problems)} problem(s)"
    return problem_response(
        422, "canary-invalid", "Invalid canary", detail, problems=located(exc.problems)
    )


def _missing(canary_id: int) -> JSONResponse:
    return problem_response(404, "not-found", "No such canary", f"no canary has the id {canary_id}")


@router.get("", operation_id="canary_list", response_model=list[CanaryOut])
def canaries(
    session: SessionDep,
    _principal: NoticesSend,
    channel: Annotated[str | None, Query(max_length=16, description="sms or email")] = None,
    include_removed: bool = False,
) -> list[dict[str, Any]]:
    """The test recipients by channel and id (at most 100 are active, so one page)."""
    rows = list_canaries(session, include_removed=include_removed)
    return [canary_out(c) for c in rows if channel is None or c.channel == channel]


@router.post(
    "", operation_id="canary_add", status_code=201, response_model=CanaryOut, responses=INVALID
)
def add(
    body: CanaryIn,
    session: SessionDep,
    library: LibraryDep,
    principal: NoticesSend,
    idempotent: Idempotent,
) -> Response:
    """Add a test recipient (a removed one with the same address comes back)."""
    return idempotent.run(session, principal, lambda: _add(body, session, library, principal))


def _add(body: CanaryIn, session: SessionDep, library: ContentLibrary, who: Principal) -> Response:
    try:
        canary = add_canary(
            session,
            library,
            channel=body.channel,
            address=body.address,
            label=body.label,
            language=body.language,
            actor=who.actor,
            source=who.source,
        )
    except CanaryInvalid as exc:
        return _invalid(exc)
    return json_response(canary_out(canary), 201, location=f"/api/v1/canaries/{canary.id}")


@router.get(
    "/{canary_id}", operation_id="canary_get", response_model=CanaryOut, responses=NOT_FOUND
)
def get_canary(
    canary_id: CanaryId, session: SessionDep, _principal: NoticesSend
) -> dict[str, Any] | JSONResponse:
    """One test recipient (a removed one too)."""
    canary = session.get(CanaryRecord, canary_id)
    return _missing(canary_id) if canary is None else canary_out(canary)


@router.put(
    "/{canary_id}",
    operation_id="canary_update",
    response_model=CanaryOut,
    responses={**NOT_FOUND, **INVALID, 409: {"description": "the canary was removed"}},
)
def change(
    canary_id: CanaryId,
    body: CanaryChange,
    session: SessionDep,
    library: LibraryDep,
    principal: NoticesSend,
) -> dict[str, Any] | JSONResponse:
    """Change a test recipient's address, label and language."""
    canary = session.get(CanaryRecord, canary_id)
    if canary is None:
        return _missing(canary_id)
    if not canary.active:
        detail = f"canary {canary_id} was removed; add it again instead"
        return problem_response(409, "wrong-state", "Not possible now", detail)
    try:
        update_canary(
            session,
            library,
            canary,
            address=body.address,
            label=body.label,
            language=body.language,
            actor=principal.actor,
            source=principal.source,
        )
    except CanaryInvalid as exc:
        return _invalid(exc)
    return canary_out(canary)


@router.delete(
    "/{canary_id}",
    operation_id="canary_remove",
    response_model=CanaryOut,
    responses={**NOT_FOUND, 409: {"description": "already removed"}},
)
def remove(
    canary_id: CanaryId, session: SessionDep, principal: NoticesSend
) -> dict[str, Any] | JSONResponse:
    """Remove a test recipient (kept inactive, so past reports still name it)."""
    if session.get(CanaryRecord, canary_id) is None:
        return _missing(canary_id)
    canary = remove_canary(session, canary_id, actor=principal.actor, source=principal.source)
    if canary is None:
        detail = f"canary {canary_id} is already removed"
        return problem_response(409, "wrong-state", "Not possible now", detail)
    return canary_out(canary)
