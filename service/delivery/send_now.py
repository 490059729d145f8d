"""Sending a notice to a small list right away (`klarvarsel send`).

This is the simple path: in one process, no durable queue. The delivery engine replaces it for
large lists; the choice of variant per recipient (delivery.choose) is shared.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field

from service.channels.base import (
    Attachment,
    OutgoingMessage,
    SendResult,
    Transport,
    TransportError,
)
from service.channels.sms.encoding import analyse_sms
from service.content import ContentLibrary
from service.delivery.choose import Assignment, Unreachable, assign
from service.notices.links import variant_url
from service.notices.schemas import Channel
from service.notices.service import Notice
from service.recipients.schemas import Recipient
from service.rendering.schemas import RenderedVariant, VariantKey
from service.rendering.service import render_variant
from service.variants.checks import VariantCheck, check_readability, check_variant
from service.variants.plan import variant_key

MAX_ATTEMPTS = 4
CONCURRENCY = 20


@dataclass
class SendPlan:
    """Everything that would go out, checked, before anything is sent."""

    assignments: list[Assignment]
    unreachable: list[Unreachable]
    variants: dict[VariantKey, RenderedVariant]
    checks: list[VariantCheck]
    sms_segments: int
    # The printable PDF each e-mail carries, by the e-mail's assignment index.
    attachments: dict[int, Attachment] = field(default_factory=dict)

    @property
    def failed_checks(self) -> list[VariantCheck]:
        """Checks of variants someone would receive that did not pass."""
        return [c for c in self.checks if not c.passed]

    def counts(self) -> Counter[tuple[str, str]]:
        """Messages per (channel, language)."""
        return Counter((a.channel.value, a.key.language) for a in self.assignments)


@dataclass
class SendOutcome:
    """What happened to each message."""

    sent: list[tuple[Assignment, OutgoingMessage, SendResult]] = field(default_factory=list)
    failed: list[tuple[Assignment, str]] = field(default_factory=list)


def plan_send(
    notice: Notice, recipients: list[Recipient], library: ContentLibrary, public_url: str | None
) -> SendPlan:
    """Choose, render and check every recipient's messages; sends nothing."""
    assignments: list[Assignment] = []
    unreachable: list[Unreachable] = []
    for recipient in recipients:
        mine, problem = assign(recipient, notice, library)
        assignments += mine
        if problem:
            unreachable.append(problem)
    variants: dict[VariantKey, RenderedVariant] = {}
    checks: dict[tuple[VariantKey, str], VariantCheck] = {}
    for a in assignments:
        if a.key not in variants:
            url = variant_url(public_url, a.key)
            variants[a.key] = render_variant(notice, a.key, library, public_url=url)
        if (a.key, a.audience.id) not in checks:
            variant = variants[a.key]
            readability = check_readability(variant, a.audience)
            checks[a.key, a.audience.id] = check_variant(variant, a.audience, readability)
    segments = sum(
        analyse_sms(variants[a.key].text).segments for a in assignments if a.channel == Channel.sms
    )
    attachments = pdf_attachments(notice, assignments, library, public_url)
    return SendPlan(
        assignments, unreachable, variants, list(checks.values()), segments, attachments
    )


def pdf_attachments(
    notice: Notice, assignments: list[Assignment], library: ContentLibrary, public_url: str | None
) -> dict[int, Attachment]:
    """The printable PDF for e-mails whose audience wants it, when the notice is printed."""
    from service.channels.print.pdf import render_pdf

    if Channel.print not in notice.envelope.channels:
        return {}
    pdfs: dict[VariantKey, Attachment] = {}
    result = {}
    for index, a in enumerate(assignments):
        if a.channel != Channel.email or not a.audience.extras.email_pdf:
            continue
        key = variant_key(a.audience, a.key.language, Channel.print)
        if key not in pdfs:
            variant = render_variant(notice, key, library, public_url=variant_url(public_url, key))
            data = render_pdf(
                variant, title=variant.subject, language=library.languages[key.language]
            )
            pdfs[key] = Attachment(
                f"{notice.scenario.id}-{key.language}.pdf", "application/pdf", data
            )
        result[index] = pdfs[key]
    return result


def outgoing(
    assignment: Assignment,
    variant: RenderedVariant,
    reference: str,
    attachment: Attachment | None = None,
) -> OutgoingMessage:
    """The transport-level message for one assignment."""
    return OutgoingMessage(
        channel=assignment.channel.value,
        to=assignment.address,
        text=variant.text,
        reference=reference,
        language=assignment.key.language,
        subject=variant.subject,
        html=variant.html if assignment.channel == Channel.email else None,
        attachments=(attachment,) if attachment else (),
    )


async def _send_one(
    transport: Transport, message: OutgoingMessage, semaphore: asyncio.Semaphore
) -> SendResult:
    """Send with retries for temporary errors: exponential backoff with full jitter."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            async with semaphore:
                return await transport.send(message)
        except TransportError as exc:
            if exc.permanent or attempt == MAX_ATTEMPTS:
                raise
            await asyncio.sleep(random.uniform(0, 0.2 * 2**attempt))
    raise AssertionError("unreachable")  # pragma: no cover


async def send_plan(
    plan: SendPlan, transports: dict[Channel, Transport], reference_prefix: str
) -> SendOutcome:
    """Send every planned message; one failure never stops the others."""
    semaphore = asyncio.Semaphore(CONCURRENCY)
    messages = [
        outgoing(
            a, plan.variants[a.key], f"{reference_prefix}-{index + 1}", plan.attachments.get(index)
        )
        for index, a in enumerate(plan.assignments)
    ]
    try:
        results = await asyncio.gather(
            *(
                _send_one(transports[a.channel], m, semaphore)
                for a, m in zip(plan.assignments, messages, strict=True)
            ),
            return_exceptions=True,
        )
    finally:
        # HTTP clients must be closed in the event loop that opened them.
        for transport in transports.values():
            close = getattr(transport, "aclose", None)
            if close is not None:
                await close()
    outcome = SendOutcome()
    for assignment, message, result in zip(plan.assignments, messages, results, strict=True):
        if isinstance(result, SendResult):
            outcome.sent.append((assignment, message, result))
        elif isinstance(result, TransportError):
            outcome.failed.append((assignment, str(result)))
        else:
            raise result
    return outcome
