"""SMS encoding: hand cases from TS 23.038/23.040 plus property tests against `gsm0338`."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import replace

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.channels.base import SMS, SmsCapabilities
from service.channels.sms.encoding import analyse_sms, normalise_for_sms

CODEC = "gsm03.38"
ESC = 0x1B

# The reference alphabet, taken from the codec by decoding every septet (not from our tables).
REF_BASIC = sorted({bytes([b]).decode(CODEC) for b in range(128) if b != ESC})


def _ext(b: int) -> str | None:
    try:
        return bytes([ESC, b]).decode(CODEC)
    except UnicodeDecodeError:
        return None


REF_EXTENSION = sorted(c for b in range(128) if (c := _ext(b)) is not None)

# Discrepancy with the reference: gsm0338 encodes U+001B (ESC) as a bare 0x1B byte, i.e. one
# septet. In TS 23.038 0x1B is the escape to the extension table, not a character: a literal ESC
# in the text cannot be sent in GSM-7 (a handset would read it as the prefix of the next
# character). We therefore treat U+001B as non-GSM and keep it out of the reference strategies.
# (The codec also follows the standard's upper-case Ç at 0x09, unlike unicode.org GSM0338.TXT,
# which maps 0x09 to ç; we agree with the codec and the standard, so ç forces UCS-2.)
NOT_IN_STANDARD = "\x1b"
TYPOGRAPHIC = list("\u00a0\u202f\u2009\t‘’‚′“”„«»″–—−‑…•\u200b\u200d\u200c\u00ad\r\n ")

gsm_text = st.text(alphabet=st.sampled_from(REF_BASIC + REF_EXTENSION), max_size=700)
any_text = st.text(
    alphabet=st.one_of(
        st.characters(exclude_categories=["Cs"], exclude_characters=NOT_IN_STANDARD),
        st.sampled_from(REF_BASIC + REF_EXTENSION),
        st.sampled_from(TYPOGRAPHIC),
        st.sampled_from(["🙂", "👩", "ا", "ж"]),
    ),
    max_size=400,
)


def gsm_encodable(text: str) -> bool:
    try:
        text.encode(CODEC)
    except UnicodeEncodeError:
        return False
    return True


def reference_segments(text: str, caps: SmsCapabilities = SMS) -> int:
    """Cut the encoded bytes / UTF-16 units into parts, never after an ESC or a high surrogate."""
    if gsm_encodable(text):
        units, single, part = list(text.encode(CODEC)), caps.gsm7_single, caps.gsm7_part
        lead = range(ESC, ESC + 1)  # an escape must stay with the septet after it
    else:
        data = text.encode("utf-16-be")
        units = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
        single, part = caps.ucs2_single, caps.ucs2_part
        lead = range(0xD800, 0xDC00)  # a high surrogate must stay with its low surrogate
    if not units:
        return 0
    if len(units) <= single:
        return 1
    count, i = 0, 0
    while i < len(units):
        end = min(i + part, len(units))
        if end < len(units) and units[end - 1] in lead:
            end -= 1
        count, i = count + 1, end
    return count


# --- hand cases -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "segments"), [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (1530, 10)]
)
def test_plain_gsm_lengths(n: int, segments: int) -> None:
    a = analyse_sms("a" * n)
    assert (a.encoding, a.units, a.segments) == ("GSM-7", n, segments)
    assert a.per_segment_limit == (SMS.gsm7_single if n <= SMS.gsm7_single else SMS.gsm7_part)
    assert not a.over_max_segments


def test_over_max_segments() -> None:
    assert analyse_sms("a" * (SMS.gsm7_part * SMS.max_segments + 1)).over_max_segments


def test_remaining() -> None:
    assert analyse_sms("a" * 10).remaining_in_last_segment == SMS.gsm7_single - 10
    assert analyse_sms("a" * 200).remaining_in_last_segment == SMS.gsm7_part - 47


def test_empty_is_zero_segments() -> None:
    a = analyse_sms("")
    assert (a.encoding, a.units, a.segments, a.characters) == ("GSM-7", 0, 0, 0)
    assert a.remaining_in_last_segment == SMS.gsm7_single


def test_swedish_letters_stay_gsm() -> None:
    text = "Varning: åäö ÅÄÖ é. Stäng fönster och dörrar. Lyssna på P4."
    a = analyse_sms(text)
    assert (a.encoding, a.text, a.units, a.non_gsm_characters) == ("GSM-7", text, len(text), ())


def test_extension_characters_count_two() -> None:
    assert analyse_sms("€").units == 2
    assert analyse_sms("^{}\\[~]|€\f").units == 20
    a80, a81 = analyse_sms("€" * 80), analyse_sms("€" * 81)
    assert (a80.units, a80.segments) == (160, 1)
    assert (a81.units, a81.segments) == (162, 2)


def test_extension_char_is_not_split_across_parts() -> None:
    # 306 septets = 2 * 153, but the € would straddle the first boundary: it moves to part 2.
    a = analyse_sms("a" * 152 + "€" + "a" * 152)
    assert a.units == 2 * SMS.gsm7_part
    assert a.segments == 3
    assert a.remaining_in_last_segment == SMS.gsm7_part - 1


def test_arabic_is_ucs2() -> None:
    text = "تحذير، ابقوا في منازلكم؟"
    a = analyse_sms(text)
    assert a.encoding == "UCS-2"
    assert a.text == text  # Arabic comma and question mark are kept
    assert "،" in a.non_gsm_characters and "؟" in a.non_gsm_characters
    assert (analyse_sms("ب" * 70).segments, analyse_sms("ب" * 71).segments) == (1, 2)
    assert analyse_sms("ب" * 71).per_segment_limit == SMS.ucs2_part


def test_emoji_counts_two_units() -> None:
    a = analyse_sms("🙂")
    assert (a.encoding, a.units, a.characters, a.non_gsm_characters) == ("UCS-2", 2, 1, ("🙂",))


def test_surrogate_pair_at_part_edge() -> None:
    # Fits exactly: 65 + 2 = 67 units in part one.
    assert analyse_sms("ب" * 65 + "🙂" + "ب" * 67).segments == 2
    # 134 = 2 * 67 units, but the pair would straddle the boundary: three parts.
    a = analyse_sms("ب" * 66 + "🙂" + "ب" * 66)
    assert (a.units, a.segments) == (2 * SMS.ucs2_part, 3)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Увага! Сильний вітер. Залишайтеся вдома.", "UCS-2"),
        ("Digniin: dabaylo xoogan ayaa la filayaa. Guriga joog, daaqadaha xir.", "GSM-7"),
        ("Varoitus: kova tuuli. Pysy sisällä ja sulje ikkunat. Åland.", "GSM-7"),
        ("ማስጠንቀቕታ፡ ኣብ ገዛኹም ጽንሑ።", "UCS-2"),
        ("هشدار: لطفاً در خانه بمانید.", "UCS-2"),
    ],
)
def test_languages(text: str, encoding: str) -> None:
    a = analyse_sms(text)
    assert (a.encoding, a.text) == (encoding, text)


def test_northern_sami_lists_non_gsm_letters() -> None:
    a = analyse_sms("Várrehus: čáhci, đuolbba, šaldi, ŋ, ŧ ja žiŋŋa.")
    assert a.encoding == "UCS-2"
    assert a.non_gsm_characters == tuple(sorted("áčđŋšŧž"))


def test_c_cedilla_follows_the_standard() -> None:
    assert analyse_sms("Ç").encoding == "GSM-7"
    assert analyse_sms("ç").non_gsm_characters == ("ç",)
    assert analyse_sms("\x1b").encoding == "UCS-2"


def test_typography_is_normalised_to_gsm() -> None:
    text = "Kl.\u00a014–16 är vägen stängd. ”Stanna inne” — räddningstjänsten…"
    a = analyse_sms(text)
    assert a.encoding == "GSM-7"
    assert a.text == 'Kl. 14-16 är vägen stängd. "Stanna inne" - räddningstjänsten...'
    assert set(a.replacements) == {
        ("\u00a0", " ", 1),
        ("–", "-", 1),
        ("”", '"', 2),
        ("—", "-", 1),
        ("…", "...", 1),
    }
    raw = analyse_sms(text, normalise=False)
    assert (raw.encoding, raw.text, raw.replacements) == ("UCS-2", text, ())
    assert set(raw.non_gsm_characters) == {"\u00a0", "–", "”", "—", "…"}


def test_normalise_details() -> None:
    assert normalise_for_sms("a \r\nb\t \r\n• c\u00ad\u200b ") == "a\nb\n- c"
    assert normalise_for_sms("‘x’ ‚y′ «z» „w“ 1″ 5−3 a‑b\u202fc\u2009d") == (
        '\'x\' \'y\' "z" "w" 1" 5-3 a-b c d'
    )
    persian = "می\u200cخواهم"  # the zero-width non-joiner is meaningful and stays
    assert normalise_for_sms(persian) == persian
    family = "👩\u200d👩\u200d👧"  # emoji ZWJ sequence stays
    assert normalise_for_sms(family) == family
    assert normalise_for_sms("ab\u200dc") == "abc"  # stray joiner in Latin text goes
    assert normalise_for_sms("ابقوا في المنزل…") == "ابقوا في المنزل…"  # UCS-2 keeps "…"


def test_caps_are_read_not_hardcoded() -> None:
    caps = replace(SMS, gsm7_single=10, gsm7_part=5, max_segments=2)
    a = analyse_sms("a" * 11, caps)
    assert (a.segments, a.per_segment_limit, a.over_max_segments) == (3, 5, True)


def test_to_dict_is_json_ready() -> None:
    d = analyse_sms("Hej – 5 €").to_dict()
    json.dumps(d)
    assert d["replacements"] == [{"original": "–", "replacement": "-", "count": 1}]
    assert d["units"] == 10 and d["encoding"] == "GSM-7"


# --- properties against the gsm0338 reference -------------------------------------------------


@settings(max_examples=300)
@given(gsm_text)
def test_gsm_alphabet_matches_reference(text: str) -> None:
    a = analyse_sms(text, normalise=False)
    assert a.encoding == "GSM-7"
    assert a.units == len(text.encode(CODEC))
    assert a.non_gsm_characters == ()
    assert a.segments == reference_segments(text)


@settings(max_examples=300)
@given(any_text)
def test_any_text_matches_reference(raw: str) -> None:
    a = analyse_sms(raw)
    text = a.text
    assert a.encoding == ("GSM-7" if gsm_encodable(text) else "UCS-2")
    if a.encoding == "GSM-7":
        assert a.units == len(text.encode(CODEC))
    else:
        assert a.units == len(text.encode("utf-16-be")) // 2
        assert set(a.non_gsm_characters) == {c for c in set(text) if not gsm_encodable(c)}
    assert a.characters == len(text)
    assert a.segments == reference_segments(text)


@settings(max_examples=300)
@given(any_text)
def test_segments_are_consistent(raw: str) -> None:
    for a in (analyse_sms(raw), analyse_sms(raw, normalise=False)):
        gsm = a.encoding == "GSM-7"
        single = SMS.gsm7_single if gsm else SMS.ucs2_single
        part = SMS.gsm7_part if gsm else SMS.ucs2_part
        assert (a.segments == 0) == (a.units == 0)
        assert (a.segments == 1) == (0 < a.units <= single)
        if a.segments > 1:
            assert a.per_segment_limit == part
            assert a.segments * part >= a.units
            assert (a.segments - 1) * (part - 1) < a.units  # at most one unit lost per part
        assert 0 <= a.remaining_in_last_segment < a.per_segment_limit or a.segments == 0
        assert a.over_max_segments == (a.segments > SMS.max_segments)


@settings(max_examples=300)
@given(any_text)
def test_normalisation_is_idempotent_and_never_costs_more(raw: str) -> None:
    once = normalise_for_sms(raw)
    assert normalise_for_sms(once) == once
    assert analyse_sms(once, normalise=False) == replace(analyse_sms(raw), replacements=())
    assert analyse_sms(raw).segments <= analyse_sms(raw, normalise=False).segments


@settings(max_examples=300)
@given(any_text)
def test_normalisation_never_touches_letters_or_digits(raw: str) -> None:
    def kept(s: str) -> list[str]:
        return [c for c in s if unicodedata.category(c)[0] in "LMN"]

    assert kept(normalise_for_sms(raw)) == kept(raw)


def test_dense_ellipsis_is_not_expanded_when_it_would_cost_more() -> None:
    a = analyse_sms("…" * 70)  # 70 UCS-2 units = 1 part; as "..." it would be 210 septets
    assert (a.encoding, a.segments, a.replacements) == ("UCS-2", 1, ())


def test_bidi_isolates_are_one_ucs2_unit_each_and_never_normalised_away() -> None:
    # The renderer puts LRI ... PDI around numbers in Arabic, Persian and Dari SMS (UCS-2
    # anyway); they are invisible, not GSM-7, and must be counted and kept.
    plain = "اتصلوا بالرقم 021-39 13 00."
    isolated = "اتصلوا بالرقم \u2066021-39 13 00\u2069."
    a, b = analyse_sms(plain), analyse_sms(isolated)
    assert b.text == isolated and b.replacements == ()
    assert (a.encoding, b.encoding) == ("UCS-2", "UCS-2")
    assert b.units == a.units + 2 == len(isolated)
    assert {"\u2066", "\u2069"} <= set(b.non_gsm_characters)
    # 65 letters, "1 2" and its two isolates fill one UCS-2 message (70 units); one more
    # letter needs a second part.
    assert analyse_sms("ب" * 65 + "\u20661 2\u2069").segments == 1
    assert analyse_sms("ب" * 66 + "\u20661 2\u2069").segments == 2
    # In a GSM-7 text a single isolate would force UCS-2: why the renderer never adds one there.
    assert analyse_sms("Ring 021-39 13 00.").encoding == "GSM-7"
    assert analyse_sms("Ring \u2066021-39 13 00\u2069.").encoding == "UCS-2"
