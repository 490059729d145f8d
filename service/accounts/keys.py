"""API keys: created by admins, shown once, stored as a digest, revocable, optionally expiring.

A key reads `kv_live_ABCD2345_<43 random characters>` (or `kv_test_...` for a test key). The
first part (`kv_live_ABCD2345`) is its prefix: stored in clear to find the key and to recognise
it in lists and in the audit log. The whole key is stored only as its SHA-256 digest.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.accounts.models import ApiKey
from service.accounts.roles import Scope
from service.audit.service import record
from service.clock import utcnow

_PREFIX_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
KEY_PATTERN = re.compile(r"^(kv_(?:live|test)_[2-9A-HJKMNP-Z]{8})_([A-Za-z0-9_-]{43})$")
NAME_MAX = 100
LAST_USE_EVERY = timedelta(seconds=60)  # last use is written at most once a minute per key


class KeyState(StrEnum):
    """Why a presented key is or is not accepted."""

    valid = "valid"
    unknown = "unknown"  # malformed, no such prefix, or the secret part is wrong
    revoked = "revoked"
    expired = "expired"


@dataclass(frozen=True)
class NewKey:
    """A key just created: `secret` is the only time the whole key exists outside the caller."""

    record: ApiKey
    secret: str


def digest(key: str) -> str:
    """The stored form of a key (or a session token)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def create_key(
    session: Session,
    *,
    name: str,
    scopes: Iterable[Scope],
    actor: str,
    source: str,
    test: bool = False,
    expires_at: datetime | None = None,
) -> NewKey:
    """Create a key with these scopes; the caller shows `secret` once and forgets it."""
    name = name.strip()
    problems = []
    if not name:
        problems.append("name: is empty")
    elif len(name) > NAME_MAX or not name.isprintable():
        problems.append(f"name: must be at most {NAME_MAX} printable characters")
    wanted = sorted(set(scopes))
    if not wanted:
        problems.append("scopes: name at least one")
    if expires_at is not None and expires_at <= utcnow():
        problems.append("expires: is in the past")
    if problems:
        raise ValueError("; ".join(problems))
    kind = "test" if test else "live"
    while True:
        prefix = f"kv_{kind}_" + "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(8))
        if session.scalar(sa.select(ApiKey.id).where(ApiKey.prefix == prefix)) is None:
            break
    secret = f"{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        prefix=prefix,
        key_hash=digest(secret),
        name=name,
        scopes=[str(s) for s in wanted],
        is_test=test,
        created_by=actor,
        expires_at=expires_at,
    )
    session.add(key)
    session.flush()
    record(
        session,
        actor=actor,
        action="key.created",
        subject_type="api_key",
        subject_id=prefix,
        source=source,
        details={
            "name": name,
            "scopes": key.scopes,
            "test": test,
            **({"expires_at": expires_at.isoformat()} if expires_at else {}),
        },
    )
    return NewKey(key, secret)


def check_key(session: Session, presented: str) -> tuple[KeyState, ApiKey | None]:
    """The stored key a presented one matches, and whether it may be used now."""
    match = KEY_PATTERN.match(presented)
    if match is None:
        return KeyState.unknown, None
    key = session.scalar(sa.select(ApiKey).where(ApiKey.prefix == match.group(1)))
    if key is None or not hmac.compare_digest(key.key_hash, digest(presented)):
        return KeyState.unknown, key
    if key.revoked_at is not None:
        return KeyState.revoked, key
    expires = _aware(key.expires_at)
    if expires is not None and expires <= utcnow():
        return KeyState.expired, key
    return KeyState.valid, key


def note_use(key: ApiKey, address: str) -> bool:
    """Record the key's last use (at most once a minute); True when the row changed."""
    now = utcnow()
    last = _aware(key.last_used_at)
    if last is not None and now - last < LAST_USE_EVERY and key.last_used_from == address:
        return False
    key.last_used_at = now
    key.last_used_from = address[:64]
    return True


def find_key(session: Session, prefix: str) -> ApiKey | None:
    """The key with this prefix (or whole key: only its prefix is read)."""
    match = re.match(r"^kv_(?:live|test)_[2-9A-HJKMNP-Z]{8}", prefix.strip())
    if match is None:
        return None
    return session.scalar(sa.select(ApiKey).where(ApiKey.prefix == match.group(0)))


def revoke_key(session: Session, key: ApiKey, *, actor: str, source: str) -> bool:
    """Revoke a key for good; False when it already was."""
    if key.revoked_at is not None:
        return False
    key.revoked_at = utcnow()
    key.revoked_by = actor
    record(
        session,
        actor=actor,
        action="key.revoked",
        subject_type="api_key",
        subject_id=key.prefix,
        source=source,
        details={"name": key.name},
    )
    return True


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, newest first."""
    return list(session.scalars(sa.select(ApiKey).order_by(ApiKey.id.desc())))


def key_status(key: ApiKey) -> str:
    """active, revoked or expired, for lists."""
    if key.revoked_at is not None:
        return "revoked"
    expires = _aware(key.expires_at)
    if expires is not None and expires <= utcnow():
        return "expired"
    return "active"
