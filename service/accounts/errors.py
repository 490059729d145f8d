"""The refusals of the permission checks: 401 says how to authenticate, 403 what is missing."""

from __future__ import annotations

from fastapi import HTTPException

REALM = "Klarvarsel"


class NotAuthenticated(HTTPException):
    """401: no credentials, or credentials that are no good; says how to authenticate."""

    def __init__(self, detail: str, *, error: str | None = None) -> None:
        challenge = f'Bearer realm="{REALM}"'
        if error:
            challenge += f', error="{error}", error_description="{detail}"'
        super().__init__(401, detail, headers={"WWW-Authenticate": challenge})


class PermissionMissing(HTTPException):
    """403: the caller is known but lacks a permission; the detail names it."""

    def __init__(self, detail: str, missing: str) -> None:
        self.missing = missing
        challenge = f'Bearer realm="{REALM}", error="insufficient_scope", scope="{missing}"'
        super().__init__(403, detail, headers={"WWW-Authenticate": challenge})
