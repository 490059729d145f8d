"""A notice's words per language for CAP and the feeds, only where they really are translated.

The text is the standard-register public web variant's (the same blocks, through
_layouts/cap.j2). A language gets an <info> only when every message of it is translated and the
communicator's own text (free-text fields, the note) exists in it: otherwise the text would be
English or Swedish labelled as another language, which CAP receivers would pass on as a
translation. Such a language is left out with its reason, never sent as if translated.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.audiences.schemas import Register, Role
from service.content import ContentLibrary
from service.interop.validation import repeated_text
from service.notices.links import variant_url
from service.notices.schemas import Channel
from service.notices.service import Notice
from service.rendering.languages import ReviewStatus
from service.rendering.schemas import TranslationUsage, VariantKey
from service.rendering.service import render_parts

CAP_LAYOUT = "_layouts/cap.j2"
HEADLINE_MAX = 140  # CAP advises short headlines; 140 fits a phone's lock screen and a tweet


@dataclass(frozen=True)
class InfoTexts:
    """The words of one language's <info>."""

    language: str
    event: str
    headline: str
    description: str
    instruction: str
    web: str | None


def shorten(text: str, limit: int = HEADLINE_MAX) -> str:
    """`text` cut at a word boundary to at most `limit` characters, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    cut = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return cut.rstrip(" ,.;:") + "…"


def untranslated_reason(usage: TranslationUsage) -> str | None:
    """Why the variant's text is not a real translation, or None when it is."""
    tag = usage.language
    if usage.review_status == ReviewStatus.missing:
        return f"there is no {tag} catalog: the text would be English"
    if usage.blocking_user_text:
        fields = ", ".join(usage.blocking_user_text)
        return f"no {tag} text was written for {fields}: the text would be Swedish"
    if usage.untranslated_user_text:
        fields = ", ".join(usage.untranslated_user_text)
        return f"no {tag} text was written for {fields}: it would be shown in Swedish"
    if usage.fuzzy or usage.missing:
        count = len(usage.fuzzy) + len(usage.missing)
        return f"{count} messages are not translated into {tag}: they would be English"
    return None


def language_texts(
    notice: Notice, tag: str, library: ContentLibrary, public_url: str | None
) -> InfoTexts | str:
    """The CAP words of one language, or the reason the language cannot have them."""
    key = VariantKey(tag, Register.standard, Role.public, Channel.web)
    web = variant_url(public_url, key)
    rendered = render_parts(notice, key, library, CAP_LAYOUT, public_url=web)
    reason = untranslated_reason(rendered.translation)
    if reason is not None:
        return reason
    parts = rendered.parts
    return InfoTexts(
        language=tag,
        event=parts["title"],
        headline=shorten(parts["subject"]),
        description=parts["description"],
        instruction=parts["instruction"],
        web=web,
    )


def notice_texts(
    notice: Notice, library: ContentLibrary, public_url: str | None
) -> tuple[list[InfoTexts], dict[str, str]]:
    """The texts of every language that is really translated, and why the others are not."""
    texts: list[InfoTexts] = []
    skipped: dict[str, str] = {}
    for tag in notice.envelope.languages:
        result = language_texts(notice, tag, library, public_url)
        if isinstance(result, str):
            skipped[tag] = result
            continue
        candidates = [
            (t.language, (t.headline, t.description, t.instruction)) for t in [*texts, result]
        ]
        repeats = [r for r in repeated_text(candidates) if r[1] == len(texts)]
        if repeats:
            same = texts[repeats[0][0]].language
            skipped[tag] = f"its text repeats the {same} text word for word: not translated"
            continue
        texts.append(result)
    return texts, skipped
