"""The print pack: one tagged PDF with every language of a notice for one audience.

Home-care staff print it and hand the right pages to clients when phones are dead. Each language
starts on a new page. WeasyPrint 70 writes the language only into the document catalog, so the
pack marks every top-level structure element with the language of its page: screen readers
switch voice per element, and the pack's own language is Swedish.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pydyf  # type: ignore[import-untyped]  # no type information shipped

from service.channels.print.pdf import Finisher, render_document, write_tagged_pdf
from service.content import ContentLibrary
from service.notices.schemas import Channel
from service.notices.service import Notice
from service.rendering.schemas import RenderedVariant
from service.rendering.service import SOURCE_LANGUAGE, render_variant
from service.variants.plan import variant_key

logger = logging.getLogger(__name__)

PACK_LANGUAGE = "sv"  # the pack is a Swedish municipality's document


@dataclass(frozen=True)
class PackPlan:
    """Which languages a pack prints (Swedish first) and which it leaves out, and why."""

    variants: list[RenderedVariant]
    left_out: dict[str, str] = field(default_factory=dict)

    @property
    def languages(self) -> list[str]:
        """Language tags in page order."""
        return [v.key.language for v in self.variants]


def plan_print_pack(
    notice: Notice, library: ContentLibrary, audience_id: str, *, public_url: str | None = None
) -> PackPlan:
    """Render the audience's print variant in every language of the notice.

    A language whose text is incomplete (missing or fuzzy messages, or communicator text no one
    has translated) is left out with the reason: handing someone English or Swedish labelled as
    their language would be worse than handing them the Swedish page.
    """
    audience = library.audiences.get(audience_id)
    if audience is None:
        raise ValueError(f"unknown audience {audience_id!r}")
    languages = [
        lang
        for lang in notice.envelope.languages
        if audience.languages is None or lang in audience.languages
    ]
    languages.sort(key=lambda lang: lang != SOURCE_LANGUAGE)  # stable: Swedish first
    variants: list[RenderedVariant] = []
    left_out: dict[str, str] = {}
    for lang in languages:
        key = variant_key(audience, lang, Channel.print)
        variant = render_variant(notice, key, library, public_url=public_url)
        if variant.translation.status == "complete":
            variants.append(variant)
        else:
            left_out[lang] = f"translation {variant.translation.status}"
    if left_out:
        logger.warning("print pack for %s leaves out %s", audience_id, left_out)
    return PackPlan(variants, left_out)


def _struct_object(pdf: Any, reference: bytes) -> Any:
    """The pydyf object behind an indirect reference such as b'12 0 R'."""
    number = int(reference.split()[0])
    obj = pdf.objects[number]
    if obj.number != number:  # pydyf keeps objects at their number; stop if that changes
        raise RuntimeError(f"PDF object {number} not found")
    return obj


def _mark_languages(page_languages: list[str]) -> Finisher:
    """A WeasyPrint finisher that writes /Lang on each top-level structure element."""

    def finisher(document: Any, pdf: Any) -> None:
        root = _struct_object(pdf, pdf.catalog["StructTreeRoot"])
        (top,) = root["K"]  # WeasyPrint's single /Document element
        page_index = {reference: i for i, reference in enumerate(pdf.page_references)}
        for reference in _struct_object(pdf, top)["K"]:
            element = _struct_object(pdf, reference)
            element["Lang"] = pydyf.String(page_languages[page_index[element["Pg"]]])

    return finisher


def build_print_pack(
    notice: Notice, library: ContentLibrary, audience_id: str, *, public_url: str | None = None
) -> bytes:
    """One tagged PDF with every printable language for the audience, each from a new page."""
    plan = plan_print_pack(notice, library, audience_id, public_url=public_url)
    if not plan.variants:
        raise ValueError(f"no language can be printed for {audience_id}: {plan.left_out}")
    return write_print_pack(plan, library)


def write_print_pack(plan: PackPlan, library: ContentLibrary) -> bytes:
    """Lay out and write a planned pack (callers that show the plan first render it once)."""
    if not plan.variants:
        raise ValueError(f"no language can be printed: {plan.left_out}")
    documents, page_languages = [], []  # pages and the language tag of each page
    for variant in plan.variants:
        language = library.languages[variant.key.language]
        document = render_document(variant, title=variant.subject, language=language)
        documents.append(document)
        page_languages += [language.cap_language] * len(document.pages)
    pack = documents[0].copy([page for document in documents for page in document.pages])
    pack.metadata.lang = library.languages[PACK_LANGUAGE].cap_language
    pack.metadata.title = next(
        (v.subject for v in plan.variants if v.key.language == PACK_LANGUAGE),
        plan.variants[0].subject,
    )
    return write_tagged_pdf(pack, _mark_languages(page_languages))
