from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest

from service.audiences.schemas import Register, Role
from service.content import ContentLibrary
from service.notices.schemas import Channel
from service.notices.service import Notice, validate_notice
from service.rendering.catalogs import load_catalog
from service.rendering.schemas import VariantKey
from service.rendering.service import render_variant
from tests.conftest import ROOT, load_json

MESSAGE_TYPES = ["alert", "update", "all_clear", "cancel"]


def example(library: ContentLibrary, scenario: str, **changes: Any) -> Notice:
    raw = load_json(ROOT / "message_templates" / scenario / "example.json")
    raw.update(changes)
    if raw.get("message_type", "alert") != "alert":
        raw["references"] = "AB12CD"
    raw["languages"] = list(library.languages)
    return validate_notice(raw, library)


def test_every_scenario_register_role_channel_language_and_type_renders(
    library: ContentLibrary,
) -> None:
    rendered = 0
    for scenario in library.scenarios:
        for message_type in MESSAGE_TYPES:
            notice = example(library, scenario, message_type=message_type)
            for lang, register, role, channel in itertools.product(
                library.languages, Register, Role, Channel
            ):
                key = VariantKey(lang, register, role, channel, 18 if channel == "print" else 0)
                variant = render_variant(notice, key, library)
                assert variant.text.strip(), key
                assert variant.subject.strip(), key
                if channel != Channel.sms:
                    language = library.languages[lang]
                    assert variant.html is not None
                    assert f'<html lang="{language.cap_language}" dir="{language.direction}">' in (
                        variant.html
                    )
                rendered += 1
    assert rendered == len(library.scenarios) * 4 * len(library.languages) * 2 * 3 * 4


def test_exercise_is_marked_in_every_language(library: ContentLibrary) -> None:
    notice = example(library, "water_outage", mode="exercise")
    for lang in library.languages:
        catalog = load_catalog(library.locales_dir, lang)
        marker = catalog.lookup("EXERCISE")[0] or "EXERCISE"
        for channel in Channel:
            variant = render_variant(
                notice, VariantKey(lang, Register.standard, Role.public, channel), library
            )
            assert marker in variant.text, (lang, channel)
            assert variant.subject.startswith(marker), (lang, channel)
    sv = render_variant(
        notice, VariantKey("sv", Register.easy_read, Role.public, Channel.sms), library
    )
    assert sv.text.startswith("ÖVNING: ")
    assert "Det här är en övning." in sv.text


def test_swedish_dates_and_times_follow_sprakradet(library: ContentLibrary) -> None:
    notice = example(library, "water_outage", sent_at="2026-11-22T20:00:00+01:00")
    variant = render_variant(
        notice, VariantKey("sv", Register.standard, Role.public, Channel.email), library
    )
    assert "måndag 23 november från kl. 10.00 till ungefär kl. 16.00" in variant.text
    assert "Från Västerås stad, 22 november 2026 klockan 20.00." in variant.text


def test_right_to_left_languages_carry_dir_rtl(library: ContentLibrary) -> None:
    notice = example(library, "water_outage")
    for lang in ("ar", "fa", "fa-AF"):
        variant = render_variant(
            notice, VariantKey(lang, Register.standard, Role.public, Channel.web), library
        )
        assert variant.html is not None and 'dir="rtl"' in variant.html


def test_the_phone_number_is_one_tap_to_call_in_every_register_and_script(
    library: ContentLibrary,
) -> None:
    notice = example(library, "water_outage")  # contact.phone "021-39 00 00"
    for lang, register in (
        ("sv", Register.easy_read),
        ("sv", Register.standard),
        ("ar", Register.standard),
    ):
        variant = render_variant(
            notice, VariantKey(lang, register, Role.public, Channel.web), library
        )
        assert variant.html is not None and '<a href="tel:021390000">' in variant.html, lang
        assert "021-39 00 00" in variant.text  # the text version shows the number as written


def test_user_text_is_shown_literally_never_executed(library: ContentLibrary) -> None:
    raw = load_json(ROOT / "message_templates" / "water_outage" / "example.json")
    hostile = "<script>alert(1)</script> {{ 7*7 }} {% raw %}"
    raw = copy.deepcopy(raw)
    raw["fields"]["area_name"] = hostile
    raw["fields"]["water_points"] = ['<img src=x onerror="alert(2)">']
    raw["note"] = {"sv": "<b>Obs</b> {{ config }}"}
    raw["sent_at"] = "2026-11-22T20:00:00+01:00"  # no "49" in the sender line's time
    notice = validate_notice(raw, library)
    web = render_variant(
        notice, VariantKey("sv", Register.standard, Role.public, Channel.web), library
    )
    assert web.html is not None
    assert "<script>" not in web.html and "<img" not in web.html and "<b>" not in web.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }} {% raw %}" in web.html
    assert "49" not in web.html
    assert hostile in web.text  # the plain text shows exactly what was typed
    sms = render_variant(
        notice, VariantKey("sv", Register.standard, Role.public, Channel.sms), library
    )
    assert hostile in sms.text


def test_note_without_translation_is_shown_in_swedish_and_marked(
    library: ContentLibrary,
) -> None:
    notice = validate_notice(
        load_json(ROOT / "demo" / "notices" / "water_outage_skultuna.json"), library
    )
    variant = render_variant(
        notice, VariantKey("en", Register.standard, Role.public, Channel.web), library
    )
    assert variant.html is not None
    assert '<span lang="sv" dir="ltr">Ta med egna dunkar eller flaskor.</span>' in variant.html
    assert variant.translation.untranslated_user_text == ["note"]


def test_free_text_scenario_needs_a_human_translation_per_language(
    library: ContentLibrary,
) -> None:
    raw = load_json(ROOT / "message_templates" / "general" / "example.json")
    for texts in raw["fields"].values():
        texts.pop("ar")  # the example carries every language; this notice lacks Arabic
    notice = validate_notice(raw, library)
    english = render_variant(
        notice, VariantKey("en", Register.standard, Role.public, Channel.web), library
    )
    assert english.translation.status == "complete"
    assert "Bridge over Svartån closed" in english.text
    arabic = render_variant(
        notice, VariantKey("ar", Register.standard, Role.public, Channel.web), library
    )
    assert arabic.translation.status == "needs_human_translation"
    assert arabic.translation.blocking_user_text == ["headline", "message"]


@pytest.mark.parametrize("message_type", ["update", "all_clear", "cancel"])
def test_message_types_change_the_wording(library: ContentLibrary, message_type: str) -> None:
    notice = example(library, "water_outage", message_type=message_type)
    variant = render_variant(
        notice, VariantKey("sv", Register.standard, Role.public, Channel.email), library
    )
    expected = {
        "update": "Uppdatering: Inget kranvatten i Skultuna",
        "all_clear": "Vattnet är tillbaka i Skultuna",
        "cancel": "Återkallat: Vattenavbrott",
    }[message_type]
    assert variant.subject == expected
