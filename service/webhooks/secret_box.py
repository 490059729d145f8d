"""Webhook signing secrets sealed at rest with AES-256-GCM.

The sender must sign with the secret itself, so it cannot be hashed like an API key; it is
encrypted instead, under `KLARVARSEL_WEBHOOK_SECRETS_KEY` (base64 of 32 bytes) or, for the
embedded default, a key generated once into `var/webhook-secrets.key` (mode 0600). A database
copy without the key reveals no secret. Sealed values read `kvbox1:<base64 nonce+ciphertext>`;
one still stored as given (`whsec_...`, from before) is read as it is and sealed by
`seal_stored_secrets`.
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

PREFIX = "kvbox1:"
KEY_FILE = "webhook-secrets.key"
NONCE_BYTES = 12
AAD = b"klarvarsel webhook secret"


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


def seal(secret: str, key: bytes) -> str:
    """The stored form of a signing secret."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, secret.encode(), AAD)
    return PREFIX + base64.b64encode(nonce + sealed).decode()


def unseal(stored: str, settings: Settings) -> str:
    """The signing secret of a stored value (one stored as given is returned as it is)."""
    if not stored.startswith(PREFIX):
        return stored
    raw = base64.b64decode(stored.removeprefix(PREFIX))
    try:
        plain = AESGCM(box_key(settings)).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], AAD)
    except InvalidTag:
        raise SecretKeyMissing(
            "a webhook secret cannot be decrypted: the key is not the one it was sealed with "
            "(KLARVARSEL_WEBHOOK_SECRETS_KEY or var/webhook-secrets.key changed)"
        ) from None
    return plain.decode()


def seal_stored_secrets(session: Session, settings: Settings) -> int:
    """Seal every secret still stored as given; how many."""
    rows = list(
        session.scalars(
            sa.select(WebhookSubscription).where(~WebhookSubscription.secret.startswith(PREFIX))
        )
    )
    if not rows:
        return 0
    key = box_key(settings, session, create=True)
    for row in rows:
        row.secret = seal(row.secret, key)
    return len(rows)
