"""Webhook signing secrets sealed at rest with AES-256-GCM.

The sender must sign with the secret itself, so it cannot be hashed like an API key; it is
encrypted instead, under `KLARVARSEL_WEBHOOK_SECRETS_KEY` (base64 of 32 bytes) or, for the
embedded default, a key generated once into `var/webhook-secrets.key` (mode 0600). A database
copy without the key reveals no secret. Sealed values read `kvbox2:<base64 nonce+ciphertext>`,
bound to their subscription (its id is the associated data): one copied onto another row does
not open, so whoever can write the table but lacks the key cannot make one subscription's
events signed with another's secret. Values from before that binding (`kvbox1:`) or stored as
given (`whsec_...`) are read as they are and sealed anew by `seal_stored_secrets`.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.orm import Session

from service.config import Settings
from service.webhooks.models import WebhookSubscription

PREFIX = "kvbox2:"
UNBOUND_PREFIX = "kvbox1:"  # sealed before the binding; read, then sealed anew
KEY_FILE = "webhook-secrets.key"
NONCE_BYTES = 12
AAD = b"klarvarsel webhook secret"


def _aad(subscription_id: int) -> bytes:
    return AAD + b"\x00subscription " + str(subscription_id).encode()


class SecretKeyMissing(RuntimeError):
    """The key that seals the webhook secrets is missing, malformed or not the one used."""


def key_file(settings: Settings) -> Path:
    """Where the embedded default keeps its generated key."""
    return settings.var_dir / KEY_FILE


def _decode(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise SecretKeyMissing(
            f"{where} is not base64 of 32 bytes (generate one with "
            '`python -c "import base64,os;print(base64.b64encode(os.urandom(32)).decode())"`)'
        )
    return key


def _generate(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    # Written whole to a file of our own, then linked into place: link fails when the name
    # exists, so two processes starting at once agree on one key, and neither ever reads a
    # key file that is still empty (an O_EXCL create followed by a write would allow that).
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(base64.b64encode(key).decode() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return _decode(path.read_text("ascii"), str(path))
    finally:
        tmp.unlink(missing_ok=True)
    return key


def _sealed_exist(session: Session) -> bool:
    query = sa.select(WebhookSubscription.id).where(WebhookSubscription.secret.startswith(PREFIX))
    return session.scalar(query.limit(1)) is not None


def box_key(settings: Settings, session: Session | None = None, *, create: bool = False) -> bytes:
    """The sealing key: the setting, else var/'s file (made when `create` and nothing is sealed)."""
    if settings.webhook_secrets_key:
        return _decode(settings.webhook_secrets_key, "KLARVARSEL_WEBHOOK_SECRETS_KEY")
    path = key_file(settings)
    if path.exists():
        return _decode(path.read_text("ascii"), str(path))
    # A new key would leave secrets sealed under a lost one unreadable without saying why.
    if create and (session is None or not _sealed_exist(session)):
        return _generate(path)
    raise SecretKeyMissing(
        "webhook secrets are stored encrypted, but there is no key: set "
        f"KLARVARSEL_WEBHOOK_SECRETS_KEY, or restore {path} (the file the embedded setup made)"
    )


def seal(secret: str, key: bytes, subscription_id: int) -> str:
    """The stored form of a signing secret, for that subscription only."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, secret.encode(), _aad(subscription_id))
    return PREFIX + base64.b64encode(nonce + sealed).decode()


def unseal(stored: str, settings: Settings, subscription_id: int) -> str:
    """The signing secret of a subscription's stored value (one stored as given is as it is)."""
    if stored.startswith(PREFIX):
        raw, aad = base64.b64decode(stored.removeprefix(PREFIX)), _aad(subscription_id)
    elif stored.startswith(UNBOUND_PREFIX):
        raw, aad = base64.b64decode(stored.removeprefix(UNBOUND_PREFIX)), AAD
    else:
        return stored
    try:
        plain = AESGCM(box_key(settings)).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad)
    except InvalidTag:
        raise SecretKeyMissing(
            "a webhook secret cannot be decrypted: the key is not the one it was sealed with "
            "(KLARVARSEL_WEBHOOK_SECRETS_KEY or var/webhook-secrets.key changed), or the value "
            "was copied from another subscription"
        ) from None
    return plain.decode()


def seal_stored_secrets(session: Session, settings: Settings) -> int:
    """Seal every secret stored as given or sealed before the binding; how many."""
    rows = list(
        session.scalars(
            sa.select(WebhookSubscription).where(~WebhookSubscription.secret.startswith(PREFIX))
        )
    )
    if not rows:
        return 0
    key = box_key(settings, session, create=True)
    for row in rows:
        row.secret = seal(unseal(row.secret, settings, row.id), key, row.id)
    return len(rows)
