"""`klarvarsel audit`: who did what, when and from where (personal data masked)."""

from __future__ import annotations

import json
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from service.config import get_settings

app = typer.Typer()
EXIT_INVALID_INPUT = 2


@app.command("audit")
def audit(
    actor: Annotated[
        str | None, typer.Option(help="only this actor (an e-mail, key:<prefix>, cli)")
    ] = None,
    action: Annotated[
        str | None, typer.Option(help="only this action and its sub-actions (login: login.*)")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="from this time: 30m, 12h, 7d, 2026-11-23, or ISO time")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="at most this many")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """List audit events, newest first; e-mail addresses and phone numbers are masked."""
    from service.audit.query import list_events, parse_since
    from service.store.database import session_scope
    from service.store.migrate import upgrade

    settings = get_settings()
    try:
        start = parse_since(since) if since else None
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    upgrade(settings.effective_database_url)
    with session_scope() as session:
        events = list_events(session, actor=actor, action=action, since=start, limit=limit)
    zone = ZoneInfo(settings.timezone)
    for event in events:
        local = event.at.astimezone(zone).isoformat(timespec="seconds")
        if as_json:
            row = {**event.__dict__, "at": local}
            typer.echo(json.dumps(row, ensure_ascii=False, sort_keys=True))
            continue
        details = json.dumps(event.details, ensure_ascii=False, sort_keys=True)
        typer.echo(
            f"{local}  {event.actor:<32} {event.action:<20} {event.subject:<32} "
            f"{event.source:<20} {details if event.details else ''}".rstrip()
        )
    if not as_json:
        typer.echo(f"{len(events)} events", err=True)
