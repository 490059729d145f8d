"""Submit, approve (four eyes), send now or at a time, call off, discard, follow up, retry.

Each POST calls one workflow step and redirects (POST-redirect-GET): the back button shows a
page, never a resend. Sending is the workflow's conditional release, so a double click or a
second tab sends once; the form also carries the approval it was shown for, so a send page
left open while someone edited the notice sends nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from babel.numbers import format_decimal
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from service.accounts.principal import Principal
from service.api.deps import LibraryDep, SessionDep
from service.clock import utcnow
from service.config import get_settings
from service.content import ContentLibrary
from service.delivery.requeue import retry_failed
from service.notices.models import NoticeRecord, NoticeState
from service.notices.service import NoticeInvalid
from service.web.layout import render_staff, staff_language
from service.web.notices.deps import Approver, FormData, Sender, Writer, actor_of, notice_or_404
from service.web.notices.display import BABEL_LOCALES, in_language
from service.workflow.approval import Impact, Review, approve, may_approve, review
from service.workflow.drafts import discard, follow_up, submit
from service.workflow.schemas import (
    ApprovalWithdrawn,
    ChecksNotAccepted,
    WorkflowError,
    WrongState,
)
from service.workflow.sending import send

router = APIRouter(tags=["pages"])


def _to(code: str, done: str, session: Session | None = None) -> RedirectResponse:
    """To the notice's page, saying what happened; commits first, so that page sees it."""
    if session is not None:
        session.commit()
    return RedirectResponse(f"/notices/{code}?done={done}", status_code=303)


def _field(form: list[tuple[str, str]], name: str) -> str:
    return next((v.strip() for k, v in form if k == name), "")


def release_token(record: NoticeRecord) -> str:
    """What the send form was shown for: the approval, or (unapproved exercises) the last edit."""
    if record.approval_fingerprint:
        return record.approval_fingerprint
    return record.updated_at.isoformat() if record.updated_at else ""


def impact_words(impact: Impact, language: str) -> dict[str, Any]:
    """The impact's figures formatted for the page language (4 812 / 4,812)."""
    locale = BABEL_LOCALES[language]
    by_channel = impact.messages_by_channel

    def number(value: int) -> str:
        return format_decimal(value, locale=locale)

    return {
        "sms": number(by_channel.get("sms", 0)),
        "email": number(by_channel.get("email", 0)),
        "print": number(by_channel.get("print", 0)),
        "people": number(impact.recipients),
        "unreachable": number(impact.unreachable),
        "areas": ", ".join(impact.areas),
        "cost": format_decimal(impact.cost_sek, format="#,##0.00", locale=locale),
        "failed": impact.failed_checks,
        "mode": impact.mode,
    }


@router.post("/notices/{code}/submit", include_in_schema=False, operation_id="notice_submit")
def submit_notice(
    code: str, principal: Writer, session: SessionDep, library: LibraryDep
) -> Response:
    """Ask for approval (the draft must be complete)."""
    record = notice_or_404(session, code)
    try:
        submit(session, record, library, actor_of(principal))
    except NoticeInvalid:
        return RedirectResponse(f"/notices/{record.code}/edit?saved=1", status_code=303)
    except WorkflowError:
        return _to(record.code, "not-submitted", session)
    return _to(record.code, "submitted", session)


@router.get(
    "/notices/{code}/approve",
    response_class=HTMLResponse,
    include_in_schema=False,
    operation_id="approve_page",
)
def approve_page(
    code: str, request: Request, principal: Approver, session: SessionDep, library: LibraryDep
) -> Response:
    """What approving means, in words, and the button (never for one's own actual alert)."""
    record = notice_or_404(session, code)
    if record.status not in (NoticeState.draft, NoticeState.submitted):
        return _to(record.code, "not-approvable")
    return _approve_page(request, principal, session, library, record)


def _approve_page(
    request: Request,
    principal: Principal,
    session: Session,
    library: ContentLibrary,
    record: NoticeRecord,
    *,
    unticked: bool = False,
) -> Response:
    settings = get_settings()
    try:
        seen = review(session, record, library, settings, utcnow())
    except NoticeInvalid:
        return RedirectResponse(f"/notices/{record.code}/preview", status_code=303)
    language = staff_language(request)
    return render_staff(
        request,
        principal,
        "approve.html",
        status_code=400 if unticked else 200,
        record=record,
        allowed=may_approve(record, actor_of(principal), settings),
        impact=impact_words(seen.impact, language),
        warnings=seen.impact.warnings,
        failed_checks=failed_checks(seen, library, language),
        unticked=unticked,
    )


def failed_checks(seen: Review, library: ContentLibrary, language: str) -> list[dict[str, str]]:
    """Each failed check as the approver needs it: who, which language and version, why."""
    rows = []
    for check in seen.report.checks:
        if check.passed:
            continue
        key = check.variant.key
        errors = [f.message for f in check.findings if f.severity == "error"]
        rows.append(
            {
                "audience": in_language(check.audience.name, language, check.audience.id),
                "audience_id": check.audience.id,
                "language": key.language,
                "channel": key.channel.value,
                "why": errors[0] if errors else "",
            }
        )
    return rows


@router.post("/notices/{code}/approve", include_in_schema=False, operation_id="notice_approve")
def approve_notice(
    code: str,
    request: Request,
    principal: Approver,
    session: SessionDep,
    library: LibraryDep,
    form: FormData,
) -> Response:
    """Approve the notice as it is now; then on to sending."""
    record = notice_or_404(session, code)
    ticked = _field(form, "accept_failed_checks") == "yes"
    try:
        approve(
            session,
            record,
            library,
            get_settings(),
            actor_of(principal),
            accept_failed_checks=ticked,
        )
    except NoticeInvalid:
        return RedirectResponse(f"/notices/{record.code}/preview", status_code=303)
    except ChecksNotAccepted:
        # Back to the form, saying what is missing, with the failed checks listed.
        return _approve_page(request, principal, session, library, record, unticked=True)
    except WorkflowError as exc:
        if exc.status == 403:
            raise HTTPException(403, exc.message) from None
        return _to(record.code, "not-approved", session)
    session.commit()
    return RedirectResponse(f"/notices/{record.code}/send", status_code=303)


def _sendable(record: NoticeRecord) -> bool:
    if record.status in (NoticeState.approved, NoticeState.scheduled):
        return True
    return record.mode != "actual" and record.status in (NoticeState.draft, NoticeState.submitted)


@router.get(
    "/notices/{code}/send",
    response_class=HTMLResponse,
    include_in_schema=False,
    operation_id="send_page",
)
def send_page(
    code: str, request: Request, principal: Sender, session: SessionDep, library: LibraryDep
) -> Response:
    """The impact to confirm, and sending now or at a set time."""
    record = notice_or_404(session, code)
    if not _sendable(record):
        return _to(record.code, "not-sendable")
    try:
        seen = review(session, record, library, get_settings(), utcnow())
    except NoticeInvalid:
        return RedirectResponse(f"/notices/{record.code}/preview", status_code=303)
    return render_staff(
        request,
        principal,
        "send.html",
        record=record,
        impact=impact_words(seen.impact, staff_language(request)),
        token=release_token(record),
    )


def _send_time(form: list[tuple[str, str]], library: Any) -> datetime | None:
    if _field(form, "when") != "later":
        return None
    date, time = _field(form, "send_date"), _field(form, "send_time").replace(".", ":")
    try:
        at = datetime.fromisoformat(f"{date}T{time}")
    except ValueError:
        raise HTTPException(422, "write the date as 2026-11-23 and the time as 14:30") from None
    return at.replace(tzinfo=library.timezone)


@router.post("/notices/{code}/send", include_in_schema=False, operation_id="notice_send")
def send_notice(
    code: str, principal: Sender, session: SessionDep, library: LibraryDep, form: FormData
) -> Response:
    """Send now, or schedule; a repeated request finds it sent and says so."""
    record = notice_or_404(session, code)
    if record.status == NoticeState.sent:
        return _to(record.code, "already-sent", session)
    if _field(form, "token") != release_token(record):
        return _to(record.code, "changed", session)  # the page was shown for another version
    at = _send_time(form, library)
    try:
        result = send(session, record, library, get_settings(), actor_of(principal), at=at)
    except ApprovalWithdrawn:
        return _to(record.code, "withdrawn", session)
    except WrongState:
        session.rollback()
        return _to(record.code, "already-sent", session)
    except (WorkflowError, NoticeInvalid):
        session.rollback()
        return _to(record.code, "not-sent", session)
    return _to(
        record.code, "scheduled" if result.status == NoticeState.scheduled else "sent", session
    )


@router.post("/notices/{code}/discard", include_in_schema=False, operation_id="notice_discard")
def discard_notice(
    code: str, request: Request, principal: Writer, session: SessionDep, form: FormData
) -> Response:
    """Discard a notice that was never sent, once the person has said yes on the page asked."""
    record = notice_or_404(session, code)
    if record.status not in (NoticeState.draft, NoticeState.submitted, NoticeState.approved):
        return _to(record.code, "not-discarded", session)
    if _field(form, "confirm") != "yes":
        # The button sits beside "ask for approval": one click must not throw the draft away.
        return render_staff(request, principal, "discard.html", record=record)
    try:
        discard(session, record, actor_of(principal))
    except WorkflowError:
        return _to(record.code, "not-discarded", session)
    return _to(record.code, "discarded", session)


@router.post("/notices/{code}/call-off", include_in_schema=False, operation_id="notice_call_off")
def call_off(code: str, principal: Sender, session: SessionDep) -> Response:
    """Call off a scheduled send before its time (the notice is discarded, nothing sent)."""
    record = notice_or_404(session, code)
    if record.status != NoticeState.scheduled:
        return _to(record.code, "not-scheduled", session)
    discard(session, record, actor_of(principal))
    return _to(record.code, "called-off", session)


@router.post("/notices/{code}/retry", include_in_schema=False, operation_id="notice_retry")
def retry_notice(code: str, principal: Sender, session: SessionDep) -> Response:
    """Send again the deliveries that failed for a reason retrying can mend (as the CLI does).

    A second click finds them planned again and re-queues nothing, and says so.
    """
    record = notice_or_404(session, code)
    if record.status != NoticeState.sent:
        return _to(record.code, "not-retried", session)
    count = retry_failed(
        session, record, get_settings(), actor=principal.actor, source=principal.source
    )
    return _to(record.code, "retried" if count else "nothing-to-retry", session)


@router.post("/notices/{code}/follow-up", include_in_schema=False, operation_id="notice_follow_up")
def start_follow_up(code: str, principal: Writer, session: SessionDep, form: FormData) -> Response:
    """Start an update, all-clear or cancel of a sent notice: compose opens prefilled."""
    record = notice_or_404(session, code)
    try:
        draft = follow_up(session, record, _field(form, "kind"), actor_of(principal))
    except WorkflowError:
        return _to(record.code, "no-follow-up", session)
    session.commit()
    return RedirectResponse(f"/notices/{draft.code}/edit", status_code=303)
