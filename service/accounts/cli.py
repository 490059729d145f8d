"""`klarvarsel users` and `klarvarsel api-keys`: accounts from the command line (audited)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from sqlalchemy.orm import Session

from service.config import get_settings

if TYPE_CHECKING:
    from service.accounts.models import User

users_app = typer.Typer(help="People who sign in, and their roles.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys for other systems.", no_args_is_help=True)

EXIT_INVALID_INPUT = 2
T = TypeVar("T")
Actor = Annotated[str, typer.Option(help="who is acting (for the audit log)")]
Email = Annotated[str, typer.Argument(help="the user's e-mail address")]
RoleOption = Annotated[
    list[str],
    typer.Option("--role", help="author, approver, admin or viewer (repeat for several)"),
]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from standard input")
]
SOURCE = "cli"


@contextmanager
def _store() -> Iterator[Session]:
    from service.store.database import session_scope
    from service.store.migrate import upgrade

    upgrade(get_settings().effective_database_url)
    with session_scope() as session:
        yield session


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_INVALID_INPUT)


def _attempt(action: Callable[[], T]) -> T:
    """Run `action`, turning a refused request into exit code 2 with its message."""
    from service.accounts.roles import UnknownName
    from service.accounts.users import AccountError

    try:
        return action()
    except (AccountError, UnknownName, ValueError) as exc:
        raise _fail(str(exc)) from None


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise _fail("no terminal to ask for a password on: use --password-stdin")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _login_url() -> str:
    from service.notices.links import public_base_url

    return f"{public_base_url(get_settings())}/login"


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="the user's e-mail address (their sign-in name)")],
    role: RoleOption,
    password_stdin: PasswordStdin = False,
    oidc_only: Annotated[
        bool, typer.Option("--oidc-only", help="no password: signs in through OIDC only")
    ] = False,
    name: Annotated[str, typer.Option(help="display name")] = "",
    actor: Actor = "cli",
) -> None:
    """Create a user (the first admin: `--role admin`) and say how to sign in."""
    from service.accounts.roles import parse_roles
    from service.accounts.users import create_user

    roles = _attempt(lambda: parse_roles(role))
    password = None if oidc_only else _read_password(password_stdin)
    with _store() as session:
        user = _attempt(
            lambda: create_user(
                session,
                email=email,
                roles=roles,
                password=password,
                actor=actor,
                source=SOURCE,
                display_name=name,
            )
        )
        created = user.email
    typer.echo(f"created {created} with the roles {', '.join(sorted(roles))}")
    how = "through your organisation's account" if oidc_only else "with the password you chose"
    typer.echo(f"sign in at {_login_url()} as {created} {how}")


@users_app.command("list")
def users_list() -> None:
    """Every user with roles, status and last sign-in."""
    from service.accounts.users import list_users

    with _store() as session:
        rows = [
            (
                u.email,
                ",".join(u.role_names),
                "disabled" if u.disabled else "active",
                u.last_login_at.isoformat(timespec="minutes") if u.last_login_at else "never",
            )
            for u in list_users(session)
        ]
    typer.echo(f"{'email':<40} {'roles':<28} {'status':<9} last sign-in")
    for email, roles, status, last in rows:
        typer.echo(f"{email:<40} {roles:<28} {status:<9} {last}")


def _change(email: str, change: Callable[[Session, User], object]) -> None:
    from service.accounts.users import require_user

    with _store() as session:
        user = _attempt(lambda: require_user(session, email))
        _attempt(lambda: change(session, user))


@users_app.command("disable")
def users_disable(email: Email, actor: Actor = "cli") -> None:
    """Disable a user; their sessions end at once."""
    from service.accounts.users import set_disabled

    _change(email, lambda s, u: set_disabled(s, u, True, actor=actor, source=SOURCE))
    typer.echo(f"{email} is disabled and signed out everywhere")


@users_app.command("enable")
def users_enable(email: Email, actor: Actor = "cli") -> None:
    """Enable a disabled user."""
    from service.accounts.users import set_disabled

    _change(email, lambda s, u: set_disabled(s, u, False, actor=actor, source=SOURCE))
    typer.echo(f"{email} is enabled")


@users_app.command("set-roles")
def users_set_roles(email: Email, role: RoleOption, actor: Actor = "cli") -> None:
    """Replace a user's roles."""
    from service.accounts.roles import parse_roles
    from service.accounts.users import set_roles

    roles = _attempt(lambda: parse_roles(role))
    _change(email, lambda s, u: set_roles(s, u, roles, actor=actor, source=SOURCE))
    typer.echo(f"{email} now has the roles {', '.join(sorted(roles))}")


@users_app.command("reset-password")
def users_reset_password(
    email: Email, password_stdin: PasswordStdin = False, actor: Actor = "cli"
) -> None:
    """Set a new password; the user's sessions end."""
    from service.accounts.users import reset_password

    password = _read_password(password_stdin)
    _change(email, lambda s, u: reset_password(s, u, password, actor=actor, source=SOURCE))
    typer.echo(f"the password of {email} is changed; sign in at {_login_url()}")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="what the key is for, e.g. the system's name")],
    scopes: Annotated[
        list[str],
        typer.Option(
            "--scopes",
            help="notices:read, notices:write, notices:approve, notices:send, recipients:read, "
            "recipients:write, reports:read, admin (comma-separated or repeated)",
        ),
    ],
    test: Annotated[
        bool,
        typer.Option("--test", help="a test key: exercise and test notices only, outbox only"),
    ] = False,
    expires_in_days: Annotated[
        int | None, typer.Option(min=1, help="the key stops working after this many days")
    ] = None,
    actor: Actor = "cli",
) -> None:
    """Create an API key and print it once (only its prefix is kept in clear)."""
    from service.accounts.keys import create_key
    from service.accounts.roles import parse_scopes
    from service.clock import utcnow

    wanted = _attempt(lambda: parse_scopes(scopes))
    expires = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    with _store() as session:
        new = _attempt(
            lambda: create_key(
                session,
                name=name,
                scopes=wanted,
                actor=actor,
                source=SOURCE,
                test=test,
                expires_at=expires,
            )
        )
        prefix, secret = new.record.prefix, new.secret
    typer.echo(secret)
    kind = "test key (exercise and test notices, outbox only)" if test else "key"
    typer.echo(
        f"created {kind} {prefix} with {', '.join(sorted(wanted))}"
        + (f", expires {expires.isoformat(timespec='minutes')}" if expires else ""),
        err=True,
    )
    typer.echo(
        "copy it now: it is not shown again. Send it as 'Authorization: Bearer <key>'.", err=True
    )


@keys_app.command("list")
def keys_list() -> None:
    """Every key: prefix, name, scopes, status, last use (never the key itself)."""
    from service.accounts.keys import key_status, list_keys

    with _store() as session:
        rows = [
            (
                k.prefix,
                k.name,
                ",".join(k.scopes),
                key_status(k),
                k.last_used_at.isoformat(timespec="minutes") if k.last_used_at else "never",
            )
            for k in list_keys(session)
        ]
    typer.echo(f"{'prefix':<18} {'name':<24} {'status':<8} {'last use':<17} scopes")
    for prefix, name, scopes, status, last in rows:
        typer.echo(f"{prefix:<18} {name[:24]:<24} {status:<8} {last:<17} {scopes}")


@keys_app.command("revoke")
def keys_revoke(
    prefix: Annotated[str, typer.Argument(help="the key's prefix, e.g. kv_live_ABCD2345")],
    actor: Actor = "cli",
) -> None:
    """Revoke a key for good: it is refused from the next request on."""
    from service.accounts.keys import find_key, revoke_key

    with _store() as session:
        key = find_key(session, prefix)
        if key is None:
            raise _fail(f"no key has the prefix {prefix[:20]!r}")
        changed = revoke_key(session, key, actor=actor, source=SOURCE)
        shown = key.prefix
    typer.echo(f"{shown} {'is revoked' if changed else 'was already revoked'}")
