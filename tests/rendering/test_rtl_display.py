"""The display check for right-to-left output: numbers, times, codes and addresses read in order.

Every Arabic, Persian and Dari SMS, e-mail text, web page and printed notice of every scenario
example is laid out with the Unicode bidirectional algorithm (python-bidi, UAX #9 with
isolates) in visual order with a right-to-left base direction, the way a phone, a mail client or
a browser shows it. Every phone number, time, date, code, web and e-mail address and
communicator-written address found in the logical text must appear in the visual text exactly as
written, groups in reading order: "021-39 13 00", never "00 13 39-021".

Web and print HTML are turned into display lines the way a browser treats them: a block is a
paragraph, and an element with `dir` (or a `<bdi>`) is an isolate (HTML's `[dir]`
`unicode-bidi: isolate`), written here as the Unicode isolate characters.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from bidi import get_display

from service.audiences.schemas import Register, Role
from service.channels.sms.encoding import analyse_sms
from service.content import ContentLibrary
from service.notices.schemas import Channel
from service.notices.service import Notice, validate_notice
from service.rendering.schemas import RenderedVariant, VariantKey
from service.rendering.service import render_variant
from tests.accessibility import chromium
from tests.conftest import ROOT, load_json

RTL_LANGUAGES = ("ar", "fa", "fa-AF")
PUBLIC_URL = "http://127.0.0.1:8000/n/AB12CD"

# Invisible bidi controls: isolates, embeddings, overrides and marks.
BIDI_CONTROLS = re.compile("[\u2066-\u2069\u202a-\u202e\u200e\u200f\u061c]")
_SPACE = "[ \u00a0\u202f]"
# Digit groups joined by separators: phone numbers, times, dates written in digits, "113 13".
DIGIT_GROUPS = re.compile(rf"\+?\d+(?:(?:{_SPACE}?[-\u2013./:]{_SPACE}?|{_SPACE})\d+)+")
_PATH = r"(?:/[A-Za-z0-9_/.%-]*[A-Za-z0-9_/])?"
# Web addresses (with or without scheme, a host name or an IP address and port, the /n/CODE
# link) and e-mail addresses, in ASCII as we write them.
ADDRESS = re.compile(
    r"[A-Za-z0-9_.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
    rf"|(?:https?://)?(?:[A-Za-z0-9-]+\.)+[A-Za-z]{{2,}}(?::\d+)?{_PATH}"
    rf"|(?:https?://)?\d{{1,3}}(?:\.\d{{1,3}}){{3}}(?::\d+)?{_PATH}"
)

BLOCKS = {"p", "li", "h1", "h2", "h3", "ul", "ol", "div", "section", "article", "main", "br"}
CONTAINERS = {"html", "body", *BLOCKS}
HIDDEN = {"head", "style", "script", "title", "svg"}
VOID = {"br", "img", "meta", "link", "hr", "input", "wbr"}
ISOLATE = {"ltr": "\u2066", "rtl": "\u2067"}
FSI, PDI = "\u2068", "\u2069"


class _DisplayLines(HTMLParser):
    """HTML as a browser lays it out for bidi: one paragraph per block, [dir]/bdi isolated."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self.stack: list[tuple[str, str]] = []  # (tag, text to add when it closes)
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN:
            self.hidden += 1
        if tag in BLOCKS:
            self.lines.append("")
        if tag in VOID:
            return
        direction = dict(attrs).get("dir")
        opener = ""
        if tag not in CONTAINERS and (tag == "bdi" or direction):
            opener = ISOLATE.get(direction or "", FSI)
        elif tag in BLOCKS and direction == "ltr":
            opener = ISOLATE["ltr"]  # an LTR block inside the RTL page
        self.lines[-1] += opener
        self.stack.append((tag, PDI if opener else ""))

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN:
            self.hidden -= 1
        while self.stack:
            open_tag, closer = self.stack.pop()
            self.lines[-1] += closer
            if open_tag == tag:
                break
        if tag in BLOCKS:
            self.lines.append("")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.lines[-1] += data


def display_lines(html: str) -> list[str]:
    parser = _DisplayLines()
    parser.feed(html)
    parser.close()
    return [" ".join(line.split()) for line in parser.lines if line.strip(" \n\u2066-\u2069")]


def visual(line: str) -> str:
    """The line as shown: laid out right to left, the invisible controls dropped."""
    shown: str = get_display(line, base_dir="R")
    return BIDI_CONTROLS.sub("", shown)


def user_values(notice: Notice, lang: str) -> list[str]:
    """Communicator text with digits in it (street addresses, routes), as written."""
    found: list[str] = []
    for value in notice.fields.values():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, dict):
                item = item.get(lang)
            if isinstance(item, str) and any(c.isdigit() for c in item):
                found.append(item)
    return found


def out_of_order(text: str, addresses: list[str]) -> Iterator[tuple[str, str, str]]:
    """(item, logical line, visual line) for every item that does not read as written."""
    for line in text.splitlines():
        logical = BIDI_CONTROLS.sub("", line)
        items = [m.group() for m in DIGIT_GROUPS.finditer(logical)]
        items += [m.group() for m in ADDRESS.finditer(logical)]
        items += [a for a in addresses if a in logical]
        if not items:
            continue
        shown = visual(line)
        for item in items:
            if item not in shown:
                yield item, logical, shown


def notices(library: ContentLibrary, scenario: str, lang: str) -> Iterator[tuple[str, Notice]]:
    """The scenario's example as alert, update, all-clear, cancel, exercise and phone-only."""
    raw = load_json(ROOT / "message_templates" / scenario / "example.json")
    if lang not in raw["languages"]:
        raw["languages"] = [*raw["languages"], lang]
    versions: dict[str, dict[str, Any]] = {
        "alert": {},
        "update": {"message_type": "update", "references": "AB12CD"},
        "all_clear": {"message_type": "all_clear", "references": "AB12CD"},
        "cancel": {"message_type": "cancel", "references": "AB12CD"},
        "exercise": {"mode": "exercise"},
        # Without a web address the SMS ends "Questions: call 021-39 00 00".
        "phone_only": {"contact": {"phone": raw["contact"]["phone"]}},
    }
    for name, changes in versions.items():
        yield name, validate_notice({**raw, **changes}, library)


def texts(variant: RenderedVariant) -> dict[str, str]:
    """What people see of a variant, by form: SMS, e-mail text, page or print text."""
    if variant.key.channel == Channel.sms:
        return {"sms": variant.text, "subject": variant.subject}
    shown = {"subject": variant.subject}
    if variant.key.channel == Channel.email:
        shown["email text"] = variant.text
    assert variant.html is not None
    shown[f"{variant.key.channel.value} html"] = "\n".join(display_lines(variant.html))
    return shown


EXAMPLES = sorted(path.parent.name for path in (ROOT / "message_templates").glob("*/example.json"))
CASES = [(scenario, lang) for scenario in EXAMPLES for lang in RTL_LANGUAGES]


@pytest.mark.parametrize(("scenario", "lang"), CASES, ids=[f"{s}-{lg}" for s, lg in CASES])
def test_rtl_output_keeps_numbers_and_addresses_in_reading_order(
    library: ContentLibrary, scenario: str, lang: str
) -> None:
    failures: list[str] = []
    checked = 0
    for name, notice in notices(library, scenario, lang):
        addresses = user_values(notice, lang)
        for register, role, channel in itertools.product(Register, Role, Channel):
            key = VariantKey(lang, register, role, channel, 18 if channel == Channel.print else 0)
            url = None if name == "phone_only" else PUBLIC_URL
            variant = render_variant(notice, key, library, public_url=url)
            for form, text in texts(variant).items():
                for item, logical, shown in out_of_order(text, addresses):
                    failures.append(
                        f"{name} {key.name} {form}: {item!r} shows as {shown!r} "
                        f"(logical {logical!r})"
                    )
                checked += 1
    assert checked > 0
    assert not failures, f"{len(failures)} out of order, e.g.:\n" + "\n".join(failures[:8])


def test_the_check_sees_reversed_groups() -> None:
    """The check itself: without isolation the bidi algorithm reverses the groups."""
    line = "اتصلوا بالرقم 021-39 13 00. أو 113 13"
    assert list(out_of_order(line, [])) == [
        ("021-39 13 00", line, visual(line)),
        ("113 13", line, visual(line)),
    ]
    assert "00 13 39-021" in visual(line) and "13 113" in visual(line)
    isolated = "اتصلوا بالرقم \u2066021-39 13 00\u2069. أو \u2066113 13\u2069"
    assert list(out_of_order(isolated, [])) == []


def test_display_lines_isolate_dir_and_bdi() -> None:
    html = (
        '<html dir="rtl"><head><title>x 1 2</title></head><body><p>الهاتف: '
        '<span dir="ltr">021-39 00 00</span> <bdi>Kyrkvägen 1</bdi></p>'
        '<p dir="ltr"><a href="x">http://127.0.0.1:8000/n/AB12CD</a></p></body></html>'
    )
    assert display_lines(html) == [
        "الهاتف: \u2066021-39 00 00\u2069 \u2068Kyrkvägen 1\u2069",
        "\u2066http://127.0.0.1:8000/n/AB12CD\u2069",
    ]


@pytest.mark.parametrize("scenario", EXAMPLES)
def test_swedish_sms_gets_no_isolates_and_stays_gsm7(
    library: ContentLibrary, scenario: str
) -> None:
    for name, notice in notices(library, scenario, "sv"):
        for register, role in itertools.product(Register, Role):
            key = VariantKey("sv", register, role, Channel.sms)
            url = None if name == "phone_only" else PUBLIC_URL
            text = render_variant(notice, key, library, public_url=url).text
            assert not BIDI_CONTROLS.search(text), (name, key)
            assert analyse_sms(text).encoding == "GSM-7", (name, key, text)


def test_left_to_right_languages_get_no_isolation(library: ContentLibrary) -> None:
    ltr = [tag for tag, language in library.languages.items() if not language.rtl]
    for scenario, lang in itertools.product(EXAMPLES, ltr):
        notice = dict(notices(library, scenario, lang))["alert"]
        for channel in Channel:
            key = VariantKey(lang, Register.standard, Role.public, channel)
            variant = render_variant(notice, key, library, public_url=PUBLIC_URL)
            shown = [variant.text, variant.subject, variant.html or ""]
            assert not any(BIDI_CONTROLS.search(text) for text in shown), (scenario, key)
            assert '<span dir="ltr">' not in (variant.html or ""), (scenario, key)


def test_communicator_text_stays_escaped_in_right_to_left_output(
    library: ContentLibrary,
) -> None:
    raw = load_json(ROOT / "message_templates" / "water_outage" / "example.json")
    hostile = "<script>alert(1)</script> 021-39 {{ 7*7 }}"
    raw["fields"] = {**raw["fields"], "area_name": hostile, "water_points": ["<b>1 2</b>"]}
    notice = validate_notice(raw, library)
    web = render_variant(
        notice, VariantKey("ar", Register.standard, Role.public, Channel.web), library
    )
    assert web.html is not None
    assert "<script>" not in web.html and "<b>" not in web.html
    assert '<span dir="ltr">&lt;script&gt;alert(1)&lt;/script&gt; 021-39 {{ 7*7 }}</span>' in (
        web.html
    )
    assert '<li><span dir="ltr">&lt;b&gt;1 2&lt;/b&gt;</span></li>' in web.html
    assert f"\u2066{hostile}\u2069" in web.text  # the plain text shows what was typed
    sms = render_variant(
        notice, VariantKey("ar", Register.standard, Role.public, Channel.sms), library
    )
    assert f"\u2066{hostile}\u2069" in sms.text


def _x_positions(page: Any, items: list[str]) -> list[dict[str, Any]]:
    """Where Chromium draws each character of every occurrence of the items in the page."""
    found: list[dict[str, Any]] = page.evaluate(
        """(items) => {
            const out = [];
            const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            while (walker.nextNode()) {
                const node = walker.currentNode;
                for (const item of items) {
                    for (let at = node.data.indexOf(item); at >= 0;
                         at = node.data.indexOf(item, at + 1)) {
                        const chars = [];
                        for (let i = 0; i < item.length; i++) {
                            const range = document.createRange();
                            range.setStart(node, at + i);
                            range.setEnd(node, at + i + 1);
                            const box = range.getBoundingClientRect();
                            chars.push([item[i], box.left, box.top]);
                        }
                        out.push({item: item, chars: chars});
                    }
                }
            }
            return out;
        }""",
        items,
    )
    return found


def test_chromium_draws_numbers_and_links_in_reading_order(library: ContentLibrary) -> None:
    """The real thing: where a browser puts each digit of an Arabic and a Persian page."""
    items = ["021-39 13 00", "021-39 00 00", "114 14", "127.0.0.1:8000/n/AB12CD"]
    pages = []
    for scenario, lang, channel in [
        ("evacuation", "ar", Channel.web),
        ("evacuation", "fa", Channel.email),
        ("disinformation", "ar", Channel.print),
    ]:
        raw = dict(notices(library, scenario, lang))["alert"]
        key = VariantKey(
            lang, Register.standard, Role.staff, channel, 14 if channel == "print" else 0
        )
        html = render_variant(raw, key, library, public_url=PUBLIC_URL).html
        assert html is not None
        pages.append((f"{scenario}-{lang}-{channel.value}", html))
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        try:
            wrong = []
            seen = 0
            for name, html in pages:
                page.set_content(html)
                for found in _x_positions(page, items):
                    seen += 1
                    drawn = [c for c in found["chars"] if c[0] != " "]
                    assert len({round(c[2]) for c in drawn}) == 1, (name, found)  # one line
                    lefts = [c[1] for c in drawn]
                    if lefts != sorted(lefts):
                        order = "".join(c[0] for c in sorted(found["chars"], key=lambda c: c[1]))
                        wrong.append(f"{name}: {found['item']!r} drawn as {order!r}")
        finally:
            page.close()
    assert seen >= 6
    assert not wrong, "\n".join(wrong)
