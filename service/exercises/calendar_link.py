"""The calendar subscription link: a signed address per person, readable by calendar apps.

A calendar app cannot sign in or send an API key, so each person's feed address carries a
token signed with the service's secret and naming the person. The feed answers only while the
person exists, is not disabled and may read reports; disabling them closes the feed.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.accounts.models import User
from service.accounts.roles import Role, Scope, scopes_of_roles
from service.accounts.sessions import sign, unsign

PURPOSE = "calendar"


def calendar_token(user_id: int) -> str:
    """The token of the person's feed address."""
    return sign(str(user_id), PURPOSE)


def calendar_reader(session: Session, token: str) -> User | None:
    """The person a token names, if they may read the calendar now."""
    value = unsign(token, PURPOSE)
    if value is None or not value.isdigit():
        return None
    user = session.get(User, int(value))
    if user is None or user.disabled:
        return None
    roles = [Role(name) for name in user.role_names if name in Role.__members__]
    return user if Scope.reports_read in scopes_of_roles(roles) else None
