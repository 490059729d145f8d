"""The communicator's own text inside a variant, checked like ours: readability and translation.

Free text (the note, a free-text scenario's text, prose fields such as a route or what has
happened) reaches a variant as written, in the variant's language when the communicator gave
one, else in Swedish. Each piece the variant shows is measured against the audience's limits for
the language it is written in, with the plain-word suggestions, and a Swedish piece inside
another language's variant is counted as needing translation. These findings concern the
communicator's text, not the templates, so they inform the preview and never fail the variant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.audiences.schemas import AudienceProfile
from service.channels.sms.encoding import normalise_for_sms
from service.notices.schemas import Channel
from service.notices.service import Notice
from service.readability.models import ReadabilityReport
from service.readability.service import check_text
from service.rendering.bidi import strip_isolates
from service.rendering.schemas import RenderedVariant

SOURCE_LANGUAGE = "sv"


@dataclass(frozen=True)
class CommunicatorText:
    """One piece of the communicator's text as a variant shows it."""

    field: str
    text: str
    language: str  # the language it is written in
    needs_translation: bool  # written in Swedish inside another language's variant


@dataclass(frozen=True)
class CommunicatorTextCheck:
    """A piece of communicator text and its readability for one audience."""

    piece: CommunicatorText
    readability: ReadabilityReport

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the preview's check report."""
        return {
            "concerns": "communicator_text",
            "field": self.piece.field,
            "text": self.piece.text,
            "text_language": self.piece.language,
            "needs_translation": self.piece.needs_translation,
            "passed": self.readability.passed,
            "findings": [f.to_dict() for f in self.readability.findings],
        }


def _pieces(notice: Notice, language: str) -> list[CommunicatorText]:
    """Every piece of communicator text a variant in `language` may show."""
    found: list[CommunicatorText] = []
    by_language: dict[str, dict[str, str]] = {}
    if notice.envelope.note:
        by_language["note"] = dict(notice.envelope.note)
    for name in notice.free_text_fields():
        value = notice.fields.get(name)
        if isinstance(value, dict):
            by_language[name] = value
    for name, texts in by_language.items():
        if language in texts:
            found.append(CommunicatorText(name, texts[language], language, False))
        elif SOURCE_LANGUAGE in texts:
            text = texts[SOURCE_LANGUAGE]
            found.append(CommunicatorText(name, text, SOURCE_LANGUAGE, True))
    for spec in notice.scenario.fields:
        value = notice.fields.get(spec.name)
        if spec.prose and isinstance(value, str) and value.strip():
            needs = language != SOURCE_LANGUAGE
            found.append(CommunicatorText(spec.name, value, SOURCE_LANGUAGE, needs))
    return found


def shown_pieces(notice: Notice, variant: RenderedVariant) -> list[CommunicatorText]:
    """The pieces of communicator text the variant actually shows."""
    shown = strip_isolates(variant.text)
    pieces = []
    for piece in _pieces(notice, variant.key.language):
        text = piece.text
        if variant.key.channel == Channel.sms:
            text = normalise_for_sms(text)
        if " ".join(text.split()) in " ".join(shown.split()):
            pieces.append(piece)
    return pieces


def check_pieces(
    pieces: list[CommunicatorText],
    audience: AudienceProfile,
    cache: dict[tuple[str, str, str], ReadabilityReport],
) -> list[CommunicatorTextCheck]:
    """Each piece against the audience's limits for the language it is written in."""
    checks = []
    for piece in pieces:
        limits = audience.limits_for(piece.language)
        key = (piece.text, piece.language, limits.model_dump_json())
        if key not in cache:
            cache[key] = check_text(piece.text, piece.language, limits)
        checks.append(CommunicatorTextCheck(piece, cache[key]))
    return checks
