"""Swedish: s-passive detection and the Swedish plain-word list, positive and negative cases."""

import pytest

from service.readability import check_text, measure, split_sentences
from service.readability.passive import find_passives
from service.readability.plainwords import find_plain_words, plain_word_list


def passives(text: str) -> list[str]:
    return [w.text for s in split_sentences(text, "sv") for w in find_passives(s)]


@pytest.mark.parametrize(
    ("sentence", "verb"),
    [
        ("Vattnet stängs av i kväll.", "stängs"),
        ("Skolan kommer att stängas i morgon.", "stängas"),
        ("Vattnet har stängts av.", "stängts"),
        ("Vattnet har inte stängts än.", "stängts"),
        ("Vattnet ska kokas i tre minuter.", "kokas"),
        ("Invånare uppmanas att stanna inne.", "uppmanas"),
        ("Butiken öppnades i går.", "öppnades"),
        ("Skolan stängdes i går.", "stängdes"),
        ("Vattnet kan inte drickas.", "drickas"),
        ("Mötet hålls i skolan.", "hålls"),
        ("Informationen sprids snabbt.", "sprids"),
        ("Alla boende ombeds stanna inne.", "ombeds"),
        ("Vattnet måste ha kokats.", "kokats"),
        ("Råden ska följas.", "följas"),
        ("Maten ska tas med.", "tas"),
        ("VATTNET STÄNGS AV", "STÄNGS"),
    ],
)
def test_passive_found(sentence: str, verb: str) -> None:
    assert passives(sentence) == [verb]


@pytest.mark.parametrize(
    "sentence",
    [
        "Det finns vatten i tanken.",
        "Vi hoppas att allt går bra.",
        "Andas lugnt och vänta.",
        "Vi ses i morgon.",
        "Vi träffas vid skolan.",
        "Mer vatten behövs.",
        "Kommunens personal hjälper dig.",
        "Vattnets kvalitet är god.",
        "Ring kommunens växel annars.",
        "Vänta tills vidare.",
        "Det är dags att gå hem.",
        "Du kan åka buss till skolan.",
        "Vi har plats för alla.",
        "Räkna med en timmas avbrott.",
        "Deras hus är stängda.",
        "Ta med glas och ris.",
        "Polisen och Västerås stad hjälper till.",
        "Det är bums och alls inte farligt.",
        "Vi stänger vattnet i dag.",
        "Alla anhörigas frågor besvarar vi.",
        "Ring längs vägen om du minns något.",
    ],
)
def test_passive_not_found(sentence: str) -> None:
    assert passives(sentence) == []


def test_passive_share_counts_sentences() -> None:
    text = "Vattnet stängs och tanken töms. Koka vattnet. Ring oss. Skolan stängdes."
    m = measure(text, "sv")
    assert m.passive_share == pytest.approx(2 / 4)
    assert measure(text, "en").passive_share is None


def test_swedish_list_size() -> None:
    words = plain_word_list("sv")
    assert words is not None
    assert len(words.terms) >= 60
    english = plain_word_list("en")
    assert english is not None
    assert len(english.terms) >= 40
    assert plain_word_list("fi") is None


@pytest.mark.parametrize(
    ("text", "found", "suggestion"),
    [
        ("Du kommer att erhålla ett brev.", "erhålla", "få"),
        ("Alla erhåller vatten.", "erhåller", "få"),
        ("Kommunen har erhållit pengar.", "erhållit", "få"),
        ("Vi tillhandahåller vatten.", "tillhandahåller", "ge, erbjuda"),
        ("Bröd samt vatten.", "samt", "och"),
        ("Mötet äger rum i skolan.", "äger rum", "hända, vara"),
        ("Med anledning av läckan stänger vi.", "Med anledning av", "på grund av, efter"),
        ("Koka vattnet i syfte att döda bakterier.", "i syfte att", "för att"),
        ("Kontakta oss omgående.", "Kontakta", "ring, mejla"),
        ("Handlingar ska inkomma senast i dag.", "inkomma", "skicka, lämna"),
    ],
)
def test_plain_words_found(text: str, found: str, suggestion: str) -> None:
    hits = find_plain_words(text, "sv")
    assert text[hits[0].start : hits[0].end] == found
    assert hits[0].term.use == suggestion


@pytest.mark.parametrize(
    "text",
    [
        "Vår kontaktperson heter Anna.",  # kontakt-, not the verb kontakta
        "Samtliga får vatten.",  # samt- inside a word
        "Din inkomst påverkas inte.",  # not inkomm-
        "Vi ger dig vatten och mat nu.",
        "Ring oss genast.",
    ],
)
def test_plain_words_not_found(text: str) -> None:
    assert find_plain_words(text, "sv") == []


def test_plain_words_only_where_lists_exist() -> None:
    assert find_plain_words("samt erhålla", "fi") == []
    assert check_text("samt erhålla", "fi").findings == []


def test_compound_nouns_ending_like_a_passive_are_not_flagged() -> None:
    from service.readability.service import check_text

    report = check_text("Kontrollera syrgas och vårdhus. Vattnet ska kokas.", "sv")
    passives = [f.excerpt for f in report.findings if f.kind == "passive_voice"]
    assert passives == ["kokas"]


def test_a_dates_weekday_and_month_are_words_but_never_long_words() -> None:
    """The same notice must not pass LIX in May and fail it in September."""
    from service.readability.limits import ReadabilityLimits

    def lix(day: str) -> float | None:
        return measure(f"Fyll flaskor med vatten nu. Vattnet stängs av {day} klockan 10.", "sv").lix

    may, september = lix("fredag 4 maj"), lix("torsdag 30 september")
    assert may == september  # same words, sentences and long words ("flaskor", "klockan")
    metrics = measure("Vi ses torsdag 30 september.", "sv")
    assert (metrics.words, metrics.long_words) == (5, 0)
    limits = ReadabilityLimits(max_lix=5)
    long_words = [
        f.excerpt
        for f in check_text("Vi stänger av vattnet onsdag 1 december.", "sv", limits).findings
        if f.kind == "long_word"
    ]
    assert long_words == ["stänger", "vattnet"]  # never "december"
    assert measure("Wir sehen uns am Donnerstag.", "de").long_words == 0  # any CLDR language
