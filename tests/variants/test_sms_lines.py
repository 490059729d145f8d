"""What an SMS keeps and what it leaves for the page it links to.

- The standard boil-water SMS says that showering is fine together with not swallowing the
  water, in every language.
- A line an easy-read SMS had to leave out for its budget (a torch, the radio) is on the
  easy-read page the SMS links to; a line restored to the SMS is in every alert and update.
"""

from __future__ import annotations

import itertools

import pytest

from service.audiences.schemas import Register, Role
from service.channels.sms.encoding import normalise_for_sms
from service.content import ContentLibrary
from service.notices.schemas import Channel
from service.notices.service import Notice, validate_notice
from service.rendering.bidi import strip_isolates
from service.rendering.catalogs import load_catalog
from service.rendering.schemas import RenderedVariant, VariantKey
from service.rendering.service import render_variant
from tests.conftest import ROOT, TEST_NOW, load_json
from tests.variants.test_action_first import (
    PUBLIC_URL,
    _languages,
    _library,
    _long_list,
    _notices,
    _sms,
)


def test_the_standard_boil_water_sms_says_shower_but_do_not_swallow() -> None:
    """Every alert and update, every role, every language: both lines, side by side."""
    library = _library()
    languages = _languages(library)
    for name, notice in _notices(library, "boil_water"):
        if notice.envelope.message_type.value == "all_clear":
            continue
        for lang, role in itertools.product(languages if "example" in name else ["en"], Role):
            variant = _sms(notice, library, lang, Register.standard, role)
            catalog = load_catalog(library.locales_dir, lang)
            lines = [
                normalise_for_sms((catalog.lookup(m)[0] if lang != "en" else None) or m)
                for m in ("You can shower as usual.", "Do not swallow the water.")
            ]
            text = strip_isolates(variant.text)
            assert "\n".join(lines) in text, (name, lang, role, text)


# Lines an easy-read SMS had to leave out for its budget: the SMS links to the page, and the
# easy-read page says them (scenario, what the line says, when it applies).
LEFT_FOR_THE_PAGE = [
    ("power_outage", "Find a torch.", "future"),
    ("power_outage", "Use a torch.", "any"),
    ("storm", "Listen to P4 on a radio with batteries.", "any"),
]
# Lines restored to the easy-read SMS (they fit again): every alert and update says them.
RESTORED = [("boil_water", "Brush your teeth with boiled water.")]


def _page(notice: Notice, library: ContentLibrary, lang: str, role: Role) -> RenderedVariant:
    key = VariantKey(lang, Register.easy_read, role, Channel.web)
    return render_variant(notice, key, library, public_url=PUBLIC_URL)


@pytest.mark.parametrize(("scenario", "line", "when"), LEFT_FOR_THE_PAGE)
def test_a_line_cut_from_an_easy_read_sms_is_on_the_page_it_links_to(
    scenario: str, line: str, when: str
) -> None:
    library = _library()
    checked = 0
    for name, notice in _notices(library, scenario):
        if notice.envelope.message_type.value == "all_clear":
            continue
        for role in Role:
            if when == "public" and role != Role.public:
                continue
            page = _page(notice, library, "en", role)
            if when == "future" and "Before the power cut" not in page.statuses:
                continue
            sms = _sms(notice, library, "en", Register.easy_read, role)
            if line in sms.statuses:
                continue
            checked += 1
            assert line in page.statuses, (name, role, "the page leaves it out too")
            assert "More: %(url)s" in sms.statuses, (name, role, "the SMS has no link")
    assert checked > 0, f"{scenario}: {line!r} is in every SMS: move it to RESTORED"


@pytest.mark.parametrize(("scenario", "line"), RESTORED)
def test_a_restored_line_is_in_every_easy_read_sms(scenario: str, line: str) -> None:
    library = _library()
    for name, notice in _notices(library, scenario):
        if notice.envelope.message_type.value == "all_clear":
            continue
        for role in Role:
            assert line in _sms(notice, library, "en", Register.easy_read, role).statuses, (
                name,
                role,
            )


def test_the_standard_boil_water_sms_counts_the_water_points_it_does_not_name() -> None:
    """Two or more water points: the count and where to see them (the link, else the phone)."""
    library = _library()
    counted = 0
    for link in (True, False):
        notice, items = _long_list(library, "boil_water", "water_points", link=link)
        phone = notice.envelope.contact.phone
        if link:
            msgid = ("Safe water: %(num)d place. See the link below.", len(items))
        else:
            msgid = ("Safe water: %(num)d place. Call %(phone)s to hear where.", len(items))
        for lang in _languages(library) if link else ["sv", "en"]:
            catalog = load_catalog(library.locales_dir, lang)
            url = PUBLIC_URL if link else None
            for role in Role:
                variant = _sms(notice, library, lang, Register.standard, role, url)
                text = strip_isolates(variant.text)
                form = catalog.lookup(*msgid)[0] if lang != "en" else None
                expected = form or msgid[0].replace("place.", "places.")
                sentence = normalise_for_sms(expected % {"num": len(items), "phone": phone})
                assert sentence in text, (lang, role, text)
                assert not any(item in text for item in items), (lang, role, text)
                counted += 1
    assert counted > 0


def test_several_water_points_without_a_link_or_phone_never_say_call_none() -> None:
    """Contact by e-mail only and no public page: the SMS must not tell people to call "None"."""
    library = _library()
    raw = load_json(ROOT / "message_templates" / "boil_water" / "example.json")
    raw["contact"] = {"email": "kris@vasteras.se"}
    notice = validate_notice(raw, library, now=TEST_NOW)
    for role in Role:
        text = strip_isolates(_sms(notice, library, "en", Register.standard, role, url=None).text)
        assert "None" not in text and "Call" not in text, (role, text)
        assert "Safe water: Hökåsens skola, Hökåsvägen 8 and Hökåsens centrum" in text, text


@pytest.mark.parametrize("scenario", ["evacuation", "power_outage", "heat_wave", "water_outage"])
def test_more_places_without_a_link_or_phone_never_say_call_none(scenario: str) -> None:
    """Every SMS that counts the places it leaves out says where else to look, or names them."""
    library = _library()
    raw = load_json(ROOT / "message_templates" / scenario / "example.json")
    raw["contact"] = {"email": "kris@vasteras.se"}
    raw["channels"] = [c for c in raw["channels"] if c != "web"]
    fields = raw["fields"]
    for name, value in list(fields.items()):
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            fields[name] = [f"{value[0]} {n}" for n in range(1, 5)]
    notice = validate_notice(raw, library, now=TEST_NOW)
    for register, role in itertools.product(Register, Role):
        text = strip_isolates(_sms(notice, library, "en", register, role, url=None).text)
        assert "None" not in text, (register, role, text)
