"""`python -m bench.pdf`: median PDF render time per page (sv, ar, ti; target < 150 ms/page)."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from service.channels.print.pack import build_print_pack
from service.channels.print.pdf import render_document, write_tagged_pdf
from service.content import get_library
from service.notices.schemas import Channel
from service.notices.service import validate_notice
from service.rendering.languages import Language
from service.rendering.schemas import RenderedVariant
from service.rendering.service import render_variant
from service.variants.plan import variant_key

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "message_templates" / "water_outage" / "example.json"
PUBLIC_URL = "https://www.vasteras.se/n/AB12CD"
RUNS = 20
# (audience, body size): standard print and large print with pictogram and high contrast
PROFILES = [("general-public", 12), ("visually-impaired", 18)]


def render(variant: RenderedVariant, language: Language) -> int:
    """Lay out and write one PDF; the number of pages."""
    document = render_document(variant, title=variant.subject, language=language)
    write_tagged_pdf(document)
    return len(document.pages)


def main() -> None:
    """Print the median render time per page for each language and print size."""
    library = get_library()
    notice = validate_notice(json.loads(EXAMPLE.read_text("utf-8")), library)
    print(f"water_outage example, {RUNS} renders each after one warm-up, PDF/UA-1, QR code")
    for audience_id, size in PROFILES:
        audience = library.audiences[audience_id]
        for lang in ("sv", "ar", "ti"):
            key = variant_key(audience, lang, Channel.print)
            variant = render_variant(notice, key, library, public_url=PUBLIC_URL)
            language = library.languages[lang]
            pages = render(variant, language)
            samples = []
            for _ in range(RUNS):
                start = time.perf_counter()
                render(variant, language)
                samples.append((time.perf_counter() - start) * 1000)
            per_page = statistics.median(samples) / pages
            label = f"{lang} {size} pt ({audience_id}), {pages} page(s)"
            print(f"{label:<44} median {per_page:6.1f} ms/page  (min {min(samples) / pages:.1f})")
    start = time.perf_counter()
    pack = build_print_pack(notice, library, "older-people-living-alone", public_url=PUBLIC_URL)
    elapsed = (time.perf_counter() - start) * 1000
    languages = len(notice.envelope.languages)
    print(f"print pack, {languages} languages at 18 pt: {elapsed:.0f} ms, {len(pack) // 1024} KiB")


if __name__ == "__main__":
    main()
