"""Who is acting: one object for a signed-in person or an API key, whatever route they call."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from service.accounts.roles import Role, Scope

# A test key touches only these notice modes (service.notices.schemas.Mode values).
TEST_KEY_MODES = frozenset({"exercise", "test"})


class PrincipalKind(StrEnum):
    """How the caller proved who they are."""

    user = "user"  # a web session (password or OIDC sign-in)
    key = "key"  # an API key


@dataclass(frozen=True)
class Principal:
    """The caller of a request: a user (through a session) or an API key."""

    kind: PrincipalKind
    id: int
    name: str  # the user's e-mail, or the key's name
    actor: str  # as the audit log names them: the e-mail, or key:<prefix>
    scopes: frozenset[Scope]
    roles: frozenset[Role] = frozenset()
    is_test: bool = False  # a test key: exercise and test notices only, outbox transports
    session_id: str | None = None  # the web session's digest, for users
    csrf_token: str | None = field(default=None, repr=False)
    address: str = ""  # where the request came from

    @property
    def is_user(self) -> bool:
        """A person signed in through the web."""
        return self.kind == PrincipalKind.user

    def has(self, scope: Scope) -> bool:
        """Whether the caller holds `scope`."""
        return scope in self.scopes

    def may_touch_mode(self, mode: str) -> bool:
        """Whether the caller may use notices of this mode (a test key: not actual ones)."""
        return not self.is_test or mode in TEST_KEY_MODES

    @property
    def source(self) -> str:
        """`from where` for the audit log: the channel and the address."""
        channel = "web" if self.is_user else "api"
        return f"{channel} {self.address}".strip()
