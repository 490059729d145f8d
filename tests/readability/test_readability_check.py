"""check_text: limits, findings and their offsets, the report, and every product language."""

import json

import pytest

from service.readability import ReadabilityLimits, ReadabilityReport, check_text

SV_EASY = "Vattnet är smutsigt.\nKoka vattnet innan du dricker det.\nRing 112 om någon blir sjuk."
SV_BUREAUCRATIC = (
    "Med anledning av det inträffade driftstoppet uppmanas samtliga abonnenter inom berört "
    "område att omgående koka dricksvattnet samt undvika onödig förbrukning. Kommunen avser att "
    "tillhandahålla nödvatten i enlighet med gällande beredskapsplan."
)
EASY_READ = ReadabilityLimits(max_lix=40, max_sentence_words=15, max_words_per_sentence=12)


def errors(report: ReadabilityReport) -> list[str]:
    return [f.message for f in report.findings if f.severity == "error"]


def test_within_limits_passes() -> None:
    report = check_text(SV_EASY, "sv", EASY_READ)
    assert report.passed
    assert errors(report) == []
    assert report.limits == EASY_READ


def test_over_limits_fails_and_says_by_how_much() -> None:
    report = check_text(SV_BUREAUCRATIC, "sv", EASY_READ)
    assert not report.passed
    assert errors(report) == [
        "LIX 68.3 is over the audience limit 40 by 28.3",
        "Average sentence length 15.0 words is over the audience limit 12 by 3.0",
        "Sentence 1 has 20 words, over the audience limit 15 by 5",
    ]
    (lix,) = [f for f in report.findings if f.measure == "lix"]
    assert (lix.kind, lix.value, lix.limit, lix.excess) == ("limit_exceeded", 68.33, 40, 28.3)
    (long_sentence,) = [f for f in report.findings if f.kind == "long_sentence"]
    assert long_sentence.sentence_index == 0
    assert long_sentence.excerpt is not None
    assert long_sentence.excerpt.startswith("Med anledning av")
    assert long_sentence.excerpt.endswith("förbrukning.")
    # LIX failed, so the long words are pointed out (as warnings).
    long_words = [f.excerpt for f in report.findings if f.kind == "long_word"]
    assert long_words[:3] == ["anledning", "inträffade", "driftstoppet"]
    assert len(long_words) == 16


def test_average_limit_points_at_long_sentences_as_warnings() -> None:
    limits = ReadabilityLimits(max_words_per_sentence=8)
    text = "Ring 112 nu. Vi stänger vattnet i hela staden i dag och i morgon på grund av en läcka."
    report = check_text(text, "sv", limits)
    assert report.metrics.words_per_sentence == 9.5
    assert not report.passed
    (warning,) = [f for f in report.findings if f.kind == "long_sentence"]
    assert warning.severity == "warning"
    assert warning.sentence_index == 1


def test_minimum_flesch_and_percent_limits() -> None:
    text = "Residents are advised to remain indoors until further notice in order to minimise risk."
    limits = ReadabilityLimits(min_flesch_reading_ease=60, max_long_word_share=0.2)
    report = check_text(text, "en", limits)
    messages = errors(report)
    assert messages[0].startswith("Flesch reading ease ")
    assert " is under the audience minimum 60 by " in messages[0]
    assert messages[1].startswith("Long-word share ")
    assert messages[1].endswith("percentage points")
    share = next(f for f in report.findings if f.measure == "long_word_share")
    assert share.value is not None
    assert share.excess == pytest.approx(share.value - 0.2, abs=1e-3)


def test_passive_and_plain_word_limits() -> None:
    limits = ReadabilityLimits(max_passive_share=0.25, max_plain_word_findings=2)
    report = check_text(SV_BUREAUCRATIC, "sv", limits)
    assert errors(report) == [
        "Share of sentences in passive voice 50.0% is over the audience limit 25% by 25.0 "
        "percentage points",
        "5 formal words or phrases, over the audience limit 2 by 3",
    ]
    kinds = [f.kind for f in report.findings if f.severity == "warning"]
    assert kinds.count("plain_word") == 5
    assert kinds.count("passive_voice") == 1
    relaxed = check_text(SV_BUREAUCRATIC, "sv", ReadabilityLimits(max_plain_word_findings=5))
    assert relaxed.passed


def test_warnings_alone_do_not_fail() -> None:
    report = check_text(SV_BUREAUCRATIC, "sv")
    assert report.passed
    assert {f.kind for f in report.findings} == {"plain_word", "passive_voice"}


def test_limit_for_measure_that_does_not_apply() -> None:
    report = check_text(SV_EASY, "sv", ReadabilityLimits(min_flesch_reading_ease=60))
    assert report.passed
    (finding,) = report.findings
    assert finding.kind == "limit_not_applicable"
    assert "English only" in finding.message


def test_unvalidated_limit_is_enforced_and_says_so() -> None:
    report = check_text(
        "هذه جملة طويلة جدا بكلمات طويلة ومتعددة.", "ar", ReadabilityLimits(max_lix=10)
    )
    (error,) = report.errors
    assert "not validated for ar" in error.message


@pytest.mark.parametrize(
    "text", [SV_BUREAUCRATIC, SV_EASY, "Ring 112.\n- Koka vattnet samt\n• ta med mat"]
)
def test_findings_point_at_the_right_offsets(text: str) -> None:
    limits = ReadabilityLimits(max_lix=5, max_sentence_words=3, max_passive_share=0)
    report = check_text(text, "sv", limits)
    located = [f for f in report.findings if f.start is not None]
    assert located
    for f in located:
        assert f.end is not None
        assert text[f.start : f.end] == f.excerpt


def test_to_dict_is_json() -> None:
    report = check_text(SV_BUREAUCRATIC, "sv", EASY_READ)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["passed"] is False
    assert data["metrics"]["sentences"] == 2
    assert data["limits"]["max_lix"] == 40
    assert data["findings"][0]["kind"] == "limit_exceeded"


@pytest.mark.parametrize(
    ("lang", "validated"),
    [
        ("sv", {"lix", "long_word_share", "passive_share", "plain_words"}),
        ("en", {"flesch_reading_ease", "flesch_kincaid_grade", "plain_words", "long_word_share"}),
        ("fi", {"long_word_share"}),
        ("ar", set()),
        ("ti", set()),
        ("fa-AF", set()),
        ("xx", set()),
    ],
)
def test_validated_measures(lang: str, validated: set[str]) -> None:
    report = check_text("Hej.", lang)
    neutral = {"words_per_sentence", "longest_sentence_words"}
    assert set(report.validated_measures) == neutral | validated
    if lang != "sv":
        assert "lix" not in report.validated_measures
        assert any("LIX" in n or "not known" in n for n in report.notes)


LANGUAGE_SAMPLES = {
    "sv": "Vattnet är avstängt. Koka vattnet. Ring 112.",
    "en": "The water is off. Boil the water. Call 112.",
    "ar": "انقطع الماء في المدينة. هل تحتاج مساعدة؟ اتصل بالرقم 112.",
    "fa": "آب قطع شده است. آیا به کمک نیاز دارید؟ با ۱۱۲ تماس بگیرید.",
    "fa-AF": "آب قطع شده است. آیا کمک می‌خواهید؟ به ۱۱۲ زنگ بزنید.",
    "so": "Biyaha waa la jaray. Karkari biyaha. Wac 112.",
    "ti": "ማይ ተቋሪጹ ኣሎ። ሓገዝ ትደሊ፧ ናብ፡112፡ደውሉ።",
    "fi": "Vesi on poikki klo 10.30 alkaen. Keitä vesi. Soita 112.",
    "uk": "Воду відключено. Кип'ятіть воду перед вживанням. Телефонуйте 112.",
    "pl": "Woda jest wyłączona od godz. 10.30. Przegotuj wodę. Dzwoń pod 112.",
    "se": "Čáhci lea botkejuvvon. Vuoššat čázi. Riŋge 112.",
    "fit": "Vesi on poikki. Keitä vesi. Soita 112.",
    "rom": "O paj naj šaj te pies. Tatjar o paj. Akhar 112.",
    "yi": "דאָס וואַסער איז נישט זיכער. קאָכט דאָס וואַסער. רופֿט 112.",
}


@pytest.mark.parametrize(("lang", "text"), LANGUAGE_SAMPLES.items())
def test_every_language(lang: str, text: str) -> None:
    report = check_text(text, lang, ReadabilityLimits(max_sentence_words=20, max_lix=60))
    m = report.metrics
    assert m.sentences == 3
    assert m.words >= 6
    assert m.lix > 0
    assert (m.flesch_reading_ease is not None) == (lang == "en")
    assert (m.passive_share is not None) == (lang == "sv")
    assert report.language == lang
    json.dumps(report.to_dict())


def test_tigrinya_word_separator() -> None:
    report = check_text("ማይ፡ተቋሪጹ፡ኣሎ።", "ti")
    assert (report.metrics.sentences, report.metrics.words) == (1, 3)
