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
from collections.abc import Iterator
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


def previous_keys(settings: Settings) -> list[bytes]:
    """The earlier keys of a rotation (KLARVARSEL_WEBHOOK_SECRETS_PREVIOUS_KEYS)."""
    texts = [t for t in settings.webhook_secrets_previous_keys.split(",") if t.strip()]
    return [_decode(t, "KLARVARSEL_WEBHOOK_SECRETS_PREVIOUS_KEYS") for t in texts]


def _pending_key(settings: Settings) -> list[bytes]:
    """The key of a rotation of var/'s key file that stopped before it was put in place."""
    fresh = key_file(settings).with_name(KEY_FILE + ".new")
    if settings.webhook_secrets_key or not fresh.exists():
        return []
    return [_decode(fresh.read_text("ascii"), str(fresh))]


def _open(stored: str, key: bytes, subscription_id: int) -> str | None:
    """The secret if `key` opens the sealed value for this subscription, else None."""
    if stored.startswith(PREFIX):
        raw, aad = base64.b64decode(stored.removeprefix(PREFIX)), _aad(subscription_id)
    else:
        raw, aad = base64.b64decode(stored.removeprefix(UNBOUND_PREFIX)), AAD
    try:
        return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad).decode()
    except InvalidTag:
        return None


def _keys(settings: Settings) -> Iterator[bytes]:
    """The keys to try, current first, each read only when the one before did not open it.

    The usual webhook request reads one key, not every previous key and the pending file.
    """
    yield box_key(settings)
    yield from previous_keys(settings)
    yield from _pending_key(settings)


def unseal(stored: str, settings: Settings, subscription_id: int) -> str:
    """The signing secret of a subscription's stored value (one stored as given is as it is)."""
    if not stored.startswith((PREFIX, UNBOUND_PREFIX)):
        return stored
    for key in _keys(settings):
        plain = _open(stored, key, subscription_id)
        if plain is not None:
            return plain
    raise SecretKeyMissing(
        "a webhook secret cannot be decrypted: the key is not the one it was sealed with "
        "(KLARVARSEL_WEBHOOK_SECRETS_KEY or var/webhook-secrets.key changed; during a rotation "
        "the earlier key belongs in KLARVARSEL_WEBHOOK_SECRETS_PREVIOUS_KEYS), or the value "
        "was copied from another subscription"
    )


def seal_stored_secrets(session: Session, settings: Settings, key: bytes | None = None) -> int:
    """Seal under the current key (or `key`) every secret that is not yet; how many.

    That is: stored as given, sealed before the binding, or sealed under an earlier key (a
    rotation). A value no key opens is left as it is (and its deliveries say so).
    """
    rows = list(session.scalars(sa.select(WebhookSubscription).order_by(WebhookSubscription.id)))
    if not rows:
        return 0
    current = box_key(settings, session, create=True)
    key = key or current
    changed = 0
    for row in rows:
        if row.secret.startswith(PREFIX) and _open(row.secret, key, row.id) is not None:
            continue  # sealed, bound, under the wanted key
        try:
            plain = unseal(row.secret, settings, row.id)
        except SecretKeyMissing:
            continue
        row.secret = seal(plain, key, row.id)
        changed += 1
    return changed


def rotate_key_file(session: Session, settings: Settings) -> int:
    """A new key into var/'s key file, every secret sealed under it; how many were sealed.

    For the embedded default only (a configured key is rotated by configuration: see the
    README). The new key is written whole beside the old before the database changes, and put
    in place after, so a failure on the way leaves the old key with the old secrets.
    """
    if settings.webhook_secrets_key:
        raise SecretKeyMissing(
            "the key is configured (KLARVARSEL_WEBHOOK_SECRETS_KEY): rotate it by setting the "
            "new key there and the old one in KLARVARSEL_WEBHOOK_SECRETS_PREVIOUS_KEYS, then "
            "run `klarvarsel webhooks reseal`"
        )
    path = key_file(settings)
    box_key(settings, session, create=True)  # the current key opens what is sealed
    fresh = path.with_name(KEY_FILE + ".new")
    if fresh.exists():  # an earlier rotation stopped: every secret back under the current key
        seal_stored_secrets(session, settings)
        session.commit()
        fresh.unlink()
    key = _generate(fresh)
    sealed = seal_stored_secrets(session, settings, key)
    session.flush()
    session.commit()
    fresh.replace(path)
    return sealed
