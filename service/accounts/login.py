"""Checking a sign-in: limits first, then the password; every outcome is counted and audited.

Wrong address and wrong password get the same answer, and an unknown address costs the same
Argon2 work as a known one, so the page does not tell which addresses have accounts.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.accounts.limits import check_limits, note_attempt
from service.accounts.models import User
from service.accounts.passwords import hash_password, needs_rehash, verify_password
from service.accounts.users import find_user, normalise_email
from service.audit.service import record
from service.channels.base import mask_address
from service.clock import utcnow


class LoginRefused(Exception):
    """A refused sign-in: the HTTP status and message codes (see templates/messages.html)."""

    def __init__(
        self,
        status_code: int,
        errors: dict[str, str],
        *,
        minutes: int = 0,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(", ".join(errors.values()))
        self.status_code = status_code
        self.errors = errors  # field -> message code
        self.minutes = minutes
        self.headers = headers or {}


def _audit_failure(
    session: Session, user: User | None, email: str, address: str, reason: str
) -> None:
    record(
        session,
        actor=user.email if user is not None else "anonymous",
        action="login.failed",
        subject_type="user",
        # An address that has no account may be anyone's: only its masked form is kept.
        subject_id=user.email if user is not None else mask_address(email)[:64],
        source=f"web {address}".strip(),
        details={"reason": reason},
    )


def sign_in(session: Session, *, email: str, password: str, address: str) -> User:
    """The user whose e-mail and password these are, allowed to sign in now; else LoginRefused.

    Records the attempt and the audit event in `session` (the caller commits either way).
    """
    email = normalise_email(email)
    missing = {}
    if not email:
        missing["email"] = "email_missing"
    if not password:
        missing["password"] = "password_missing"
    if missing:
        raise LoginRefused(400, missing)
    limited = check_limits(session, email, address)
    if limited is not None:
        user = find_user(session, email)
        record(
            session,
            actor=user.email if user is not None else "anonymous",
            action="login.limited",
            subject_type="user",
            subject_id=user.email if user is not None else mask_address(email)[:64],
            source=f"web {address}".strip(),
            details={"by": limited.by, "retry_after_seconds": limited.retry_after_seconds},
        )
        raise LoginRefused(
            429,
            {"email": "limited"},
            minutes=limited.retry_after_minutes,
            headers={"Retry-After": str(limited.retry_after_seconds)},
        )
    user = find_user(session, email)
    if not verify_password(user.password_hash if user is not None else None, password):
        note_attempt(session, email, address, succeeded=False)
        reason = "unknown account" if user is None else "wrong password"
        _audit_failure(session, user, email, address, reason)
        raise LoginRefused(403, {"email": "wrong"})
    assert user is not None and user.password_hash is not None  # verified above
    if user.disabled:
        note_attempt(session, email, address, succeeded=False)
        _audit_failure(session, user, email, address, "account disabled")
        raise LoginRefused(403, {"email": "disabled"})
    note_attempt(session, email, address, succeeded=True)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    record(
        session,
        actor=user.email,
        action="login.succeeded",
        subject_type="user",
        subject_id=user.email,
        source=f"web {address}".strip(),
        details={"method": "password"},
    )
    return user
