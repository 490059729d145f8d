"""Variants: what one rendering of a notice is keyed by and what it produces."""

from __future__ import annotations

from dataclasses import dataclass, field

from service.audiences.schemas import Register, Role
from service.notices.schemas import Channel
from service.rendering.catalogs import MessageStatus
from service.rendering.languages import ReviewStatus


@dataclass(frozen=True, order=True)
class VariantKey:
    """One rendered version: register, role, language and channel (and print size)."""

    language: str
    register: Register
    role: Role
    channel: Channel
    print_pt: int = 0  # body text size of a printed notice; 0 for the other channels

    @property
    def name(self) -> str:
        """File-name stem, e.g. 'easy_read.sms' or 'standard-staff.print-18pt'."""
        who = self.register.value if self.role == Role.public else f"{self.register}-{self.role}"
        size = f"-{self.print_pt}pt" if self.print_pt else ""
        return f"{who}.{self.channel.value}{size}"


@dataclass(frozen=True)
class TranslationUsage:
    """Whether every message a variant used was translated, and how far to trust it."""

    language: str
    review_status: ReviewStatus
    messages: int
    fuzzy: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    # Free text from the communicator (note, general-scenario text) with no version in this
    # language: it is shown in Swedish and needs a human translation.
    untranslated_user_text: list[str] = field(default_factory=list)
    # The whole message is free text that no one has translated into this language.
    blocking_user_text: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        """complete, incomplete (English fell in), or needs_human_translation."""
        if self.blocking_user_text:
            return "needs_human_translation"
        if self.fuzzy or self.missing:
            return "incomplete"
        return "complete"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form for report.json."""
        return {
            "status": self.status,
            "review_status": self.review_status.value,
            "messages": self.messages,
            "fuzzy": self.fuzzy,
            "missing": self.missing,
            "untranslated_user_text": self.untranslated_user_text,
            "blocking_user_text": self.blocking_user_text,
        }


@dataclass(frozen=True)
class RenderedVariant:
    """The output of rendering one variant."""

    key: VariantKey
    subject: str
    text: str
    html: str | None
    translation: TranslationUsage
    statuses: dict[str, MessageStatus] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class RenderedParts:
    """A notice's text in named parts (plain text), e.g. CAP's headline and description."""

    key: VariantKey
    parts: dict[str, str]
    translation: TranslationUsage
