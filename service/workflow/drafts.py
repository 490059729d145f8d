"""Drafts: creating, editing, submitting for approval, discarding, and follow-ups.

A draft gets its public code when it is created, so every preview of it shows the link its
SMS will carry. A draft may be incomplete (the web form saves work in progress); the problems
are shown until they are fixed, and nothing incomplete can be approved or sent. Editing a
notice that was submitted, approved or scheduled puts it back to draft: what was approved is
no longer what would be sent.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.orm import Session

from service.audit.service import record
from service.clock import utcnow
from service.content import ContentLibrary
from service.notices.models import NoticeRecord, NoticeState
from service.notices.publish import CODE_ALPHABET, CODE_LENGTH, find_by_code, reference_lookup
from service.notices.service import Notice, NoticeInvalid, NoticeProblem, validate_notice
from service.webhooks.events import emit_notice
from service.workflow.schemas import EDITABLE, Actor, NotAllowed, WrongState

_NOT_CONTENT = ("sent_at",)  # set when the notice is sent, never by the author


def _random_code(session: Session) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if find_by_code(session, code) is None:
            return code


def check(session: Session, raw: dict[str, Any], library: ContentLibrary) -> Notice:
    """The validated notice, with its references checked against the sent notices."""
    return validate_notice(raw, library, references=reference_lookup(session))


def problems_of(
    session: Session, record: NoticeRecord, library: ContentLibrary
) -> list[NoticeProblem]:
    """What is still wrong with a draft (empty when it could be approved)."""
    try:
        check(session, record.payload, library)
    except NoticeInvalid as exc:
        return exc.problems
    return []


def _mode_guard(raw: dict[str, Any], actor: Actor, before: str | None = None) -> None:
    mode = str(raw.get("mode", "actual"))
    if actor.is_test and mode == "actual":
        raise NotAllowed("a test key may only write exercise and test notices")
    if before is not None and before != "actual" and mode == "actual":
        # An exercise that became real by an edit would reach everyone with exercise text.
        raise NotAllowed(
            f"this is a {before} notice; it can never become an actual alert. Write a new alert"
        )


def _clean(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if k not in _NOT_CONTENT}


def _columns(record: NoticeRecord, raw: dict[str, Any]) -> None:
    record.scenario = str(raw.get("scenario", ""))[:64]
    record.message_type = str(raw.get("message_type", "alert"))[:16]
    record.mode = str(raw.get("mode", "actual"))[:16]


def create_draft(
    session: Session,
    raw: dict[str, Any],
    library: ContentLibrary,
    actor: Actor,
    *,
    complete: bool,
) -> NoticeRecord:
    """Store a new draft; with `complete`, refuse it (NoticeInvalid) unless it is valid."""
    _mode_guard(raw, actor)
    raw = _clean(raw)
    if complete:
        check(session, raw, library)
    now = utcnow()
    draft = NoticeRecord(
        code=_random_code(session),
        status=NoticeState.draft,
        payload=raw,
        created_by=actor.name,
        source=actor.source,
        outbox_only=actor.is_test,
        updated_at=now,
        updated_by=actor.name,
    )
    _columns(draft, raw)
    session.add(draft)
    session.flush()
    _audit(session, draft, actor, "notice.draft_created")
    return draft


def update_draft(
    session: Session,
    draft: NoticeRecord,
    raw: dict[str, Any],
    library: ContentLibrary,
    actor: Actor,
    *,
    complete: bool,
) -> NoticeRecord:
    """Replace a draft's content; a submitted, approved or scheduled notice goes back to draft."""
    if draft.status not in EDITABLE:
        raise WrongState(f"{draft.code} is {draft.status} and can no longer be edited")
    _mode_guard(raw, actor, before=draft.mode if draft.mode != "actual" else None)
    raw = _clean(raw)
    if complete:
        check(session, raw, library)
    withdrawn = draft.status != NoticeState.draft
    draft.payload = raw
    _columns(draft, raw)
    _back_to_draft(draft)
    draft.updated_at, draft.updated_by = utcnow(), actor.name
    _audit(session, draft, actor, "notice.draft_updated", {"approval_withdrawn": withdrawn})
    return draft


def _back_to_draft(draft: NoticeRecord) -> None:
    draft.status = NoticeState.draft
    draft.submitted_at = draft.approved_at = draft.approved_by = None
    draft.approval_fingerprint = None
    draft.self_approved = False
    draft.send_at = None


def submit(
    session: Session, draft: NoticeRecord, library: ContentLibrary, actor: Actor
) -> NoticeRecord:
    """Ask for approval: the draft must be complete (every problem fixed)."""
    if draft.status != NoticeState.draft:
        raise WrongState(f"{draft.code} is {draft.status}; only a draft can be submitted")
    check(session, draft.payload, library)
    draft.status = NoticeState.submitted
    draft.submitted_at = utcnow()
    _audit(session, draft, actor, "notice.submitted")
    return draft


def withdraw(session: Session, notice: NoticeRecord, actor: Actor, reason: str) -> None:
    """Put a submitted, approved or scheduled notice back to draft, saying why (audited)."""
    if notice.status not in EDITABLE or notice.status == NoticeState.draft:
        return
    _back_to_draft(notice)
    notice.updated_at, notice.updated_by = utcnow(), actor.name
    _audit(session, notice, actor, "notice.approval_withdrawn", {"reason": reason})


def discard(session: Session, notice: NoticeRecord, actor: Actor) -> NoticeRecord:
    """Discard a notice that was never sent (a scheduled send is called off)."""
    if notice.status not in EDITABLE:
        raise WrongState(
            f"{notice.code} is {notice.status}; only an unsent notice can be discarded"
        )
    was = notice.status
    notice.status = NoticeState.cancelled
    notice.cancelled_at, notice.cancelled_by = utcnow(), actor.name
    _audit(session, notice, actor, "notice.discarded", {"was": was})
    return notice


def follow_up(
    session: Session, sent: NoticeRecord, message_type: str, actor: Actor
) -> NoticeRecord:
    """A new draft that updates, gives the all-clear for, or cancels a sent notice.

    It starts from the sent notice's content (an all-clear or cancel without its note) and
    references the first notice of its thread, so the public page shows them in order.
    """
    if sent.status != NoticeState.sent:
        raise WrongState(f"{sent.code} has not been sent; edit the draft instead")
    if message_type not in ("update", "all_clear", "cancel"):
        raise WrongState(f"a follow-up is an update, all_clear or cancel, not {message_type!r}")
    first = session.get(NoticeRecord, sent.references_id) if sent.references_id else sent
    raw = _clean(dict(sent.payload))
    raw.update(message_type=message_type, references=(first or sent).code)
    if message_type != "update":
        # The note told people what to do while it lasted ("bring your own cans"): an all-clear
        # or a cancel that repeated it would tell them to go on doing it.
        raw.pop("note", None)
    _mode_guard(raw, actor)
    draft = NoticeRecord(
        code=_random_code(session),
        status=NoticeState.draft,
        payload=raw,
        created_by=actor.name,
        source=actor.source,
        outbox_only=sent.outbox_only or actor.is_test,
        updated_at=utcnow(),
        updated_by=actor.name,
        references_id=(first or sent).id,
    )
    _columns(draft, raw)
    session.add(draft)
    session.flush()
    _audit(session, draft, actor, "notice.draft_created", {"follows": sent.code})
    return draft


def _audit(
    session: Session,
    notice: NoticeRecord,
    actor: Actor,
    action: str,
    details: dict[str, Any] | None = None,
) -> None:
    record(
        session,
        actor=actor.name,
        action=action,
        subject_type="notice",
        subject_id=notice.id,
        source=f"{actor.source} {actor.address}".strip(),
        details={"code": notice.code, "status": notice.status, **(details or {})},
    )
    emit_notice(session, action, notice, details or {})  # webhooks, in the same transaction
