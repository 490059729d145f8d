"""The isolates around numbers and addresses in right-to-left text change no count."""

from __future__ import annotations

import itertools

from service.audiences.schemas import Register, Role
from service.content import ContentLibrary
from service.notices.schemas import Channel
from service.readability import measure, split_sentences
from service.rendering.bidi import ISOLATE_CONTROLS, strip_isolates
from service.rendering.schemas import VariantKey
from service.rendering.service import render_variant
from tests.rendering.test_rtl_display import EXAMPLES, PUBLIC_URL, RTL_LANGUAGES, notices

LRI, PDI = "\u2066", "\u2069"

# S1 اتصلوا بالرقم 021-39 13 00 (3 words: the number is one)
# S2 الطريق: Kör norrut mot E18. (5 words; the Swedish full stop inside the isolate ends it)
# S3 المزيد: 127.0.0.1:8000/n/AB12CD (2 words: the address is one)
ARABIC = (
    f"اتصلوا بالرقم {LRI}021-39 13 00{PDI}.\n"
    f"الطريق: {LRI}Kör norrut mot E18.{PDI} المزيد: {LRI}127.0.0.1:8000/n/AB12CD{PDI}"
)


def test_isolates_are_no_part_of_a_word_or_a_sentence() -> None:
    sentences = split_sentences(ARABIC, "ar")
    assert [[w.text for w in s.words] for s in sentences] == [
        ["اتصلوا", "بالرقم", "021-39 13 00"],
        ["الطريق", "Kör", "norrut", "mot", "E18"],
        ["المزيد", "127.0.0.1:8000/n/AB12CD"],
    ]
    assert [w.kind for w in sentences[2].words] == ["word", "address"]
    assert measure(ARABIC, "ar") == measure(strip_isolates(ARABIC), "ar")


def test_rendered_rtl_texts_count_the_same_with_and_without_isolates(
    library: ContentLibrary,
) -> None:
    compared = 0
    for scenario, lang in itertools.product(EXAMPLES, RTL_LANGUAGES):
        notice = dict(notices(library, scenario, lang))["alert"]
        for register, channel in itertools.product(Register, (Channel.sms, Channel.email)):
            key = VariantKey(lang, register, Role.public, channel)
            text = render_variant(notice, key, library, public_url=PUBLIC_URL).text
            if not ISOLATE_CONTROLS.intersection(text):
                continue
            compared += 1
            assert measure(text, lang) == measure(strip_isolates(text), lang), (scenario, key)
            words = [w.text for s in split_sentences(text, lang) for w in s.words]
            assert not any(ISOLATE_CONTROLS.intersection(w) for w in words), (scenario, key)
    assert compared >= 60
