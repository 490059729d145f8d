"""Counting: sentences, words, long words, LIX, Flesch (English) and passive share (Swedish).

LIX = words / sentences + 100 * long words / words, where a long word has more than six letters
(Björnsson 1968); weekday and month names are a date's words, never long (see date_words).
Flesch reading ease = 206.835 - 1.015 * words/sentence - 84.6 * syllables/word; Flesch-Kincaid
grade = 0.39 * words/sentence + 11.8 * syllables/word - 15.59.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from service.readability.date_words import date_words
from service.readability.languages import LanguageProfile, language_profile
from service.readability.models import Metrics, Sentence, Word
from service.readability.passive import find_passives
from service.readability.segment import split_sentences
from service.readability.syllables import english_syllables


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything measured about one text: sentences, metrics and where the passives are."""

    profile: LanguageProfile
    sentences: list[Sentence]
    metrics: Metrics
    passives: list[tuple[int, Word]]


def _flesch(sentences: int, words: list[Word]) -> tuple[float, float] | None:
    if not words or not sentences:
        return None
    # A web or e-mail address is read as one unit; its letters are not English syllables.
    syllables = sum(1 if w.kind == "address" else english_syllables(w.text) for w in words)
    wps = len(words) / sentences
    spw = syllables / len(words)
    ease = 206.835 - 1.015 * wps - 84.6 * spw
    grade = 0.39 * wps + 11.8 * spw - 15.59
    return round(ease, 2), round(grade, 2)


def _dated(sentences: list[Sentence], names: frozenset[str]) -> list[Sentence]:
    """The sentences with weekday and month names marked as a date's words, not long words."""
    if not names:
        return sentences
    return [
        replace(
            s,
            words=tuple(
                replace(w, kind="date") if w.kind == "word" and w.text.lower() in names else w
                for w in s.words
            ),
        )
        for s in sentences
    ]


def analyse(text: str, lang: str) -> Analysis:
    """Split, count and score ``text`` as language ``lang`` (a BCP 47 tag)."""
    profile = language_profile(lang)
    sentences = _dated(split_sentences(text, lang), date_words(lang))
    words = [w for s in sentences for w in s.words]
    n_sent, n_words = len(sentences), len(words)
    n_long = sum(1 for w in words if w.is_long)
    wps = n_words / n_sent if n_sent else 0.0
    long_share = n_long / n_words if n_words else 0.0
    passives: list[tuple[int, Word]] = []
    passive_share: float | None = None
    if profile.swedish:
        passives = [(i, w) for i, s in enumerate(sentences) for w in find_passives(s)]
        with_passive = len({i for i, _ in passives})
        passive_share = round(with_passive / n_sent, 4) if n_sent else 0.0
    flesch = _flesch(n_sent, words) if profile.english else None
    metrics = Metrics(
        sentences=n_sent,
        words=n_words,
        long_words=n_long,
        words_per_sentence=round(wps, 2),
        long_word_share=round(long_share, 4),
        lix=round(wps + 100 * long_share, 2),
        longest_sentence_words=max((s.word_count for s in sentences), default=0),
        flesch_reading_ease=flesch[0] if flesch else None,
        flesch_kincaid_grade=flesch[1] if flesch else None,
        passive_share=passive_share,
    )
    return Analysis(profile=profile, sentences=sentences, metrics=metrics, passives=passives)


def measure(text: str, lang: str) -> Metrics:
    """Metrics for ``text`` in language ``lang``; measures that do not apply are None."""
    return analyse(text, lang).metrics
