"""Sign-in limits: failed attempts are counted per account and per address within a window.

An account is locked for the rest of the window after `login_max_failures_per_account`
failures since its last successful sign-in (guessing one password); an address after
`login_max_failures_per_address` failures on any accounts (trying many). The account is stored
as a keyed digest, so the table never lists the addresses people mistyped; rows older than a
day are deleted.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.accounts.models import LoginAttempt
from service.clock import utcnow
from service.config import get_settings

KEEP = timedelta(days=1)


def account_key(email: str) -> str:
    """The digest an account is counted under."""
    secret = get_settings().secret_key.encode("utf-8")
    return hmac.new(secret, b"login:" + email.strip().lower().encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Limited:
    """A refused attempt: which limit, and in how many seconds a new attempt is allowed."""

    by: str  # account | address
    retry_after_seconds: int

    @property
    def retry_after_minutes(self) -> int:
        """Whole minutes, rounded up, for people."""
        return max(1, -(-self.retry_after_seconds // 60))


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def check_limits(session: Session, email: str, address: str) -> Limited | None:
    """Whether a sign-in for this account from this address must be refused now."""
    settings = get_settings()
    now = utcnow()
    window = timedelta(minutes=settings.login_window_minutes)
    since = now - window
    key = account_key(email)
    last_success = session.scalar(
        sa.select(sa.func.max(LoginAttempt.at)).where(
            LoginAttempt.account_key == key, LoginAttempt.succeeded.is_(True)
        )
    )
    account_since = max(since, _aware(last_success)) if last_success else since
    checks = (
        ("account", LoginAttempt.account_key == key, account_since,
         settings.login_max_failures_per_account),
        ("address", LoginAttempt.address == address[:64], since,
         settings.login_max_failures_per_address),
    )  # fmt: skip
    for by, where, start, limit in checks:
        failures = session.scalars(
            sa.select(LoginAttempt.at)
            .where(where, LoginAttempt.succeeded.is_(False), LoginAttempt.at > start)
            .order_by(LoginAttempt.at.desc())
            .limit(limit)
        ).all()
        if len(failures) >= limit:
            # Free again when the oldest of the last `limit` failures leaves the window.
            free_at = _aware(failures[-1]) + window
            return Limited(by, max(1, int((free_at - now).total_seconds())))
    return None


def note_attempt(session: Session, email: str, address: str, *, succeeded: bool) -> None:
    """Count one attempt (and forget attempts older than a day)."""
    now = utcnow()
    session.execute(sa.delete(LoginAttempt).where(LoginAttempt.at < now - KEEP))
    session.add(
        LoginAttempt(
            at=now, account_key=account_key(email), address=address[:64], succeeded=succeeded
        )
    )
