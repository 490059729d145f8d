"""Twilio's status callbacks: signed form posts that move a sent message's status forward.

Twilio signs each callback with the account's auth token over the URL it called and the form
fields (X-Twilio-Signature). Behind a reverse proxy the Host and scheme we see differ from the
URL Twilio called, so the signature is checked against `public_base_url` + the path.
"""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, HTTPException, Request
from twilio.request_validator import RequestValidator

from service.accounts.permissions import open_route
from service.api.deps import SessionDep
from service.channels.status import StatusOutcome, apply_status
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


def settings_dependency() -> Settings:
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


@router.post(
    "/twilio/status",
    operation_id="twilio_status_callback",
    openapi_extra={"requestBody": _FORM_BODY, "parameters": [_SIGNATURE_HEADER]},
    responses={
        403: {"description": "X-Twilio-Signature is missing or wrong; nothing changed"},
        422: {"description": "MessageSid or MessageStatus is missing"},
    },
)
def twilio_status_callback(form: SignedForm, session: SessionDep) -> dict[str, str]:
    """Record a message status reported by Twilio (unknown messages are answered 200)."""
    message_sid = form.get("MessageSid", "")
    status = form.get("MessageStatus", "")
    if not message_sid or not status:
        raise HTTPException(status_code=422, detail="MessageSid and MessageStatus are required")
    outcome: StatusOutcome = apply_status(
        session, message_sid, status, form.get("ErrorCode") or None
    )
    # 200 even for a message we do not know: an error would only make Twilio try again.
    return {"outcome": outcome}
