"""Readability limits as an audience profile declares them (per language, all optional)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ReadabilityLimits(BaseModel):
    """Upper (or lower) bounds a text must keep for one audience in one language.

    A limit left as None is not checked. Which limits make sense depends on the language: LIX is
    validated for Swedish, Flesch for English; words per sentence and long-word share are
    language-neutral proxies used for the rest.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_lix: float | None = None
    min_flesch_reading_ease: float | None = None
    max_flesch_kincaid_grade: float | None = None
    max_words_per_sentence: float | None = Field(None, description="average over the text")
    max_sentence_words: int | None = Field(None, description="longest single sentence")
    max_long_word_share: float | None = Field(None, description="0..1, words over 6 letters")
    max_passive_share: float | None = Field(None, description="0..1, Swedish s-passive verbs")
    max_plain_word_findings: int | None = Field(None, description="bureaucratic words allowed")
