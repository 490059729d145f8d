"""Printable PDFs and the print pack, checked with poppler (pdfinfo, pdffonts, pdftotext)."""

from __future__ import annotations

import dataclasses
import html
import itertools
import re
import subprocess
import unicodedata
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pydyf  # type: ignore[import-untyped]
import pytest
from weasyprint.urls import FatalURLFetchingError

from service.channels.print.pack import build_print_pack, plan_print_pack
from service.channels.print.pdf import render_document, render_pdf
from service.channels.print.pictograms import missing_pictograms, pictogram_svg
from service.content import ContentLibrary
from service.notices.schemas import Channel
from service.notices.service import Notice, validate_notice
from service.rendering.languages import ReviewStatus
from service.rendering.schemas import RenderedVariant
from service.rendering.service import render_variant
from service.variants.plan import variant_key
from tests.conftest import ROOT, load_json

PUBLIC_URL = "https://www.vasteras.se/n/AB12CD"
LARGE_PRINT = "visually-impaired"  # 18 pt, high contrast, pictograms
CASES = [(s, lang) for s in ("water_outage", "heat_wave") for lang in ("sv", "ar", "ti")]
# WeasyPrint draws in CSS pixels under a `0.75 0 0 0.75 0 0 cm` page matrix (1 px = 0.75 pt).
PX_TO_PT = 0.75
A4_WIDTH = 595.276
MARGIN_X = 15 / 25.4 * 72  # print.html.j2's 15 mm side margins, in points


Printed = dict[tuple[str, str], tuple[RenderedVariant, Path]]


def run(*args: str | Path) -> str:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, check=True, timeout=30
    ).stdout


def example(library: ContentLibrary, scenario: str) -> Notice:
    return validate_notice(
        load_json(ROOT / "message_templates" / scenario / "example.json"), library
    )


def streams(pdf: bytes) -> bytes:
    """Every stream inflated (content, object streams with the structure tree), plus the file."""
    parts = [pdf]
    for match in re.finditer(rb"stream\r?\n", pdf):
        end = pdf.find(b"endstream", match.end())
        try:
            parts.append(zlib.decompress(pdf[match.end() : end]))
        except zlib.error:
            continue  # fonts and images that are not Flate-compressed
    return b"\n".join(parts)


def pdf_string(text: str) -> bytes:
    """`text` as WeasyPrint (pydyf) writes it into the PDF."""
    data: bytes = pydyf.String(text).data
    return data


def normalise(text: str) -> str:
    """Compare letters in reading order: no format characters, marks or whitespace.

    pdftotext adds bidi controls around the runs it reorders, drops the zero-width non-joiner
    (Persian), which has no glyph, and places Arabic vowel marks as separate, spaced characters;
    the letters between them are what must be in logical order.
    """
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cf", "Mn"))
    return "".join(text.split())


def as_pdftotext_reads(text: str) -> str:
    """The lam-alef ligatures as pdftotext writes them.

    The PDF maps each ligature glyph to lam then alef (logical order) in its ToUnicode table,
    but pdftotext reverses the glyph's two characters when it reorders a right-to-left line,
    so 'لا' comes out as 'ال'. Every other letter must be in logical order.
    """
    return normalise(re.sub("ل([اأإآى])", r"\1ل", text))  # within words, before spaces go


def headline(variant: RenderedVariant) -> str:
    assert variant.html is not None
    found = re.search(r"<h1>(.*?)</h1>", variant.html, re.S)
    assert found, variant.key
    return html.unescape(found.group(1))


def font_sizes_pt(pdf: bytes) -> list[float]:
    content = streams(pdf)
    assert b"0.75 0 0 0.75 0 0 cm" in content
    return [float(size) * PX_TO_PT for size in re.findall(rb"/\S+ ([\d.]+) Tf", content)]


def word_boxes(path: Path) -> list[tuple[float, ...]]:
    """xMin, yMin, xMax, yMax of every word pdftotext finds."""
    found = re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)"',
        run("pdftotext", "-bbox", path, "-"),
    )
    return [tuple(float(v) for v in box) for box in found]


@pytest.fixture(scope="module")
def printed(library: ContentLibrary, tmp_path_factory: pytest.TempPathFactory) -> Printed:
    """The large-print PDFs of the cases, rendered once: (variant, path) per case."""
    folder = tmp_path_factory.mktemp("pdf")
    audience = library.audiences[LARGE_PRINT]
    result: Printed = {}
    for scenario, lang in CASES:
        key = variant_key(audience, lang, Channel.print)
        variant = render_variant(example(library, scenario), key, library, public_url=PUBLIC_URL)
        path = folder / f"{scenario}-{lang}.pdf"
        path.write_bytes(
            render_pdf(variant, title=variant.subject, language=library.languages[lang])
        )
        result[scenario, lang] = (variant, path)
    return result


def test_every_scenario_has_a_black_on_white_pictogram_with_its_title(
    library: ContentLibrary,
) -> None:
    assert missing_pictograms(library) == []
    for scenario in library.scenarios:
        svg = ET.fromstring(str(pictogram_svg(library, scenario, "Vatten & <el>")))
        assert svg.get("role") == "img", scenario
        assert svg.findtext("{http://www.w3.org/2000/svg}title") == "Vatten & <el>"
        colours = {
            value
            for element in svg.iter()
            for name, value in element.attrib.items()
            if name in ("fill", "stroke")
        }
        assert colours <= {"#000000", "#ffffff", "none"}, scenario


@pytest.mark.parametrize("case", CASES, ids=[f"{s}-{lang}" for s, lang in CASES])
def test_pdf_is_tagged_with_title_language_and_embedded_fonts(
    printed: Printed, library: ContentLibrary, case: tuple[str, str]
) -> None:
    variant, path = printed[case]
    info = run("pdfinfo", path)
    assert re.search(r"^Tagged:\s+yes$", info, re.M)
    assert re.search(rf"^Title:\s+{re.escape(variant.subject)}$", info, re.M)
    assert "(A4)" in info
    language = library.languages[case[1]]
    assert b"/Lang " + pdf_string(language.cap_language) in streams(path.read_bytes())
    rows = run("pdffonts", path).splitlines()[2:]
    assert rows
    assert all(row.split()[-5] == "yes" for row in rows), rows  # the `emb` column
    families = " ".join(row.split()[0] for row in rows)
    expected = {"sv": "Noto-Sans", "ar": "Noto-Sans-Arabic", "ti": "Noto-Sans-Ethiopic"}
    assert expected[case[1]] in families, families


@pytest.mark.parametrize("case", CASES, ids=[f"{s}-{lang}" for s, lang in CASES])
def test_pdftotext_reads_the_headline_in_logical_order(
    printed: Printed, case: tuple[str, str]
) -> None:
    variant, path = printed[case]
    text = normalise(run("pdftotext", path, "-"))
    assert as_pdftotext_reads(headline(variant)) in text
    if case[1] != "ar":  # no ligatures to account for: the exact letters
        assert normalise(headline(variant)) in text


@pytest.mark.parametrize("case", CASES, ids=[f"{s}-{lang}" for s, lang in CASES])
def test_large_print_is_at_least_18_pt_with_pictogram_and_qr_code(
    printed: Printed, library: ContentLibrary, case: tuple[str, str]
) -> None:
    variant, path = printed[case]
    assert variant.key.print_pt == 18
    assert "font-size: 18pt;" in (variant.html or "")
    pdf = path.read_bytes()
    assert min(font_sizes_pt(pdf)) >= 18
    if case[1] != "ar":
        # Noto Sans and Noto Sans Ethiopic boxes are 1.362 em high (ascender + descender);
        # Noto Sans Arabic's are 2.112 em, which would hide a small Arabic word, hence only Tf.
        assert min(box[3] - box[1] for box in word_boxes(path)) / 1.362 >= 17.99
    content = streams(pdf)
    assert content.count(b"/S /Figure") == 2  # the pictogram and the QR code
    assert b"/Alt " + pdf_string(PUBLIC_URL) in content
    assert PUBLIC_URL in run("pdftotext", path, "-")


REVIEW_LINE = re.compile(r'<p class="review-status">(.+?)</p>')


@pytest.mark.parametrize("case", CASES, ids=[f"{s}-{lang}" for s, lang in CASES])
def test_a_draft_translation_says_so_on_paper(printed: Printed, case: tuple[str, str]) -> None:
    """Every shipped catalog but English is a draft; the printed page says so, at full size."""
    variant, path = printed[case]
    line = REVIEW_LINE.search(variant.html or "")
    assert line, case
    assert (
        variant.statuses["This translation has not yet been checked by a translator."]
        == "translated"
    )
    printed_text = run("pdftotext", path, "-")
    assert as_pdftotext_reads(html.unescape(line.group(1))) in normalise(printed_text)


def test_english_and_a_reviewed_translation_print_no_review_line(library: ContentLibrary) -> None:
    arabic = library.languages["ar"].model_copy(update={"review_status": ReviewStatus.reviewed})
    reviewed = dataclasses.replace(library, languages={**library.languages, "ar": arabic})
    notice = example(library, "water_outage")
    audience = library.audiences[LARGE_PRINT]
    for lang, content in (("en", library), ("ar", reviewed), ("sv", reviewed)):
        variant = render_variant(notice, variant_key(audience, lang, Channel.print), content)
        assert bool(REVIEW_LINE.search(variant.html or "")) == (lang == "sv"), lang


def test_pictogram_alt_is_the_translated_scenario_title(printed: Printed) -> None:
    variant, path = printed["water_outage", "ar"]
    found = re.search(r'<title id="pictogram-title">(.*?)</title>', variant.html or "")
    assert found and found.group(1).strip()
    assert b"/Alt " + pdf_string(html.unescape(found.group(1))) in streams(path.read_bytes())


def test_arabic_is_laid_out_right_to_left(printed: Printed) -> None:
    def lines_at(path: Path) -> tuple[int, int]:
        """Words that start at the left margin and words that end at the right margin."""
        boxes = word_boxes(path)
        left = sum(1 for box in boxes if abs(box[0] - MARGIN_X) < 1.5)
        right = sum(1 for box in boxes if abs(box[2] - (A4_WIDTH - MARGIN_X)) < 1.5)
        return left, right

    left, right = lines_at(printed["water_outage", "ar"][1])
    assert right > 10 and left < 3, (left, right)
    left, right = lines_at(printed["water_outage", "sv"][1])
    assert left > 10 and right < 3, (left, right)


def test_standard_print_is_12_pt_without_pictogram_or_qr_code_when_unpublished(
    library: ContentLibrary, tmp_path: Path
) -> None:
    key = variant_key(library.audiences["general-public"], "sv", Channel.print)
    variant = render_variant(example(library, "water_outage"), key, library)
    pdf = render_pdf(variant, title=variant.subject, language=library.languages["sv"])
    (tmp_path / "standard.pdf").write_bytes(pdf)
    assert min(font_sizes_pt(pdf)) == pytest.approx(12)
    # The 18-pt check above would catch this size: the measure tells them apart.
    assert min(b[3] - b[1] for b in word_boxes(tmp_path / "standard.pdf")) / 1.362 < 17
    assert b"/Figure" not in streams(pdf)
    assert "https://www.vasteras.se/n/" not in run("pdftotext", tmp_path / "standard.pdf", "-")


def test_print_fetches_nothing_from_outside(library: ContentLibrary, printed: Printed) -> None:
    variant, _ = printed["water_outage", "sv"]
    html_with_remote = (variant.html or "").replace(
        "<main>", '<main><img src="https://tracker.invalid/pixel.png" alt="">'
    )
    remote = RenderedVariant(
        variant.key, variant.subject, variant.text, html_with_remote, variant.translation
    )
    with pytest.raises(FatalURLFetchingError):
        render_document(remote, title="x", language=library.languages["sv"])


def test_print_pack_has_every_language_from_a_new_page_with_its_own_lang(
    library: ContentLibrary, tmp_path: Path
) -> None:
    notice = example(library, "water_outage")
    audience = "older-people-living-alone"
    plan = plan_print_pack(notice, library, audience, public_url=PUBLIC_URL)
    assert plan.languages[0] == "sv"
    assert sorted(plan.languages) == sorted(notice.envelope.languages)
    path = tmp_path / "pack.pdf"
    path.write_bytes(build_print_pack(notice, library, audience, public_url=PUBLIC_URL))
    info = run("pdfinfo", path)
    assert re.search(r"^Tagged:\s+yes$", info, re.M)
    sv_subject = plan.variants[0].subject
    assert re.search(rf"^Title:\s+{re.escape(sv_subject)}$", info, re.M)
    pages = [normalise(page) for page in run("pdftotext", path, "-").split("\f")]
    starts = []
    for variant in plan.variants:
        expected = as_pdftotext_reads(headline(variant))
        starts.append(next(i for i, page in enumerate(pages) if page.startswith(expected)))
    assert starts == sorted(starts) and starts[0] == 0, starts
    # The catalog says sv-SE; every top-level structure element says its page's language. They
    # are written in page order, so the runs of /Lang values follow the pack's languages.
    found = re.findall(rb"/Lang (\([^)]*\)|<[0-9a-f]*>)", streams(path.read_bytes()))
    runs = [value for value, _ in itertools.groupby(found)]
    expected = [pdf_string(library.languages[lang].cap_language) for lang in plan.languages]
    assert runs == expected and expected[0] == pdf_string("sv-SE"), runs
    assert len(found) > 2 * len(expected)  # more than one element per language
    assert all(row.split()[-5] == "yes" for row in run("pdffonts", path).splitlines()[2:])


def test_print_pack_leaves_out_languages_without_a_translation(library: ContentLibrary) -> None:
    raw = load_json(ROOT / "message_templates" / "water_outage" / "example.json")
    raw["languages"] = ["sv", "fit", "ar"]  # Meänkieli has no catalog yet
    plan = plan_print_pack(validate_notice(raw, library), library, "older-people-living-alone")
    assert plan.languages == ["sv", "ar"]
    assert set(plan.left_out) == {"fit"}


def visual_lines(path: Path) -> list[str]:
    """Each printed line as drawn: its words from left to right (pdftotext -bbox)."""
    words = re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" [^>]*>([^<]*)</word>',
        run("pdftotext", "-bbox", path, "-"),
    )
    lines: dict[int, list[tuple[float, str]]] = {}
    for x_min, y_min, word in words:
        lines.setdefault(round(float(y_min)), []).append((float(x_min), html.unescape(word)))
    return [" ".join(word for _, word in sorted(line)) for _, line in sorted(lines.items())]


def test_arabic_print_draws_the_phone_number_in_reading_order(printed: Printed) -> None:
    # Without isolation WeasyPrint (like any UAX #9 renderer) draws "00 00 39-021"; pdftotext
    # then reads the run back as "00 00 39-021" too. The words' positions show what is printed.
    variant, path = printed["water_outage", "ar"]
    drawn = [line for line in visual_lines(path) if "021" in line]
    assert drawn and all("021-39 00 00" in line for line in drawn), drawn
    text = re.sub("[\u202a-\u202e\u2066-\u2069]", "", run("pdftotext", path, "-"))
    assert "021-39 00 00" in text and "00 00 39-021" not in text
    assert '<span dir="ltr">021-39 00 00</span>' in (variant.html or "")
