"""One demo user per role, for `make run` (documented in README.md; never for production)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.accounts.roles import Role
from service.accounts.users import count_users, create_user

# Fictional people at a reserved-looking domain; the passwords are public by design.
DEMO_USERS: tuple[tuple[str, Role, str], ...] = (
    ("author@example.se", Role.author, "skriver-notiser-2026"),
    ("approver@example.se", Role.approver, "godkanner-utskick-2026"),
    ("admin@example.se", Role.admin, "skoter-konton-2026"),
    ("viewer@example.se", Role.viewer, "foljer-upp-2026"),
)


def create_demo_users(session: Session) -> list[tuple[str, Role, str]]:
    """Create the demo users when there are no users at all; the ones created."""
    if count_users(session):
        return []
    for email, role, password in DEMO_USERS:
        create_user(
            session,
            email=email,
            roles=[role],
            password=password,
            actor="demo-data",
            source="cli",
            display_name=f"Demo {role.value}",
        )
    return list(DEMO_USERS)
