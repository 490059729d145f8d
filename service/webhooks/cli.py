"""`klarvarsel webhooks send|list|log|redeliver|reseal|rotate-key`: the sender, its log and key."""

from __future__ import annotations

import threading
from typing import Annotated, Any

import typer

from service.notices.cli_input import fail_input

webhooks_app = typer.Typer(
    help="Webhooks: send queued events, read the log, redeliver, rotate the sealing key."
)


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


@webhooks_app.command("reseal")
def reseal_command() -> None:
    """Seal every signing secret under the current key (after a rotation of a configured key)."""
    from service.audit.service import record
    from service.config import get_settings
    from service.store.database import session_scope
    from service.webhooks.secret_box import SecretKeyMissing, seal_stored_secrets

    _migrated()
    try:
        with session_scope() as session:
            sealed = seal_stored_secrets(session, get_settings())
            if sealed:
                _audit(record, session, "webhook.secrets_resealed", sealed)
    except SecretKeyMissing as exc:
        raise fail_input(str(exc)) from None
    typer.echo(f"sealed {sealed} webhook secret(s) under the current key")


@webhooks_app.command("rotate-key")
def rotate_key_command() -> None:
    """A new key for var/webhook-secrets.key, every secret sealed under it (embedded default)."""
    from service.audit.service import record
    from service.config import get_settings
    from service.store.database import session_scope
    from service.webhooks.secret_box import SecretKeyMissing, key_file, rotate_key_file

    _migrated()
    settings = get_settings()
    try:
        with session_scope() as session:
            sealed = rotate_key_file(session, settings)
            _audit(record, session, "webhook.key_rotated", sealed)
    except SecretKeyMissing as exc:
        raise fail_input(str(exc)) from None
    typer.echo(
        f"a new key is in {key_file(settings)}; {sealed} webhook secret(s) sealed under it. "
        "Back it up with the database: the old key no longer opens anything."
    )


def _audit(record: Any, session: Any, action: str, count: int) -> None:
    # What was done and to how many, never a key or a secret.
    details = {"secrets": count}
    record(
        session,
        actor="cli",
        action=action,
        subject_type="webhook_key",
        subject_id="-",
        source="cli",
        details=details,
    )
