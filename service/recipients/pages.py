"""The register in the web app: search, edit, GDPR access and erasure, and CSV import.

Reading needs recipients:read, changing recipients:write (admins). The import is checked first
(a dry run is the default) and writes nothing while any line is bad, as on the command line.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from service.accounts.admin_render import first, form_lists, render_admin, with_language
from service.accounts.csrf import MULTIPART_MAX_FIELDS, MULTIPART_MAX_FILES
from service.accounts.page_permissions import PageRecipientsRead, PageRecipientsWrite
from service.accounts.pages import page_language
from service.accounts.principal import Principal
from service.accounts.roles import Scope
from service.api.deps import LibraryDep, SessionDep
from service.api.limits import body_limit
from service.config import get_settings
from service.content import ContentLibrary
from service.recipients.areas import load_areas
from service.recipients.csv_import import read_recipients
from service.recipients.editing import (
    FORM_FIELDS,
    form_values,
    save_recipient,
    search_recipients,
)
from service.recipients.models import RecipientRecord
from service.recipients.register import (
    RecipientNotFound,
    export_person,
    export_recipients,
    forget_person,
    import_recipients,
)

router = APIRouter(prefix="/admin/recipients", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def recipients_page(
    request: Request, principal: PageRecipientsRead, session: SessionDep
) -> HTMLResponse:
    """Search the register by name, e-mail, phone or external id; filter by group and area."""
    query = {k: request.query_params.get(k, "")[:100] for k in ("q", "group", "area")}
    searched = any(query.values())
    rows, total = search_recipients(session, query["q"], group=query["group"], area=query["area"])
    return render_admin(
        request,
        "recipients/search.html",
        principal,
        current="/admin/recipients",
        query=query,
        searched=searched,
        rows=rows,
        total=total,
        may_write=_may_write(principal),
        done=request.query_params.get("done", "")[:20],
        who=request.query_params.get("who", "")[:20],
    )


def _may_write(principal: Principal) -> bool:
    return principal.has(Scope.recipients_write)


@router.get("/export.csv")
def export_csv(principal: PageRecipientsRead, session: SessionDep) -> Response:
    """The whole register as CSV for Excel (audited: it is personal data)."""
    data = export_recipients(session, actor=principal.actor)
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="recipients.csv"',
            "Cache-Control": "no-store",
        },
    )


def _import_page(request: Request, principal: Principal, **context: Any) -> HTMLResponse:
    context.setdefault("errors", [])
    context.setdefault("report", None)
    context.setdefault("mode", "check")
    limit = body_limit(get_settings(), "/admin/recipients/import")
    return render_admin(
        request,
        "recipients/import.html",
        principal,
        current="/admin/recipients",
        limit_mb=f"{limit / 1024 / 1024:.0f}",
        **context,
    )


@router.get("/import", response_class=HTMLResponse)
def import_page(request: Request, principal: PageRecipientsWrite) -> HTMLResponse:
    """The form to check and import a CSV file."""
    return _import_page(request, principal)


@router.post("/import", response_class=HTMLResponse)
async def import_file(
    request: Request,
    principal: PageRecipientsWrite,
    session: SessionDep,
    library: LibraryDep,
) -> HTMLResponse:
    """Check a CSV (dry run), or import it when asked to and no line is bad."""
    form = await request.form(max_files=MULTIPART_MAX_FILES, max_fields=MULTIPART_MAX_FIELDS)
    mode = "import" if form.get("mode") == "import" else "check"
    upload = form.get("file")
    data = await upload.read() if isinstance(upload, UploadFile) else b""
    if not data:
        errors = [{"field": "file", "code": "file_missing", "text": "", "params": {}}]
        return _import_page(request, principal, status_code=400, errors=errors, mode=mode)
    report = await run_in_threadpool(_check_and_import, session, library, data, mode, principal)
    status = 400 if report.errors else 200
    errors = [
        {"field": "file", "code": "row", "text": e.message, "params": {"line": e.line}}
        for e in report.errors
    ]
    return _import_page(
        request, principal, status_code=status, errors=errors, report=report, mode=mode
    )


def _check_and_import(
    session: Session, library: ContentLibrary, data: bytes, mode: str, principal: Principal
) -> Any:
    areas = load_areas(get_settings().areas_file)
    result = read_recipients(data, library.languages, library.audiences, areas)
    return import_recipients(session, result, confirm=mode == "import", actor=principal.actor)


def _recipient(session: Session, recipient_id: int) -> RecipientRecord:
    row = session.get(RecipientRecord, recipient_id)
    if row is None:
        raise HTTPException(404, f"no recipient has the id {recipient_id}")
    return row


def _recipient_page(
    request: Request, session: Session, principal: Principal, row: RecipientRecord, **context: Any
) -> HTMLResponse:
    context.setdefault("errors", [])
    context.setdefault("form", form_values(row))
    person = export_person(session, row.id)  # what the service holds (not audited: on screen)
    return render_admin(
        request,
        "recipients/recipient.html",
        principal,
        current="/admin/recipients",
        row=row,
        deliveries=person["deliveries"],
        may_write=_may_write(principal),
        done=request.query_params.get("done", "")[:20],
        **context,
    )


@router.get("/{recipient_id}", response_class=HTMLResponse)
def recipient_page(
    request: Request, recipient_id: int, principal: PageRecipientsRead, session: SessionDep
) -> HTMLResponse:
    """One person: everything the register holds and their deliveries; the edit form."""
    return _recipient_page(request, session, principal, _recipient(session, recipient_id))


@router.post("/{recipient_id}", response_model=None)
async def edit_recipient(
    request: Request,
    recipient_id: int,
    principal: PageRecipientsWrite,
    session: SessionDep,
    library: LibraryDep,
) -> HTMLResponse | RedirectResponse:
    """Save changes, checked like an imported line; every problem is shown at once."""
    row = _recipient(session, recipient_id)
    form = await form_lists(request)
    fields = {name: first(form, name, 1000) for name in FORM_FIELDS}
    fields["active"] = "yes" if first(form, "active") == "yes" else "no"
    problems = save_recipient(
        session, row, fields, library, actor=principal.actor, source=principal.source
    )
    if problems:
        errors = [
            {"field": field, "code": "service", "text": text, "params": {}}
            for field, text in problems
        ]
        return _recipient_page(
            request, session, principal, row, status_code=400, errors=errors, form=fields
        )
    target = with_language(f"/admin/recipients/{recipient_id}?done=saved", page_language(request))
    return RedirectResponse(target, status_code=303)


@router.get("/{recipient_id}/export.json")
def export_json(recipient_id: int, principal: PageRecipientsRead, session: SessionDep) -> Response:
    """Everything held about one person as JSON (GDPR access; audited)."""
    try:
        person = export_person(session, recipient_id, actor=principal.actor)
    except RecipientNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return Response(
        json.dumps(person, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="recipient-{recipient_id}.json"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/{recipient_id}/forget", response_class=HTMLResponse)
def forget_page(
    request: Request, recipient_id: int, principal: PageRecipientsWrite, session: SessionDep
) -> HTMLResponse:
    """Ask before deleting a person for good."""
    row = _recipient(session, recipient_id)
    return render_admin(
        request, "recipients/forget.html", principal, current="/admin/recipients", row=row
    )


@router.post("/{recipient_id}/forget", response_model=None)
async def forget(
    request: Request, recipient_id: int, principal: PageRecipientsWrite, session: SessionDep
) -> RedirectResponse:
    """Delete the person (GDPR erasure); past deliveries stay without the address."""
    try:
        forget_person(session, recipient_id, actor=principal.actor)
    except RecipientNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    target = f"/admin/recipients?done=forgotten&who={recipient_id}"
    return RedirectResponse(with_language(target, page_language(request)), status_code=303)
