"""The message each claimed delivery carries; each notice and variant is rendered once.

Plain data (Job) leaves this module, so a worker can build messages in one thread and send them
in another.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from babel import Locale
from sqlalchemy.orm import Session

from service.audiences.schemas import Register, Role
from service.channels.base import Attachment, OutgoingMessage
from service.channels.sms.encoding import analyse_sms
from service.clock import as_utc
from service.config import Settings
from service.content import ContentLibrary
from service.delivery.models import POSSIBLE_DUPLICATE, Delivery
from service.notices.links import notice_url, variant_url
from service.notices.models import NoticeRecord
from service.notices.publish import load_stored_notice
from service.notices.schemas import Channel
from service.notices.service import Notice
from service.rendering.catalogs import load_catalog
from service.rendering.schemas import RenderedVariant, VariantKey
from service.rendering.service import render_variant
from service.variants.plan import variant_key

logger = logging.getLogger(__name__)

# Caches are per worker process; a long-running worker forgets old notices instead of growing.
_CACHE_LIMIT = 2000


@dataclass(frozen=True, eq=False)
class Job:
    """A claimed delivery and its message; plain data, so it can cross threads.

    Compared by identity: a delivery claimed again later is a different job.
    """

    id: int
    channel: str
    attempts: int  # recorded before this claim
    message: OutgoingMessage | None
    problem: str | None = None  # why it can never be sent (a permanent failure)
    taken_over: bool = False  # claimed after another worker's lease expired mid-send
    outbox_only: bool = False  # the notice came from a test key: outbox transports only
    give_up_at: datetime | None = None  # temporary errors are retried until then (None: no end)
    cost: int = 1  # rate-limit units: an SMS's segments, one for an e-mail
    # A PDF the e-mail must carry that is not rendered yet: the worker renders it beside
    # dispatch (MessageBuilder.pdf) and attaches it before sending, never while claiming.
    pdf: PdfWanted | None = None


@dataclass(frozen=True)
class PdfWanted:
    """The printable notice an e-mail carries, to be rendered once for its variant."""

    notice_id: int
    notice: Notice
    code: str
    key: VariantKey  # the print variant


class MessageBuilder:
    """Turns claimed deliveries into messages; notices and variants are rendered once each."""

    def __init__(self, settings: Settings, library: ContentLibrary) -> None:
        self.settings = settings
        self.library = library
        self._notices: dict[int, tuple[Notice, str]] = {}
        self._outbox_only: dict[int, bool] = {}
        self._exercise: dict[int, bool] = {}
        self._segment_counts: dict[str, int] = {}
        self._variants: dict[tuple[int, VariantKey], RenderedVariant] = {}
        self._pdfs: dict[tuple[int, VariantKey], Attachment] = {}

    def warm_up(self) -> None:
        """Load every catalog and compile every message template, once, at the worker's start.

        Otherwise the first claim of a new notice pays for them (seconds on a busy machine)
        before its first message can leave.
        """
        for code, language in self.library.languages.items():
            load_catalog(self.library.locales_dir, code)
            _ = Locale.parse(language.babel_locale).days  # babel's locale data (dates)
        env = self.library.environment
        for name in env.list_templates(extensions=["j2"]):
            env.get_template(name)

    def notice(self, session: Session, notice_id: int) -> tuple[Notice, str]:
        """The validated notice and its public code (raises if the stored notice is unusable)."""
        if notice_id not in self._notices:
            if len(self._notices) > _CACHE_LIMIT:
                self._notices.clear()
            record = session.get(NoticeRecord, notice_id)
            if record is None:
                raise LookupError(f"notice {notice_id} does not exist")
            self._notices[notice_id] = (load_stored_notice(record, self.library), record.code)
            self._outbox_only[notice_id] = bool(record.outbox_only)
            self._exercise[notice_id] = record.mode != "actual"
        return self._notices[notice_id]

    def give_up_at(self, delivery: Delivery) -> datetime:
        """When temporary errors stop being retried: set on the row, or the notice's deadline."""
        if delivery.give_up_at is not None:
            return as_utc(delivery.give_up_at)
        s = self.settings
        exercise = self._exercise.get(delivery.notice_id, False)
        minutes = s.exercise_deadline_minutes if exercise else s.delivery_deadline_minutes
        return as_utc(delivery.created_at) + timedelta(minutes=minutes)

    def _variant(
        self, notice_id: int, notice: Notice, code: str, key: VariantKey
    ) -> RenderedVariant:
        if (notice_id, key) not in self._variants:
            if len(self._variants) > _CACHE_LIMIT:
                self._variants.clear()
            url = variant_url(notice_url(self.settings, code), key)
            self._variants[notice_id, key] = render_variant(
                notice, key, self.library, public_url=url
            )
        return self._variants[notice_id, key]

    def pdf(self, wanted: PdfWanted) -> Attachment:
        """The printable notice an e-mail carries, rendered once per variant (WeasyPrint, slow).

        Called by the worker beside dispatch, never while claiming: a claim that holds SMS
        must not wait seconds for an e-mail's attachment.
        """
        from service.channels.print.pdf import render_pdf  # WeasyPrint: loaded only if needed

        notice_id, notice, code, key = wanted.notice_id, wanted.notice, wanted.code, wanted.key
        if (notice_id, key) not in self._pdfs:
            if len(self._pdfs) > _CACHE_LIMIT:
                self._pdfs.clear()
            variant = self._variant(notice_id, notice, code, key)
            data = render_pdf(
                variant, title=variant.subject, language=self.library.languages[key.language]
            )
            name = f"{notice.scenario.id}-{key.language}.pdf"
            self._pdfs[notice_id, key] = Attachment(name, "application/pdf", data)
        return self._pdfs[notice_id, key]

    def job(self, session: Session, delivery: Delivery) -> Job:
        """The message for one delivery, or the reason none can be made."""
        taken_over = (delivery.last_error or "").startswith(POSSIBLE_DUPLICATE)
        base = Job(delivery.id, delivery.channel, delivery.attempts, None, None, taken_over)
        base = replace(base, give_up_at=self.give_up_at(delivery))
        if not delivery.address:
            return _problem(base, "no address: the recipient was deleted from the register")
        try:
            notice, code = self.notice(session, delivery.notice_id)
            channel = Channel(delivery.channel)
            key = VariantKey(
                delivery.language, Register(delivery.register), Role(delivery.role), channel
            )
            variant = self._variant(delivery.notice_id, notice, code, key)
            profile = self.library.audiences.get(delivery.audience)
            if profile is None:
                raise LookupError(f"unknown audience profile {delivery.audience!r}")
            attachment, wanted = None, None
            if (
                channel == Channel.email
                and profile.extras.email_pdf
                and Channel.print in notice.envelope.channels
            ):
                print_key = variant_key(profile, delivery.language, Channel.print)
                attachment = self._pdfs.get((delivery.notice_id, print_key))
                if attachment is None:  # rendered by the worker beside dispatch
                    wanted = PdfWanted(delivery.notice_id, notice, code, print_key)
        except Exception as exc:  # a notice or variant we cannot render can never be sent
            reason = f"could not build the message: {type(exc).__name__}: {exc}"
            logger.warning("delivery %s: %s", delivery.id, reason)
            return _problem(base, reason)
        message = OutgoingMessage(
            channel=channel.value,
            to=delivery.address,
            text=variant.text,
            # Our id for the message: Message-ID, idempotency and the provider's callbacks.
            reference=f"d{delivery.id}",
            language=delivery.language,
            subject=variant.subject,
            html=variant.html if channel == Channel.email else None,
            attachments=(attachment,) if attachment else (),
        )
        outbox_only = self._outbox_only.get(delivery.notice_id, False)
        cost = self._segments(variant.text) if channel == Channel.sms else 1
        return replace(
            base,
            message=message,
            outbox_only=outbox_only,
            give_up_at=self.give_up_at(delivery),
            cost=cost,
            pdf=wanted,
        )

    def _segments(self, text: str) -> int:
        """An SMS text's segments (counted once per text: a variant's text is shared)."""
        if text not in self._segment_counts:
            if len(self._segment_counts) > _CACHE_LIMIT:
                self._segment_counts.clear()
            self._segment_counts[text] = max(1, analyse_sms(text).segments)
        return self._segment_counts[text]


def with_pdf(job: Job, attachment: Attachment) -> OutgoingMessage:
    """The job's message carrying its rendered PDF."""
    assert job.message is not None
    return replace(job.message, attachments=(*job.message.attachments, attachment))


def _problem(job: Job, reason: str) -> Job:
    return replace(job, message=None, problem=reason)
