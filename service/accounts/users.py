"""Users: create, change roles, disable and enable, reset passwords; each change is audited."""

from __future__ import annotations

import re
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.accounts.models import User, UserRole, WebSession
from service.accounts.passwords import hash_password, password_problems
from service.accounts.roles import Role
from service.audit.service import record
from service.clock import utcnow

EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
EMAIL_MAX = 254


class AccountError(ValueError):
    """A request about accounts that cannot be done; the message says why (every reason)."""


def normalise_email(email: str) -> str:
    """Lower case, no surrounding space: one person, one account."""
    return email.strip().lower()


def email_problem(email: str) -> str | None:
    """Why `email` is not an address we accept, or None."""
    if len(email) > EMAIL_MAX or not EMAIL.match(email):
        return f"email: {email[:80]!r} is not an e-mail address"
    return None


def find_user(session: Session, email: str) -> User | None:
    """The user with this e-mail address (case-insensitive)."""
    return session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def create_user(
    session: Session,
    *,
    email: str,
    roles: Iterable[Role],
    password: str | None,
    actor: str,
    source: str,
    display_name: str = "",
) -> User:
    """A new user; `password` None makes an account that signs in through OIDC only."""
    email = normalise_email(email)
    wanted = sorted(set(roles))
    problems = []
    if problem := email_problem(email):
        problems.append(problem)
    elif find_user(session, email) is not None:
        problems.append(f"email: a user {email} already exists")
    if not wanted:
        problems.append("roles: name at least one role")
    if password is not None:
        problems += [f"password: {p}" for p in password_problems(password, email=email)]
    if problems:
        raise AccountError("; ".join(problems))
    user = User(
        email=email,
        display_name=display_name.strip()[:200],
        password_hash=hash_password(password) if password is not None else None,
        password_changed_at=utcnow() if password is not None else None,
        disabled=False,
        created_by=actor,
        role_rows=[UserRole(role=str(role)) for role in wanted],
    )
    session.add(user)
    session.flush()
    record(
        session,
        actor=actor,
        action="user.created",
        subject_type="user",
        subject_id=email,
        source=source,
        details={"roles": [str(r) for r in wanted], "password": password is not None},
    )
    return user


def require_user(session: Session, email: str) -> User:
    """The user with this address, or an AccountError saying there is none."""
    user = find_user(session, email)
    if user is None:
        raise AccountError(f"no user has the e-mail address {normalise_email(email)}")
    return user


def _active_admins(session: Session) -> int:
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(User)
            .join(UserRole)
            .where(UserRole.role == Role.admin.value, User.disabled.is_(False))
        )
        or 0
    )


def _is_active_admin(user: User) -> bool:
    return not user.disabled and Role.admin.value in user.role_names


def end_sessions(session: Session, user: User) -> int:
    """Sign the user out everywhere; the number of sessions ended."""
    result = session.execute(sa.delete(WebSession).where(WebSession.user_id == user.id))
    return int(result.rowcount)  # type: ignore[attr-defined]


def set_roles(
    session: Session, user: User, roles: Iterable[Role], *, actor: str, source: str
) -> None:
    """Replace the user's roles (the last active admin keeps the admin role)."""
    wanted = sorted(set(roles))
    if not wanted:
        raise AccountError("roles: name at least one role")
    before = user.role_names
    if _is_active_admin(user) and Role.admin not in wanted and _active_admins(session) <= 1:
        raise AccountError(f"{user.email} is the last active admin and keeps the admin role")
    user.role_rows = [UserRole(role=str(role)) for role in wanted]
    session.flush()
    record(
        session,
        actor=actor,
        action="user.roles_changed",
        subject_type="user",
        subject_id=user.email,
        source=source,
        details={"before": before, "after": [str(r) for r in wanted]},
    )


def set_disabled(session: Session, user: User, disabled: bool, *, actor: str, source: str) -> bool:
    """Disable (signing the user out everywhere) or enable; False when nothing changed."""
    if user.disabled == disabled:
        return False
    if disabled and _is_active_admin(user) and _active_admins(session) <= 1:
        raise AccountError(f"{user.email} is the last active admin and cannot be disabled")
    user.disabled = disabled
    ended = end_sessions(session, user) if disabled else 0
    record(
        session,
        actor=actor,
        action="user.disabled" if disabled else "user.enabled",
        subject_type="user",
        subject_id=user.email,
        source=source,
        details={"sessions_ended": ended} if disabled else {},
    )
    return True


def reset_password(session: Session, user: User, password: str, *, actor: str, source: str) -> None:
    """Set a new password (checked like a new one) and sign the user out everywhere."""
    problems = [f"password: {p}" for p in password_problems(password, email=user.email)]
    if problems:
        raise AccountError("; ".join(problems))
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    ended = end_sessions(session, user)
    record(
        session,
        actor=actor,
        action="user.password_reset",
        subject_type="user",
        subject_id=user.email,
        source=source,
        details={"sessions_ended": ended},
    )


def list_users(session: Session) -> list[User]:
    """Every user, by e-mail address."""
    return list(session.scalars(sa.select(User).order_by(User.email)))


def count_users(session: Session) -> int:
    """How many users exist (demo data is loaded only into an empty table)."""
    return session.scalar(sa.select(sa.func.count()).select_from(User)) or 0
