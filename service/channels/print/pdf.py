"""Printable notices: tagged PDF/UA-1 files made with WeasyPrint from a print variant's HTML."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import segno
from weasyprint import HTML, Document
from weasyprint.urls import URLFetcher, URLFetcherResponse

from service.notices.schemas import Channel
from service.rendering.languages import Language
from service.rendering.schemas import RenderedVariant

# PDF/UA-1 makes WeasyPrint write the structure tree (tagged PDF), the document title shown
# instead of the file name, and the XMP metadata screen readers and checkers look for.
PDF_VARIANT = "pdf/ua-1"
# print.html.j2 asks for the QR code with this scheme; the fetcher below draws it.
QR_SCHEME = "klarvarsel-qr:"

Finisher = Callable[[Any, Any], None]


def qr_svg(url: str) -> bytes:
    """The QR code for `url` as black-on-white SVG (quiet zone included, no fixed size)."""
    buffer = io.BytesIO()
    code = segno.make(url, error="m")
    code.save(buffer, kind="svg", border=4, dark="#000000", light="#ffffff", omitsize=True)
    return buffer.getvalue()


class OfflineResources(URLFetcher):  # type: ignore[misc]  # WeasyPrint is untyped
    """Serves the QR code and data: URIs; refuses everything else.

    A notice is printed when networks may be down, and a template must not make the PDF depend
    on (or leak the notice to) a remote server, so any other address stops the render.
    """

    def __init__(self) -> None:
        super().__init__(allowed_protocols=["data"], fail_on_errors=True)

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        """The resource at `url`, or a fatal error for anything but QR codes and data: URIs."""
        if url.startswith(QR_SCHEME):
            target = unquote(url.removeprefix(QR_SCHEME))
            return URLFetcherResponse(url, qr_svg(target), {"Content-Type": "image/svg+xml"})
        return super().fetch(url, headers)  # data: only; other schemes raise ValueError


def render_document(variant: RenderedVariant, *, title: str, language: Language) -> Document:
    """Lay out a print variant's pages, with the title and language the PDF will carry."""
    if variant.key.channel != Channel.print or variant.html is None:
        raise ValueError(f"not a print variant: {variant.key.name}")
    if variant.key.language != language.tag:
        raise ValueError(f"variant is in {variant.key.language!r}, not {language.tag!r}")
    document = HTML(string=variant.html, url_fetcher=OfflineResources()).render()
    # Set explicitly rather than trusting <title> and <html lang>: a pack of several languages
    # takes its title and language from the caller, not from its first page.
    document.metadata.title = title
    document.metadata.lang = language.cap_language
    return document


def write_tagged_pdf(document: Document, finisher: Finisher | None = None) -> bytes:
    """Write laid-out pages as PDF/UA-1 (tagged, fonts subset and embedded)."""
    pdf: bytes = document.write_pdf(pdf_variant=PDF_VARIANT, finisher=finisher)
    return pdf


def render_pdf(variant: RenderedVariant, *, title: str, language: Language) -> bytes:
    """The print variant as a tagged PDF with document title and language."""
    return write_tagged_pdf(render_document(variant, title=title, language=language))
