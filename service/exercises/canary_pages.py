"""Test recipients ("canaries") on the Schedules page: add, change and remove them.

A canary's address is personal data (often someone's duty phone): the forms, and the addresses
in the list, need notices:send, as running tests does. Every change is audited with the
person as actor and `web` as source. POST, redirect, GET; errors come back on the form.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from service.accounts.admin_render import first, form_lists, render_admin
from service.accounts.page_permissions import PageNoticesSend
from service.accounts.principal import Principal
from service.api.deps import LibraryDep, SessionDep
from service.content import ContentLibrary
from service.exercises.canaries import (
    ADDRESS_MAX_LENGTH,
    CANARY_CHANNELS,
    LABEL_MAX_LENGTH,
    CanaryInvalid,
    add_canary,
    remove_canary,
    update_canary,
)
from service.exercises.models import CanaryRecord
from service.exercises.pages import Errors, back_to_schedules, form_error

router = APIRouter(prefix="/exercises", include_in_schema=False)
# Read a little past the limits, so a value too long is refused with the reason, not cut.
READ_LIMIT = 1000
FIELDS = ("channel", "address", "label", "language")


def _errors(exc: CanaryInvalid, channel: str) -> Errors:
    errors = []
    for code, problem in zip(exc.codes, exc.problems, strict=True):
        field = problem.split(":", 1)[0]
        if field not in FIELDS or (field == "channel" and channel not in CANARY_CHANNELS):
            field = "channel" if field == "channel" else "address"
        errors.append(form_error(field, f"canary_{code}", problem))
    return errors


def _form_page(
    request: Request,
    principal: Principal,
    library: ContentLibrary,
    form: dict[str, str],
    canary: CanaryRecord | None = None,
    errors: Errors | None = None,
) -> HTMLResponse:
    return render_admin(
        request,
        "exercises/canary_form.html",
        principal,
        status_code=400 if errors else 200,
        current="/exercises/schedules",
        form=form,
        canary=canary,
        errors=errors or [],
        channels=CANARY_CHANNELS,
        tongues=[library.languages[tag] for tag in sorted(library.languages)],
        address_max=ADDRESS_MAX_LENGTH,
        label_max=LABEL_MAX_LENGTH,
    )


def _active(session: Session, canary_id: int) -> CanaryRecord:
    canary = session.get(CanaryRecord, canary_id)
    if canary is None or not canary.active:
        raise HTTPException(404, f"no test recipient has the id {canary_id}")
    return canary


async def _read(request: Request) -> dict[str, str]:
    form = await form_lists(request)
    return {name: first(form, name, READ_LIMIT) for name in FIELDS}


@router.get("/canaries/new", response_class=HTMLResponse)
def new_canary_page(
    request: Request, principal: PageNoticesSend, library: LibraryDep
) -> HTMLResponse:
    """The form for a new test recipient: a duty phone or a shared mailbox."""
    form = {"channel": "sms", "address": "", "label": "", "language": "sv"}
    return _form_page(request, principal, library, form)


@router.post("/canaries", response_model=None)
async def add_canary_form(
    request: Request, principal: PageNoticesSend, session: SessionDep, library: LibraryDep
) -> HTMLResponse | RedirectResponse:
    """Add a test recipient; every problem comes back on the form at once."""
    form = await _read(request)
    try:
        add_canary(
            session,
            library,
            channel=form["channel"],
            address=form["address"],
            label=form["label"],
            language=form["language"] or "sv",
            actor=principal.actor,
            source=principal.source,
        )
    except CanaryInvalid as exc:
        errors = _errors(exc, form["channel"])
        return _form_page(request, principal, library, form, errors=errors)
    return back_to_schedules(request, "canary-added", "canaries")


@router.get("/canaries/{canary_id}/edit", response_class=HTMLResponse)
def edit_canary_page(
    request: Request,
    canary_id: int,
    principal: PageNoticesSend,
    session: SessionDep,
    library: LibraryDep,
) -> HTMLResponse:
    """The form to change a test recipient's address, label or language."""
    canary = _active(session, canary_id)
    form: dict[str, Any] = {
        "channel": canary.channel,
        "address": canary.address,
        "label": canary.label,
        "language": canary.language,
    }
    return _form_page(request, principal, library, form, canary)


@router.post("/canaries/{canary_id}", response_model=None)
async def change_canary_form(
    request: Request,
    canary_id: int,
    principal: PageNoticesSend,
    session: SessionDep,
    library: LibraryDep,
) -> HTMLResponse | RedirectResponse:
    """Save a test recipient's new address, label or language (the channel stays)."""
    canary = _active(session, canary_id)
    form = {**await _read(request), "channel": canary.channel}
    try:
        update_canary(
            session,
            library,
            canary,
            address=form["address"],
            label=form["label"],
            language=form["language"] or "sv",
            actor=principal.actor,
            source=principal.source,
        )
    except CanaryInvalid as exc:  # refused before anything changed
        errors = _errors(exc, canary.channel)
        return _form_page(request, principal, library, form, canary, errors)
    return back_to_schedules(request, "canary-changed", "canaries")


@router.post("/canaries/{canary_id}/remove")
def remove_canary_form(
    request: Request, canary_id: int, principal: PageNoticesSend, session: SessionDep
) -> RedirectResponse:
    """Remove a test recipient (kept inactive, so past reports still name it)."""
    removed = remove_canary(session, canary_id, actor=principal.actor, source=principal.source)
    return back_to_schedules(request, "canary-removed" if removed else "unchanged", "canaries")
