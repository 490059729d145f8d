"""Rendering one variant of a notice: templates + catalogs -> subject, text and HTML."""

from __future__ import annotations

import re
from typing import Any

from babel import Locale
from markupsafe import Markup, escape

from service.channels.sms.encoding import normalise_for_sms
from service.content import ContentLibrary
from service.notices.scenarios import FieldType
from service.notices.schemas import Channel, MessageType, Mode
from service.notices.service import Notice
from service.rendering.bidi import (
    Isolated,
    isolate_html,
    isolate_sms,
    isolate_text,
    needs_isolate,
)
from service.rendering.catalogs import MessageStatus, UsageTracker, load_catalog
from service.rendering.environment import gettext_callables
from service.rendering.html_text import html_to_text
from service.rendering.languages import Language, ReviewStatus
from service.rendering.schemas import (
    RenderedParts,
    RenderedVariant,
    TranslationUsage,
    VariantKey,
)

SOURCE_LANGUAGE = "sv"  # communicator text (notes, free-text scenarios) is written in Swedish


class UserTextGaps:
    """Collects communicator text that has no version in the variant's language."""

    def __init__(self) -> None:
        self.fallback: list[str] = []
        self.blocking: list[str] = []


class UserText:
    """Communicator text for one language; records a gap only when a template shows it."""

    def __init__(
        self,
        texts: dict[str, str],
        name: str,
        lang: Language,
        gaps: UserTextGaps,
        *,
        blocking: bool,
    ) -> None:
        self.texts, self.name, self.lang, self.gaps, self.blocking = (
            texts,
            name,
            lang,
            gaps,
            blocking,
        )

    def _text(self) -> str | None:
        """The text in the variant's language, or None after recording the gap."""
        if self.lang.tag in self.texts:
            return self.texts[self.lang.tag]
        (self.gaps.blocking if self.blocking else self.gaps.fallback).append(self.name)
        return None

    def __bool__(self) -> bool:
        return bool(self.texts)

    @property
    def in_swedish(self) -> bool:
        """Shown in Swedish because there is no version in the variant's language."""
        return self.lang.tag not in self.texts and SOURCE_LANGUAGE in self.texts

    def __str__(self) -> str:
        text = self._text()
        shown = self.texts[SOURCE_LANGUAGE] if text is None else text
        return str(Isolated(shown)) if self.lang.rtl and needs_isolate(shown) else shown

    def __html__(self) -> str:
        text = self._text()
        if text is not None:
            if self.lang.rtl and needs_isolate(text):
                return Isolated(text).__html__()
            return str(escape(text))
        # Screen readers switch voice on `lang`, so Swedish inside an Arabic page must say so.
        return str(Markup('<span lang="sv" dir="ltr">%s</span>') % self.texts[SOURCE_LANGUAGE])


def _isolated(value: str) -> str:
    return Isolated(value) if needs_isolate(value) else value


def _isolate_fields(notice: Notice, fields: dict[str, Any]) -> None:
    """In right-to-left output, communicator text (places, addresses, routes) is one isolate."""
    for spec in notice.scenario.fields:
        value = fields.get(spec.name)
        if value is None:
            continue
        if spec.type == FieldType.text:
            fields[spec.name] = _isolated(value)
        elif spec.type == FieldType.text_list:
            fields[spec.name] = [_isolated(item) for item in value]


def _context(
    notice: Notice,
    key: VariantKey,
    library: ContentLibrary,
    tracker: UsageTracker,
    gaps: UserTextGaps,
    public_url: str | None,
) -> dict[str, Any]:
    lang = library.languages[key.language]
    envelope = notice.envelope
    fields: dict[str, Any] = {f.name: None for f in notice.scenario.fields}
    fields.update(notice.fields)
    for name in notice.passed_ends():
        fields[name] = None  # an end already over is not known any more (Notice.passed_ends)
    for name in notice.free_text_fields():
        fields[name] = UserText(fields[name], name, lang, gaps, blocking=True)
    if lang.rtl:
        _isolate_fields(notice, fields)
    note = UserText(envelope.note, "note", lang, gaps, blocking=False) if envelope.note else None
    contact = envelope.contact
    return {
        **gettext_callables(tracker.gettext, tracker.ngettext),
        "f": fields,
        "scenario": notice.scenario.id,
        "message_type": envelope.message_type.value,
        "mode": envelope.mode.value,
        "exercise": envelope.mode != Mode.actual,
        "update": envelope.message_type == MessageType.update,
        "all_clear": envelope.message_type == MessageType.all_clear,
        "cancel": envelope.message_type == MessageType.cancel,
        "severity": envelope.severity.value,
        "urgency": envelope.urgency.value,
        "contact": {
            "phone": contact.phone,
            "web": str(contact.web) if contact.web else None,
            "email": contact.email,
        },
        "note": note,
        "sign_language_url": str(envelope.sign_language_url or "") or None,
        "role": key.role.value,
        "register": key.register.value,
        "channel": key.channel.value,
        "print_pt": key.print_pt,
        "lang": lang,
        "dir": lang.direction,
        "babel_locale": Locale.parse(lang.babel_locale),
        "tz": library.timezone,
        "sent_at": notice.sent_at,
        "municipality": library.municipality,
        "public_url": public_url,
    }


def _tidy_sms(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _block(template: Any, name: str, context: dict[str, Any], *, html: bool) -> str:
    """One block of a template as a line of plain text (title, headline)."""
    rendered = "".join(template.blocks[name](template.new_context(context)))
    if html:  # keeps the isolation of right-to-left output as isolate characters
        return " ".join(html_to_text(rendered, isolates=context["lang"].rtl).split())
    return " ".join(Markup(rendered).unescape().split())


def render_variant(
    notice: Notice, key: VariantKey, library: ContentLibrary, *, public_url: str | None = None
) -> RenderedVariant:
    """Render one variant; translation gaps are recorded, never hidden.

    `public_url` is the notice's public web page once it is published (None in previews).
    """
    lang = library.languages[key.language]
    tracker = UsageTracker(load_catalog(library.locales_dir, key.language))
    gaps = UserTextGaps()
    context = _context(notice, key, library, tracker, gaps, public_url)
    env = library.environment
    scenario = notice.scenario.id
    if key.channel == Channel.sms:
        template = env.get_template(f"{scenario}/{key.register.value}.sms.j2")
        # Rendered as it will be sent: normalised to GSM-7 wherever that keeps the meaning.
        text = normalise_for_sms(_tidy_sms(template.render(context)))
        if lang.rtl:
            text = isolate_sms(text)
        context["title"] = context["headline"] = _block(template, "title", context, html=False)
        html = None
    else:
        template = env.get_template(f"{scenario}/{key.register.value}.body.j2")
        body = Markup(template.render(context))
        if lang.rtl:
            body = isolate_html(body)
        context["title"] = _block(template, "title", context, html=True)
        context["headline"] = _block(template, "headline", context, html=True)
    subject = " ".join(env.get_template("_layouts/subject.j2").render(context).split())
    if lang.rtl:
        subject = isolate_text(subject)
    if key.channel != Channel.sms:
        context.update(subject=subject, body=body)
        html = env.get_template(f"_layouts/{key.channel.value}.html.j2").render(context)
        if lang.rtl:  # what the layout adds (a municipality may have edited it)
            html = str(isolate_html(html))
        text = html_to_text(body, isolates=lang.rtl)
    usage = _usage(lang, library, tracker, gaps)
    return RenderedVariant(key, subject, text, html, usage, dict(tracker.used))


def _usage(
    lang: Language, library: ContentLibrary, tracker: UsageTracker, gaps: UserTextGaps
) -> TranslationUsage:
    review = ReviewStatus.source if lang.tag == "en" else lang.review_status
    if not load_catalog(library.locales_dir, lang.tag).exists and lang.tag != "en":
        review = ReviewStatus.missing
    problems = tracker.problems()
    return TranslationUsage(
        language=lang.tag,
        review_status=review,
        messages=len(tracker.used),
        fuzzy=sorted(problems.get(MessageStatus.fuzzy.value, [])),
        missing=sorted(problems.get(MessageStatus.missing.value, [])),
        untranslated_user_text=sorted(set(gaps.fallback)),
        blocking_user_text=sorted(set(gaps.blocking)),
    )


def _rendered_blocks(template: Any, context: dict[str, Any]) -> dict[str, Markup]:
    """Every block of `template`, after a full render ran its top-level assignments."""
    ctx = template.new_context(context)
    "".join(template.root_render_func(ctx))  # blocks read variables the template sets
    return {name: Markup("".join(funcs[0](ctx))) for name, funcs in ctx.blocks.items()}


def render_parts(
    notice: Notice,
    key: VariantKey,
    library: ContentLibrary,
    layout: str,
    *,
    public_url: str | None = None,
) -> RenderedParts:
    """The notice's text in parts: title, headline, subject and `layout`'s blocks, as text.

    The scenario's long-form blocks (title, headline, summary, content) are rendered as for
    the variant `key` and handed to `layout` (e.g. _layouts/cap.j2 for CAP's description and
    instruction). Translation gaps are recorded exactly as render_variant records them.
    """
    lang = library.languages[key.language]
    tracker = UsageTracker(load_catalog(library.locales_dir, key.language))
    gaps = UserTextGaps()
    context = _context(notice, key, library, tracker, gaps, public_url)
    env = library.environment
    body = env.get_template(f"{notice.scenario.id}/{key.register.value}.body.j2")
    scenario_blocks = _rendered_blocks(body, context)
    context.update(scenario_blocks)
    context["title"] = " ".join(scenario_blocks["title"].unescape().split())
    context["headline"] = " ".join(scenario_blocks["headline"].unescape().split())
    subject = " ".join(env.get_template("_layouts/subject.j2").render(context).split())
    parts = {"title": context["title"], "headline": context["headline"], "subject": subject}
    for name, html in _rendered_blocks(env.get_template(layout), context).items():
        if lang.rtl:  # CAP readers show these texts too: numbers keep their reading order
            html = isolate_html(html)
        parts[name] = html_to_text(html, isolates=lang.rtl).strip()
    if lang.rtl:
        parts.update({k: isolate_text(parts[k]) for k in ("title", "headline", "subject")})
    return RenderedParts(key, parts, _usage(lang, library, tracker, gaps))
