"""Isolating left-to-right runs in right-to-left text: plain text, HTML, communicator values."""

from __future__ import annotations

import pytest
from bidi import get_display
from markupsafe import Markup, escape

from service.channels.sms.encoding import analyse_sms
from service.rendering.bidi import (
    LRI,
    PDI,
    RLI,
    Isolated,
    isolate_html,
    isolate_sms,
    isolate_text,
    ltr_runs,
    needs_isolate,
    strip_isolates,
)
from service.rendering.html_text import html_to_text


def runs(text: str) -> list[str]:
    return [text[s:e] for s, e in ltr_runs(text)]


def shown(text: str) -> str:
    return strip_isolates(get_display(text, base_dir="R"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("اتصلوا بالرقم 021-39 13 00.", ["021-39 13 00"]),
        ("اتصلوا بالرقم 113 13 أو 114 14.", ["113 13", "114 14"]),
        ("المزيد: 127.0.0.1:8000/n/AB12CD", ["127.0.0.1:8000/n/AB12CD"]),
        ("اتصلوا بالرقم +46 21 39 00 00", ["+46 21 39 00 00"]),
        ("العنوان 12 Storgatan، هنا", ["12 Storgatan"]),
        ("الرقم (021) 39 00 00 هنا", ["(021) 39 00 00"]),
        ("من 10:00-16:00 غدا", ["10:00-16:00"]),
        ("الحرارة -5 درجات", ["-5"]),
        # W7/W4 already keep these in order: no isolate, no SMS unit spent.
        ("اتصلوا بالرقم 112.", []),
        ("الساعة 14:00 يوم 23.11.2026", []),
        ("من Västerås stad، 3 ديسمبر 2026", []),
        ("في Skultuna skola, Kyrkvägen 1 و www.vasteras.se/kris", []),
        ("(Skultuna) هنا", []),
    ],
)
def test_runs_that_the_algorithm_would_reorder(text: str, expected: list[str]) -> None:
    assert runs(text) == expected
    isolated = isolate_text(text)
    for run in expected:
        assert f"{LRI}{run}{PDI}" in isolated
        assert run in shown(isolated)  # laid out in reading order
        assert run not in shown(text) or run.isdigit()


def test_isolating_twice_changes_nothing_and_ltr_isolates_are_left_alone() -> None:
    text = "اتصلوا بالرقم 021-39 13 00 أو 113 13."
    once = isolate_text(text)
    assert isolate_text(once) == once
    assert strip_isolates(once) == text
    inside_rtl = f"{RLI}اتصلوا بالرقم 021-39 13 00{PDI}"
    assert isolate_text(inside_rtl) == f"{RLI}اتصلوا بالرقم {LRI}021-39 13 00{PDI}{PDI}"


def test_html_isolates_text_only_and_stays_escaped() -> None:
    html = (
        '<html dir="rtl"><head><title>021-39 00 00</title><style>a { x: 1 2; }</style></head>'
        '<body><p title="021-39 00 00">الهاتف: 021-39 00 00 &amp; &lt;b&gt; 113 13</p>'
        '<!-- 1 2 --><a href="https://x.se/1 2">021-39 00 00</a>'
        '<p dir="ltr">021-39 00 00</p><svg><text>1 2</text></svg><br></body></html>'
    )
    out = isolate_html(html)
    assert isinstance(out, Markup)
    assert out == (
        '<html dir="rtl"><head><title>021-39 00 00</title><style>a { x: 1 2; }</style></head>'
        '<body><p title="021-39 00 00">الهاتف: '
        '<span dir="ltr">021-39 00 00 &amp; &lt;b&gt; 113 13</span></p>'
        '<!-- 1 2 --><a href="https://x.se/1 2"><span dir="ltr">021-39 00 00</span></a>'
        '<p dir="ltr">021-39 00 00</p><svg><text>1 2</text></svg><br></body></html>'
    )
    assert isolate_html(out) == out


def test_communicator_text_is_one_isolate_of_its_own_direction() -> None:
    route = Isolated("Kör norrut mot E18. <Undvik> Mälaren.")
    assert str(route) == f"{LRI}Kör norrut mot E18. <Undvik> Mälaren.{PDI}"
    assert escape(route) == '<span dir="ltr">Kör norrut mot E18. &lt;Undvik&gt; Mälaren.</span>'
    assert Markup("الطريق: %s") % route == (
        'الطريق: <span dir="ltr">Kör norrut mot E18. &lt;Undvik&gt; Mälaren.</span>'
    )
    arabic = Isolated("شارع 12")
    assert str(arabic) == f"{RLI}شارع 12{PDI}"
    assert needs_isolate("Kör norrut mot E18. Undvik Mälaren.")  # the stop goes with it
    assert needs_isolate("12 Storgatan")
    assert not needs_isolate("Skultuna skola, Kyrkvägen 1")  # laid out in order already
    assert not needs_isolate("Skultuna")
    assert not needs_isolate("مدرسة سكولتونا")  # its numbers are isolated by the pass


def test_plain_text_from_html_keeps_the_isolation() -> None:
    html = (
        '<p>الهاتف: <span dir="ltr">021-39 00 00</span></p>'
        '<p>الموقع: <a href="https://www.vasteras.se/kris">www.vasteras.se/kris</a></p>'
        '<p><span lang="sv" dir="ltr">Ta med dunkar.</span> <bdi>x</bdi></p>'
    )
    assert html_to_text(html, isolates=True) == (
        f"الهاتف: {LRI}021-39 00 00{PDI}\n\n"
        f"الموقع: www.vasteras.se/kris ({LRI}https://www.vasteras.se/kris{PDI})\n\n"
        f"{LRI}Ta med dunkar.{PDI} \u2068x{PDI}\n"
    )
    assert html_to_text(html) == (
        "الهاتف: 021-39 00 00\n\n"
        "الموقع: www.vasteras.se/kris (https://www.vasteras.se/kris)\n\n"
        "Ta med dunkar. x\n"
    )


def test_sms_gets_isolates_only_when_it_is_ucs2_anyway() -> None:
    arabic = "اتصلوا بالرقم 021-39 00 00."
    assert isolate_sms(arabic) == f"اتصلوا بالرقم {LRI}021-39 00 00{PDI}."
    # A right-to-left variant that came out in Latin letters only (English fallback) stays
    # GSM-7: the isolates, including those around communicator text, are dropped.
    english = f"Call 021-39 00 00. Water at {LRI}Kyrkvägen 1.{PDI}"
    assert isolate_sms(english) == "Call 021-39 00 00. Water at Kyrkvägen 1."
    assert analyse_sms(isolate_sms(english)).encoding == "GSM-7"
