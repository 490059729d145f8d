"""`klarvarsel webhooks send|list|log|redeliver`: the sender and its log, from a terminal."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from service.notices.cli_input import fail_input

webhooks_app = typer.Typer(help="Webhooks: send queued events, read the log, redeliver.")


def _migrated() -> None:
    from service.config import get_settings
    from service.store.migrate import upgrade

    upgrade(get_settings().effective_database_url)


@webhooks_app.command("send")
def send_command(
    once: Annotated[bool, typer.Option("--once", help="send what is due, then stop")] = False,
) -> None:
    """Run the webhook sender (beside the web process's own, or instead of it)."""
    from service.config import get_settings
    from service.webhooks.sender import run_sender

    _migrated()
    stop = threading.Event()
    try:
        sent = run_sender(get_settings(), stop_event=stop, once=once)
    except KeyboardInterrupt:
        stop.set()
        return
    typer.echo(f"sent {sent} webhook request(s)")


@webhooks_app.command("list")
def list_command() -> None:
    """Every active subscription: id, owner, URL and events."""
    import sqlalchemy as sa

    from service.store.database import session_scope
    from service.webhooks.models import WebhookSubscription

    _migrated()
    with session_scope() as session:
        rows = session.scalars(
            sa.select(WebhookSubscription)
            .where(WebhookSubscription.active.is_(True))
            .order_by(WebhookSubscription.id)
        ).all()
        for s in rows:
            typer.echo(f"{s.id}\t{s.owner}\t{s.url}\t{' '.join(s.events)}")


@webhooks_app.command("log")
def log_command(
    subscription: Annotated[int, typer.Argument(help="subscription id")],
) -> None:
    """A subscription's deliveries, newest first, with each attempt."""
    from service.store.database import session_scope
    from service.webhooks.service import delivery_log

    _migrated()
    with session_scope() as session:
        for delivery, event, attempts in delivery_log(session, subscription):
            typer.echo(
                f"{delivery.id}\t{event.type}\t{event.message_id}\t{delivery.status}\t"
                f"{delivery.attempts} attempt(s)\t{delivery.last_error or ''}"
            )
            for attempt in attempts:
                typer.echo(
                    f"\t{attempt.attempted_at.isoformat()}\t{attempt.status_code or '-'}\t"
                    f"{attempt.duration_ms} ms\t{attempt.error or 'ok'}"
                )


@webhooks_app.command("redeliver")
def redeliver_command(
    delivery: Annotated[int, typer.Argument(help="delivery id (from `webhooks log`)")],
) -> None:
    """Queue an event again for its subscription (same webhook-id)."""
    from service.config import get_settings
    from service.store.database import session_scope
    from service.webhooks.models import WebhookDelivery
    from service.webhooks.service import redeliver

    _migrated()
    with session_scope() as session:
        found = session.get(WebhookDelivery, delivery)
        if found is None:
            raise fail_input(f"no webhook delivery has the id {delivery}")
        again = redeliver(session, found, get_settings(), "cli", "cli")
        typer.echo(f"queued again as delivery {again.id}")
