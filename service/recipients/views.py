"""REST routes for the recipient register: list, read, create, replace, delete, CSV import.

The register holds personal data: reading needs recipients:read, changing recipients:write.
Import answers with the same report as `klarvarsel recipients import` (a dry run unless
`confirm=true`; nothing is imported while any row is bad). Deleting is the GDPR erasure: past
deliveries stay, pseudonymous.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Body, HTTPException, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from service.accounts.permissions import PROTECTED_RESPONSES, RecipientsRead, RecipientsWrite
from service.api.deps import LibraryDep, SessionDep
from service.api.errors import ProblemException, query_problem
from service.api.idempotency import Idempotent, json_response
from service.api.json_body import LimitedJSONRoute
from service.recipients.crud import (
    RECIPIENT_EXAMPLE,
    RecipientIn,
    create_recipient,
    get_recipient,
    recipient_dict,
    update_recipient,
)
from service.recipients.csv_import import read_recipients
from service.recipients.models import RecipientRecord
from service.recipients.register import ImportReport, RecipientNotFound, forget_person
from service.recipients.register import import_recipients as run_import
from service.workflow.api_schemas import PAGE_MAX, BadCursor, decode_cursor, encode_cursor

router = APIRouter(
    prefix="/api/v1/recipients",
    tags=["recipients"],
    route_class=LimitedJSONRoute,
    responses=PROTECTED_RESPONSES,
)
RecipientId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the recipient's id")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no recipient has this id"}}
CSV_EXAMPLE = (
    "external_id;name;phone;email;languages;audiences;areas\r\n"
    "hr-4711;Anna Andersson;070-123 45 67;;sv;general-public;skultuna\r\n"
)


class RecipientOut(BaseModel):
    """One person or function in the register."""

    id: int
    external_id: str | None
    name: str
    phone: str | None = Field(description="E.164")
    email: str | None
    languages: list[str]
    audiences: list[str]
    areas: list[str]
    groups: list[str]
    legal_basis: str
    active: bool
    created_at: datetime
    updated_at: datetime


class RecipientPage(BaseModel):
    """One page of the register, by id; `next_cursor` fetches the next."""

    items: list[RecipientOut]
    next_cursor: str | None


class ImportReportOut(BaseModel):
    """What an import did, or (dry run) would do; lines refer to the file."""

    confirmed: bool
    written: bool = Field(description="the register was changed")
    created: list[int] = Field(description="lines that add a recipient")
    updated: list[dict[str, Any]] = Field(description="{line, fields} that change")
    unchanged: list[int]
    without_external_id: int
    not_in_file: int = Field(description="recipients in the register that the file lacks")
    errors: list[dict[str, Any]] = Field(description="{line, message}: bad rows")
    lines: list[str] = Field(description="the report as `klarvarsel recipients import` prints it")


def _out(row: RecipientRecord) -> dict[str, Any]:
    return RecipientOut.model_validate(recipient_dict(row)).model_dump(mode="json")


def _found(session: SessionDep, recipient_id: int) -> RecipientRecord:
    try:
        return get_recipient(session, recipient_id)
    except RecipientNotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("", operation_id="list_recipients", response_model=RecipientPage)
def list_recipients(
    session: SessionDep,
    _who: RecipientsRead,
    area: Annotated[str | None, Query(max_length=64, description="in this area")] = None,
    audience: Annotated[str | None, Query(max_length=64)] = None,
    group: Annotated[str | None, Query(max_length=100)] = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 50,
    cursor: Annotated[str | None, Query(max_length=200, description="a page's next_cursor")] = None,
) -> dict[str, Any]:
    """The register, a page at a time, in the order recipients were added."""
    try:
        after = decode_cursor(cursor) if cursor is not None else 0
    except BadCursor as exc:
        raise query_problem("cursor", str(exc)) from None
    query = sa.select(RecipientRecord).where(RecipientRecord.id > after)
    if active is not None:
        query = query.where(RecipientRecord.active.is_(active))
    query = query.order_by(RecipientRecord.id).execution_options(yield_per=500)
    rows: list[RecipientRecord] = []
    # List filters run here rather than in SQL: JSON arrays query differently on each database.
    for row in session.scalars(query):
        if area is not None and area not in row.areas:
            continue
        if audience is not None and audience not in row.audiences:
            continue
        if group is not None and group not in row.groups:
            continue
        rows.append(row)
        if len(rows) > limit:
            break
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [_out(r) for r in rows],
        "next_cursor": encode_cursor(rows[-1].id) if more else None,
    }


@router.post(
    "",
    operation_id="create_recipient",
    status_code=201,
    response_model=RecipientOut,
    responses={201: {"description": "created; Location names it"}},
)
def create(
    body: Annotated[RecipientIn, Body(examples=[RECIPIENT_EXAMPLE])],
    library: LibraryDep,
    session: SessionDep,
    principal: RecipientsWrite,
    idempotent: Idempotent,
) -> Response:
    """Add a person or function (every problem named with its field)."""

    def work() -> Response:
        row = create_recipient(
            session, body, library, actor=principal.actor, source=principal.source
        )
        return json_response(_out(row), 201, location=f"/api/v1/recipients/{row.id}")

    return idempotent.run(session, principal, work)


@router.get(
    "/{recipient_id:int}",
    operation_id="get_recipient",
    response_model=RecipientOut,
    responses=NOT_FOUND,
)
def read(recipient_id: RecipientId, session: SessionDep, _who: RecipientsRead) -> dict[str, Any]:
    """One recipient."""
    return _out(_found(session, recipient_id))


@router.put(
    "/{recipient_id:int}",
    operation_id="update_recipient",
    response_model=RecipientOut,
    responses=NOT_FOUND,
)
def replace(
    recipient_id: RecipientId,
    body: Annotated[RecipientIn, Body(examples=[RECIPIENT_EXAMPLE])],
    library: LibraryDep,
    session: SessionDep,
    principal: RecipientsWrite,
) -> dict[str, Any]:
    """Replace a recipient's details."""
    row = _found(session, recipient_id)
    update_recipient(session, row, body, library, actor=principal.actor, source=principal.source)
    out = _out(row)
    session.commit()
    return out


@router.delete("/{recipient_id:int}", operation_id="delete_recipient", responses=NOT_FOUND)
def delete(
    recipient_id: RecipientId, session: SessionDep, principal: RecipientsWrite
) -> dict[str, int]:
    """Delete a person for good (GDPR erasure); past deliveries stay, without address."""
    _found(session, recipient_id)
    kept = forget_person(session, recipient_id, actor=principal.actor)
    session.commit()
    return {"deleted": recipient_id, "deliveries_kept_pseudonymous": kept}


def _report(report: ImportReport) -> dict[str, Any]:
    return ImportReportOut(
        confirmed=report.confirmed,
        written=report.written,
        created=report.created,
        updated=[{"line": line, "fields": list(fields)} for line, fields in report.updated],
        unchanged=report.unchanged,
        without_external_id=report.without_external_id,
        not_in_file=report.not_in_file,
        errors=[{"line": e.line, "message": e.message} for e in report.errors],
        lines=report.lines(),
    ).model_dump(mode="json")


@router.post(
    "/import",
    operation_id="import_recipients",
    response_model=ImportReportOut,
    responses={422: {"description": "bad rows: the report, and a problem per row"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "CSV as Excel writes it (UTF-8, `;` or `,`; README 'Recipients')",
            "content": {"text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE}},
        }
    },
)
async def import_csv(
    request: Request,
    library: LibraryDep,
    session: SessionDep,
    principal: RecipientsWrite,
    idempotent: Idempotent,
    confirm: Annotated[bool, Query(description="write; without it, a dry run")] = False,
) -> Response:
    """Import a CSV: the same report as the command; a dry run unless `confirm=true`."""
    data = await request.body()

    def work() -> Response:
        result = read_recipients(data, library.languages, library.audiences, library.areas)
        report = run_import(session, result, confirm=confirm, actor=principal.actor)
        if report.errors:
            raise ProblemException(
                422,
                "invalid-import",
                f"{len(report.errors)} bad rows; nothing was imported",
                problems=[
                    {"location": f"line {e.line}", "message": e.message} for e in report.errors
                ],
                report=_report(report),
            )
        return json_response(_report(report))

    return await run_in_threadpool(idempotent.run, session, principal, work)
