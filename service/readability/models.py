"""Result types of the readability check: words, sentences, metrics, findings and the report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from service.readability.limits import ReadabilityLimits

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Word:
    """One word token with character offsets into the original text."""

    text: str
    start: int
    end: int
    letters: int
    kind: Literal["word", "number", "address", "date"] = "word"

    @property
    def is_long(self) -> bool:
        """True for a word of more than six letters (LIX); numbers, addresses, date names never.

        Date names ("september") are marked by service.readability.metrics (date_words).
        """
        return self.kind == "word" and self.letters > 6


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence (or list item or heading): its text, offsets and words."""

    text: str
    start: int
    end: int
    words: tuple[Word, ...]

    @property
    def word_count(self) -> int:
        """Number of words, numbers included."""
        return len(self.words)


@dataclass(frozen=True, slots=True)
class Metrics:
    """Counts and scores for one text; measures that do not apply to the language are None."""

    sentences: int
    words: int
    long_words: int
    words_per_sentence: float
    long_word_share: float
    lix: float
    longest_sentence_words: int
    flesch_reading_ease: float | None = None
    flesch_kincaid_grade: float | None = None
    passive_share: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict."""
        return asdict(self)


FindingKind = Literal[
    "limit_exceeded",
    "limit_not_applicable",
    "long_sentence",
    "long_word",
    "passive_voice",
    "plain_word",
]


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem (error) or hint (warning), with where it is when it has a place."""

    kind: FindingKind
    severity: Severity
    message: str
    measure: str | None = None
    value: float | None = None
    limit: float | None = None
    excess: float | None = None
    sentence_index: int | None = None
    start: int | None = None
    end: int | None = None
    excerpt: str | None = None
    suggestion: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ReadabilityReport:
    """The outcome of checking one text in one language against one set of limits."""

    language: str
    metrics: Metrics
    findings: list[Finding]
    passed: bool
    validated_measures: list[str]
    limits: ReadabilityLimits
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        """Findings that fail the check."""
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        """Findings that only inform."""
        return [f for f in self.findings if f.severity == "warning"]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (limits as the audience profile states them)."""
        return {
            "language": self.language,
            "metrics": self.metrics.to_dict(),
            "findings": [f.to_dict() for f in self.findings],
            "passed": self.passed,
            "validated_measures": list(self.validated_measures),
            "limits": self.limits.model_dump(),
            "notes": list(self.notes),
        }
