"""A development page: the messages the outbox transports wrote instead of sending them.

A new user sees here what would have been sent (SMS text with its encoding and segments, the
e-mail's subject and text) without opening var/outbox/. The files hold phone numbers and
e-mail addresses, so the page is for admins.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from service.accounts.admin_render import render_admin
from service.accounts.page_permissions import PageAdmin
from service.channels.outbox_files import read_outbox
from service.config import get_settings

router = APIRouter(prefix="/admin", include_in_schema=False)
SHOWN = 50


@router.get("/outbox", response_class=HTMLResponse)
def outbox_page(request: Request, principal: PageAdmin) -> HTMLResponse:
    """The newest 50 messages in the outbox folders, SMS and e-mail."""
    settings = get_settings()
    messages, total = read_outbox(settings.outbox_dir, SHOWN)
    return render_admin(
        request,
        "web/outbox.html",
        principal,
        current="/admin/outbox",
        messages=messages,
        total=total,
        folder=str(settings.outbox_dir),
        transports={"sms": settings.sms_transport, "email": settings.email_transport},
    )
