"""Twilio's status callbacks: signed form posts that move a sent message's status forward.

Twilio signs each callback with the account's auth token over the URL it called and the form
fields (X-Twilio-Signature). Behind a reverse proxy the Host and scheme we see differ from the
URL Twilio called, so the signature is checked against `public_base_url` + the path.
"""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from twilio.request_validator import RequestValidator

from service.accounts.permissions import open_route
from service.channels.inbox import ReceiptWriter, get_receipt_writer
from service.channels.status import STATUS_ORDER
from service.config import Settings, get_settings
from service.notices.links import public_base_url

logger = logging.getLogger(__name__)

# Open to anyone: Twilio holds no key of ours. The signature check below is the protection.
router = APIRouter(
    prefix="/api/v1/callbacks", tags=["callbacks"], dependencies=[Depends(open_route)]
)

_FORM_BODY = {
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "required": ["MessageSid", "MessageStatus"],
                "properties": {
                    "MessageSid": {"type": "string", "example": "SM" + "0" * 32},
                    "MessageStatus": {"type": "string", "example": "delivered"},
                    "ErrorCode": {"type": "string", "example": "30003"},
                },
            }
        }
    },
}
_SIGNATURE_HEADER = {
    "name": "X-Twilio-Signature",
    "in": "header",
    "required": True,
    "description": "HMAC-SHA1 of the public URL and the form fields, keyed with the auth token",
    "schema": {"type": "string"},
}


async def settings_dependency() -> Settings:
    """The process settings (tests override this dependency with their own)."""
    return get_settings()


SettingsDep = Annotated[Settings, Depends(settings_dependency)]


async def signed_twilio_form(request: Request, settings: SettingsDep) -> dict[str, str]:
    """The callback's form fields, once X-Twilio-Signature proves Twilio sent them; else 403."""
    # Parsed here rather than with FastAPI's Form(): that needs python-multipart for a format
    # the standard library reads in one call, and the signature covers every field anyway.
    body = (await request.body()).decode("utf-8", errors="replace")
    pairs = parse_qsl(body, keep_blank_values=True)
    signature = request.headers.get("X-Twilio-Signature", "")
    url = public_base_url(settings) + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    token = settings.twilio_auth_token
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        multi.setdefault(name, []).append(value)
    if not (signature and token and RequestValidator(token).validate(url, _Form(multi), signature)):
        logger.warning("refused a Twilio callback with a missing or wrong signature for %s", url)
        raise HTTPException(status_code=403, detail="invalid or missing X-Twilio-Signature")
    return {name: values[-1] for name, values in multi.items()}


class _Form(dict[str, list[str]]):
    """Form fields as RequestValidator reads a repeated field: through `getlist`."""

    def getlist(self, name: str) -> list[str]:
        """Every value of field `name`."""
        return self[name]


SignedForm = Annotated[dict[str, str], Depends(signed_twilio_form)]


def receipt_writer_dependency() -> ReceiptWriter:
    """Where receipts are appended (tests override this with a writer on their database)."""
    return get_receipt_writer()


InboxDep = Annotated[ReceiptWriter, Depends(receipt_writer_dependency)]
_LIMITS = {"MessageSid": 64, "MessageStatus": 16, "ErrorCode": 16}


@router.post(
    "/twilio/status",
    operation_id="twilio_status_callback",
    status_code=204,
    response_class=Response,
    openapi_extra={"requestBody": _FORM_BODY, "parameters": [_SIGNATURE_HEADER]},
    responses={
        204: {"description": "the receipt is stored; a worker applies it"},
        403: {"description": "X-Twilio-Signature is missing or wrong; nothing changed"},
        422: {"description": "MessageSid or MessageStatus is missing or too long"},
    },
)
async def twilio_status_callback(form: SignedForm, inbox: InboxDep) -> Response:
    """Store a message status reported by Twilio in the receipt inbox; workers apply it.

    The least work possible, on the event loop: the signature is checked, the receipt is
    appended in a group-committed insert, and the answer is 204. Unknown messages are answered
    204 too (an error would only make Twilio try again); a receipt that arrives before its
    send is recorded is applied once it is.
    """
    message_sid = form.get("MessageSid", "")
    status = form.get("MessageStatus", "")
    if not message_sid or not status:
        raise HTTPException(status_code=422, detail="MessageSid and MessageStatus are required")
    too_long = [f"{k} (at most {n})" for k, n in _LIMITS.items() if len(form.get(k, "")) > n]
    if too_long:
        raise HTTPException(status_code=422, detail="too long: " + ", ".join(too_long))
    if status not in STATUS_ORDER:
        logger.warning("ignored unknown status %r for message %s", status, message_sid)
    else:
        await inbox.append(message_sid, status, form.get("ErrorCode") or None)
    return Response(status_code=204)
