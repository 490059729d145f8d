"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

The secret is `whsec_` + base64 of random bytes; the signature header is
`v1,` + base64(HMAC-SHA256(key, f"{webhook-id}.{webhook-timestamp}.{body}")). A receiver
recomputes it and compares in constant time, and refuses timestamps far from its own clock
(replays). `verify` is what a receiver does, here so the tests (and the README) use it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
TOLERANCE_SECONDS = 300


class SignatureInvalid(ValueError):
    """The signature does not match, or the timestamp is too far from now."""


def new_secret() -> str:
    """A fresh signing secret, `whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value: `v1,<base64 HMAC-SHA256>`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of one request."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }


def verify(
    secret: str, received: dict[str, str], body: bytes, *, now: int, tolerance: int = 300
) -> None:
    """Raise SignatureInvalid unless one of the request's signatures is ours and it is fresh."""
    lower = {k.lower(): v for k, v in received.items()}
    message_id, stamp = lower.get("webhook-id", ""), lower.get("webhook-timestamp", "")
    if not stamp.isdigit() or abs(now - int(stamp)) > tolerance:
        raise SignatureInvalid("timestamp missing or too far from now")
    expected = sign(secret, message_id, int(stamp), body).removeprefix("v1,")
    # The header may carry several space-separated signatures (during a secret rotation).
    for candidate in lower.get("webhook-signature", "").split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return
    raise SignatureInvalid("no signature matches")
