"""Readability per language and audience: metrics, limits and findings (pure functions)."""

from service.readability.limits import ReadabilityLimits
from service.readability.models import Finding, Metrics, ReadabilityReport, Sentence, Word
from service.readability.service import check_text, measure, split_sentences, warm_up

__all__ = [
    "Finding",
    "Metrics",
    "ReadabilityLimits",
    "ReadabilityReport",
    "Sentence",
    "Word",
    "check_text",
    "measure",
    "split_sentences",
    "warm_up",
]
