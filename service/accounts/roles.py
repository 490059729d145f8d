"""Roles (what a person does) and scopes (what a request may do).

One table maps roles to scopes, and every permission check reads scopes only.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import TypeVar


class Role(StrEnum):
    """A person's job in Klarvarsel; a user may hold several."""

    author = "author"  # writes and previews notices
    approver = "approver"  # approves and sends actual alerts
    admin = "admin"  # users, keys, recipients, settings
    viewer = "viewer"  # follow-up and reports only


class Scope(StrEnum):
    """One permission; API keys hold scopes directly, users through their roles."""

    notices_read = "notices:read"
    notices_write = "notices:write"
    notices_approve = "notices:approve"
    notices_send = "notices:send"
    recipients_read = "recipients:read"
    recipients_write = "recipients:write"
    reports_read = "reports:read"
    admin = "admin"


ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.author: frozenset({Scope.notices_read, Scope.notices_write}),
    Role.approver: frozenset(
        {Scope.notices_read, Scope.notices_approve, Scope.notices_send, Scope.reports_read}
    ),
    Role.admin: frozenset(Scope),
    Role.viewer: frozenset({Scope.notices_read, Scope.reports_read}),
}


def scopes_of_roles(roles: Iterable[Role]) -> frozenset[Scope]:
    """Every scope the roles grant together."""
    granted: set[Scope] = set()
    for role in roles:
        granted |= ROLE_SCOPES[role]
    return frozenset(granted)


E = TypeVar("E", bound=StrEnum)


class UnknownName(ValueError):
    """Names that are not roles or scopes; the message lists the valid ones."""


def parse_roles(names: Iterable[str]) -> frozenset[Role]:
    """Roles from their names (case-insensitive); every unknown name is reported at once."""
    return frozenset(_parse(Role, names, "role"))


def parse_scopes(names: Iterable[str]) -> frozenset[Scope]:
    """Scopes from names, each item may hold several separated by commas or spaces."""
    split = [part for name in names for part in name.replace(",", " ").split()]
    return frozenset(_parse(Scope, split, "scope"))


def _parse(kind: type[E], names: Iterable[str], word: str) -> list[E]:
    values = {member.value: member for member in kind}
    found: list[E] = []
    unknown: list[str] = []
    for name in names:
        key = name.strip().lower()
        if key in values:
            found.append(values[key])
        else:
            unknown.append(name)
    if unknown:
        valid = ", ".join(values)
        raise UnknownName(f"unknown {word} {', '.join(map(repr, unknown))}; valid: {valid}")
    return found
