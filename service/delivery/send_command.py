"""`klarvarsel send`: the command's steps, kept out of cli.py so the CLI stays a thin shell."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from service.channels.base import Transport
from service.config import Settings
from service.content import ContentLibrary
from service.delivery.send_now import SendOutcome, SendPlan, plan_send, send_plan
from service.notices.links import notice_url
from service.notices.publish import publish_notice
from service.notices.schemas import Channel
from service.notices.service import Notice
from service.recipients.schemas import Recipient
from service.store.database import session_scope
from service.store.migrate import upgrade


def describe_plan(plan: SendPlan, settings: Settings, echo: Callable[[str], Any]) -> None:
    """Print what would go out per channel and language, SMS segments and the cost."""
    echo(
        f"{len(plan.assignments)} messages to {len({id(a.recipient) for a in plan.assignments})} "
        "recipients:"
    )
    for (channel, language), count in sorted(plan.counts().items()):
        echo(f"  {channel:<6} {language:<6} {count:>6}")
    cost = plan.sms_segments * settings.sms_price_per_segment_sek
    echo(
        f"SMS segments: {plan.sms_segments} (estimated cost {cost:.2f} SEK at "
        f"{settings.sms_price_per_segment_sek:.2f} SEK per segment)"
    )
    for problem in plan.unreachable:
        echo(f"UNREACHABLE {problem.recipient.name}: {problem.reason}")
    for check in plan.failed_checks:
        errors = "; ".join(f.message for f in check.findings if f.severity == "error")
        echo(
            f"FAILED CHECK {check.audience.id} {check.variant.key.language} "
            f"{check.variant.key.name}: {errors}"
        )


def make_transports(settings: Settings) -> dict[Channel, Transport]:
    """The configured transport for each sent channel."""
    from service.channels.email.factory import make_email_transport
    from service.channels.sms.factory import make_sms_transport

    return {
        Channel.sms: make_sms_transport(settings),
        Channel.email: make_email_transport(settings),
    }


def make_outbox_transports(settings: Settings) -> dict[Channel, Transport]:
    """Outbox transports for each sent channel, whatever is configured (test keys' notices)."""
    from service.channels.email.outbox_transport import EmailOutboxTransport
    from service.channels.sms.outbox_transport import SmsOutboxTransport

    return {
        Channel.sms: SmsOutboxTransport(settings.outbox_dir),
        Channel.email: EmailOutboxTransport(settings.outbox_dir, sender=settings.smtp_from),
    }


def publish_and_send(
    notice: Notice,
    raw: dict[str, Any],
    recipients: list[Recipient],
    library: ContentLibrary,
    settings: Settings,
    actor: str,
) -> tuple[str, SendPlan, SendOutcome]:
    """Store the notice under a public code, then send every message; returns the code."""
    from service.audit.service import record
    from service.channels.status import record_sent

    upgrade(settings.effective_database_url)
    with session_scope() as session:
        stored = publish_notice(session, notice, raw, actor=actor, source="cli")
        code = stored.code
    plan = plan_send(notice, recipients, library, notice_url(settings, code))
    outcome = asyncio.run(send_plan(plan, make_transports(settings), code))
    with session_scope() as session:
        for _assignment, message, result in outcome.sent:
            record_sent(session, message, result)
        record(
            session,
            actor=actor,
            action="notice.sent",
            subject_type="notice",
            subject_id=stored.id,
            source="cli",
            details={
                "code": code,
                "sent": len(outcome.sent),
                "failed": len(outcome.failed),
                "unreachable": len(plan.unreachable),
            },
        )
    return code, plan, outcome
