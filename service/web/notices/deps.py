"""Who may use the communicator pages, and small helpers every notice page shares.

The pages are for people, not API keys: each route takes the scope its step needs *and* a
signed-in person (the authorisation matrix checks both; the scope is checked first, so a key
lacking it hears which permission is missing). The API keeps its own routes.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from service.accounts.csrf import FORM_MAX_BYTES
from service.accounts.permissions import (
    NoticesApprove,
    NoticesRead,
    NoticesSend,
    NoticesWrite,
    ReportsRead,
    SignedInPerson,
)
from service.accounts.principal import Principal
from service.notices.models import NoticeRecord
from service.notices.publish import find_by_code
from service.web.notices.form import MultiForm
from service.workflow.schemas import Actor


def _reader(principal: NoticesRead, _person: SignedInPerson) -> Principal:
    return principal


def _writer(principal: NoticesWrite, _person: SignedInPerson) -> Principal:
    return principal


def _approver(principal: NoticesApprove, _person: SignedInPerson) -> Principal:
    return principal


def _sender(principal: NoticesSend, _person: SignedInPerson) -> Principal:
    return principal


def _reporter(principal: ReportsRead, _person: SignedInPerson) -> Principal:
    return principal


Reader = Annotated[Principal, Depends(_reader)]
Writer = Annotated[Principal, Depends(_writer)]
Approver = Annotated[Principal, Depends(_approver)]
Sender = Annotated[Principal, Depends(_sender)]
Reporter = Annotated[Principal, Depends(_reporter)]


def actor_of(principal: Principal) -> Actor:
    """The workflow's actor for a signed-in person."""
    return Actor(principal.name, "web", is_test=principal.is_test, address=principal.address)


async def read_multi_form(request: Request) -> MultiForm:
    """Every (name, value) pair of an urlencoded form, repeats kept; 413 when too big."""
    body = await request.body()
    if len(body) > FORM_MAX_BYTES:
        raise HTTPException(413, f"the form is larger than {FORM_MAX_BYTES} bytes")
    return parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)


FormData = Annotated[MultiForm, Depends(read_multi_form)]


def notice_or_404(session: Session, code: str) -> NoticeRecord:
    """The notice with this code; 404 when there is none."""
    record = find_by_code(session, code.upper()[:16])
    if record is None:
        raise HTTPException(404, "no notice has this code")
    return record
