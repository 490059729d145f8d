"""Exercise and test notices are marked at the start and the end of every variant, in its language.

Every scenario, register, role and channel, in every language the service knows; a language
without a catalog shows the English marker and fails its check, so it is never sent unmarked.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from service.audiences.schemas import Register, Role
from service.channels.sms.encoding import normalise_for_sms
from service.content import ContentLibrary
from service.notices.schemas import Channel
from service.notices.service import validate_notice
from service.rendering.catalogs import load_catalog
from service.rendering.schemas import VariantKey
from service.rendering.service import render_variant
from service.variants.service import render_notice
from tests.conftest import ROOT, load_json

MARKER = {"exercise": "EXERCISE", "test": "TEST"}
SENTENCE = {
    "exercise": "This is an exercise. You do not need to do anything.",
    "test": "This is a test message. You do not need to do anything.",
}
URL = "https://kris.vasteras.se/n/ABC234"


def words(library: ContentLibrary, language: str, mode: str) -> tuple[str, str]:
    catalog = load_catalog(library.locales_dir, language)
    marker = catalog.lookup(MARKER[mode])[0] or MARKER[mode]
    sentence = catalog.lookup(SENTENCE[mode])[0] or SENTENCE[mode]
    return marker, sentence


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().splitlines() if line.strip()]


def example(library: ContentLibrary, scenario: str, mode: str) -> dict[str, Any]:
    raw = copy.deepcopy(load_json(ROOT / "message_templates" / scenario / "example.json"))
    raw["mode"] = mode
    raw.pop("references", None)
    raw["message_type"] = "alert"
    return raw


def assert_marked(
    variant_text: str, subject: str, channel: Channel, marker: str, sentence: str
) -> None:
    shown = lines(variant_text)
    assert subject.startswith(f"{marker}: "), subject
    if channel == Channel.sms:
        # First words: the marker; last lines: the notice in the language, then the sender.
        assert shown[0].startswith(f"{marker}: "), shown[0]
        assert shown[-2] == normalise_for_sms(sentence), shown[-2:]
        assert re.fullmatch(r"/\S.*", shown[-1]), shown[-1]
    else:
        # First paragraph and the paragraph before the sender line: marker and notice.
        assert shown[0] == f"{marker}: {sentence}", shown[0]
        assert shown[-2] == f"{marker}: {sentence}", shown[-2:]


def test_every_variant_of_every_scenario_is_marked_at_start_and_end(
    library: ContentLibrary,
) -> None:
    # Test mode uses the same layouts with its own words: every language checks it below.
    mode = "exercise"
    checked = 0
    for scenario in library.scenarios:
        raw = example(library, scenario, mode)
        notice = validate_notice(raw, library)
        for language in notice.envelope.languages:
            marker, sentence = words(library, language, mode)
            for register in Register:
                for role in Role:
                    for channel in Channel:
                        key = VariantKey(
                            language, register, role, channel, 18 if channel == "print" else 0
                        )
                        variant = render_variant(notice, key, library, public_url=URL)
                        assert_marked(variant.text, variant.subject, channel, marker, sentence)
                        if variant.html is not None:
                            assert variant.html.count('<p class="mode-marker">') == 2, key
                        checked += 1
    assert checked > 500


@pytest.mark.parametrize("mode", ["exercise", "test"])
def test_every_language_marks_its_own_words(library: ContentLibrary, mode: str) -> None:
    raw = copy.deepcopy(load_json(ROOT / "demo" / "notices" / "heat_wave_exercise.json"))
    raw["mode"] = mode
    raw["languages"] = list(library.languages)  # every language the service knows
    notice = validate_notice(raw, library)
    report = render_notice(notice, library, public_url=URL)
    seen_markers = {}
    for key, variant in report.variants.items():
        marker, sentence = words(library, key.language, mode)
        assert_marked(variant.text, variant.subject, key.channel, marker, sentence)
        seen_markers[key.language] = marker
    assert set(seen_markers) == set(library.languages)
    assert seen_markers["sv"] == ("ÖVNING" if mode == "exercise" else "TEST")
    assert seen_markers["ar"] == ("تمرين" if mode == "exercise" else "اختبار")
    # Each translated language has its own reviewed-or-draft word (Swedish and Polish: TEST).
    for tag in library.languages:
        catalog = load_catalog(library.locales_dir, tag)
        if catalog.exists and tag != "en":
            assert catalog.lookup(MARKER[mode])[0] == seen_markers[tag], tag
    # A language with no catalog carries the English marker and fails its check: never sent.
    missing = [
        t
        for t in library.languages
        if t != "en" and not load_catalog(library.locales_dir, t).exists
    ]
    assert missing
    for check in report.checks:
        if check.variant.key.language in missing:
            assert not check.passed, check.variant.key
