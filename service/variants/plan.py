"""Planning: the variants a notice needs (audiences x languages x channels)."""

from __future__ import annotations

from dataclasses import dataclass

from service.audiences.schemas import AudienceProfile
from service.content import ContentLibrary
from service.notices.schemas import Channel
from service.notices.service import Notice
from service.rendering.schemas import VariantKey


@dataclass(frozen=True)
class PlannedVariant:
    """One audience's version in one language on one channel; many rows share a variant."""

    audience: AudienceProfile
    key: VariantKey


def variant_key(audience: AudienceProfile, language: str, channel: Channel) -> VariantKey:
    """The variant an audience gets in a language on a channel."""
    print_pt = int(audience.print.body_font_pt) if channel == Channel.print else 0
    return VariantKey(language, audience.text_register, audience.role, channel, print_pt)


def plan_variants(notice: Notice, library: ContentLibrary) -> list[PlannedVariant]:
    """Every (audience, variant) the notice asks for, channels in the audience's priority order."""
    envelope = notice.envelope
    rows: list[PlannedVariant] = []
    for audience_id in envelope.audiences:
        audience = library.audiences[audience_id]
        languages = [
            lang
            for lang in envelope.languages
            if audience.languages is None or lang in audience.languages
        ]
        channels = [c for c in audience.channels if c in envelope.channels]
        for language in languages:
            for channel in channels:
                rows.append(PlannedVariant(audience, variant_key(audience, language, channel)))
    return rows
