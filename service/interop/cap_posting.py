"""`POST /api/v1/cap`: a posted CAP message becomes a draft notice in the workflow.

The message is imported as the CLI does (`import_cap`: refused if hostile or invalid, mapped to
the closest scenario, the original kept in `cap_imports`), and a workflow draft is created from
the mapped notice under the caller's name, so it is reviewed, approved and sent like any other.
The same message posted again (same sender, identifier and bytes) answers 200 with the draft it
made the first time. An Update or Cancel draft is linked to the thread of the notice it follows.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from service.accounts.principal import Principal
from service.api.problems import byte_count, problem_response
from service.config import Settings
from service.content import ContentLibrary
from service.interop.capmodel import CAP_MIME_TYPE
from service.interop.imports import CapConflict, CapImportResult, import_cap
from service.interop.mapping import CapNotImportable
from service.interop.models import CapImport
from service.interop.safe_xml import MAX_CAP_BYTES, UnsafeXml
from service.interop.validation import CapInvalid
from service.notices.publish import find_by_code
from service.workflow.drafts import create_draft
from service.workflow.schemas import Actor, NotAllowed

ACCEPTED_TYPES = (CAP_MIME_TYPE, "application/xml", "text/xml")
CAP_EXAMPLE = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>2.49.0.1.752.0.SE.SMHI.20270112130000.WIND.1980</identifier>
  <sender>opendata@smhi.se</sender>
  <sent>2027-01-12T13:00:00+01:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>sv-SE</language>
    <category>Met</category>
    <event>Vind</event>
    <urgency>Expected</urgency>
    <severity>Severe</severity>
    <certainty>Likely</certainty>
    <headline>Orange varning för vind i Västerås kommun</headline>
    <area><areaDesc>Västerås kommun</areaDesc></area>
  </info>
</alert>
"""


class PostedCap(BaseModel):
    """A posted CAP message: its import, the draft notice made from it, and what to check."""

    import_id: int
    repeat: bool
    sender: str
    identifier: str
    notice_code: str | None
    notice_status: str | None
    scenario: str
    match_reason: str
    references_code: str | None
    references_import_id: int | None
    notes: list[str]
    problems: list[str]
    notice: dict[str, Any]


def media_type_problem(content_type: str) -> Response | None:
    """415 unless the body is declared CAP (or plain XML)."""
    declared = content_type.split(";", 1)[0].strip().lower()
    if declared in ACCEPTED_TYPES:
        return None
    return problem_response(
        415,
        "unsupported-media-type",
        "Send application/cap+xml",
        f"the body is declared {declared or 'as nothing'}; send one CAP 1.2 alert as "
        f"{CAP_MIME_TYPE}",
        accepted=list(ACCEPTED_TYPES),
    )


def _described(record: CapImport, repeat: bool, session: Session) -> PostedCap:
    draft = find_by_code(session, record.notice_code) if record.notice_code else None
    return PostedCap(
        import_id=record.id,
        repeat=repeat,
        sender=record.sender,
        identifier=record.identifier,
        notice_code=record.notice_code,
        notice_status=draft.status if draft is not None else None,
        scenario=record.scenario,
        match_reason=record.match_reason,
        references_code=record.references_code,
        references_import_id=record.references_import_id,
        notes=list(record.notes),
        problems=list(record.problems),
        notice=dict(record.notice),
    )


def _draft(
    session: Session, result: CapImportResult, library: ContentLibrary, principal: Principal
) -> None:
    actor = Actor(principal.actor, "cap", principal.is_test, principal.address)
    record = result.record
    draft = create_draft(session, dict(record.notice), library, actor, complete=False)
    followed = find_by_code(session, record.references_code) if record.references_code else None
    if followed is not None:  # the thread's first notice, as follow_up links it
        draft.references_id = followed.references_id or followed.id
    record.notice_code = draft.code


def post_cap(
    session: Session,
    data: bytes,
    library: ContentLibrary,
    settings: Settings,
    principal: Principal,
) -> Response:
    """Import `data` and make its draft; a problem+json response says why not."""
    if len(data) > MAX_CAP_BYTES:
        return problem_response(
            413,
            "body-too-large",
            "CAP message too large",
            f"the message is {byte_count(len(data))}; at most {byte_count(MAX_CAP_BYTES)}",
            limit_bytes=MAX_CAP_BYTES,
            received_bytes=len(data),
        )
    try:
        result = import_cap(
            session, data, library, settings, actor=principal.actor, source=principal.source
        )
        mode = str(result.record.notice.get("mode", "actual"))
        if not principal.may_touch_mode(mode):
            session.rollback()  # nothing of the import stays
            return problem_response(
                403,
                "test-key",
                "Not allowed for a test key",
                f"a test key may only use exercise and test notices, not {mode} ones",
            )
        if not result.repeat:
            _draft(session, result, library, principal)
    except UnsafeXml as exc:
        return problem_response(400, "unsafe-xml", "XML refused", str(exc))
    except CapInvalid as exc:
        problems = [{"location": p.location, "message": p.message} for p in exc.problems]
        detail = f"not valid CAP 1.2: {len(problems)} problem(s); nothing imported"
        return problem_response(422, "cap-invalid", "Invalid CAP", detail, problems=problems)
    except CapConflict as exc:
        return problem_response(409, "cap-conflict", "Identifier already used", str(exc))
    except CapNotImportable as exc:
        return problem_response(422, "cap-not-importable", "Not importable", str(exc))
    except NotAllowed as exc:
        session.rollback()  # nothing of the import stays
        return problem_response(403, "not-allowed", "Not allowed", exc.message)
    body = _described(result.record, result.repeat, session).model_dump(mode="json")
    status = 200 if result.repeat else 201
    headers = {"Location": f"/api/v1/notices/{body['notice_code']}"} if body["notice_code"] else {}
    return JSONResponse(body, status_code=status, headers=headers)
