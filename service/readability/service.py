"""The readability check the product calls: ``check_text`` (plus ``measure``/``split_sentences``).

Errors fail the check: a metric over (or under) its audience limit, a single sentence longer than
``max_sentence_words``, and the share of passive sentences or the number of bureaucratic words
when those limits are set. Warnings only inform: the places that explain a failed limit (long
words when LIX or long-word share fails, long sentences when the average fails), every passive
verb (Swedish) and every bureaucratic word with its everyday alternative (Swedish, English).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from service.readability.limits import ReadabilityLimits
from service.readability.metrics import Analysis, analyse, measure
from service.readability.models import Finding, ReadabilityReport, Severity
from service.readability.passive import not_passive_words
from service.readability.plainwords import PlainWordHit, find_plain_words, plain_word_list
from service.readability.segment import split_sentences
from service.readability.syllables import warm_up as _load_pronunciations

__all__ = ["check_text", "measure", "split_sentences", "warm_up"]


def warm_up() -> None:
    """Load the word lists and the English pronouncing dictionary (~0.5 s) ahead of use."""
    _load_pronunciations()
    not_passive_words()
    for primary in ("sv", "en"):
        plain_word_list(primary)


@dataclass(frozen=True, slots=True)
class _Rule:
    measure: str
    label: str
    limit_field: str
    percent: bool = False
    minimum: bool = False
    unit: str = ""


_RULES = (
    _Rule("lix", "LIX", "max_lix"),
    _Rule("flesch_reading_ease", "Flesch reading ease", "min_flesch_reading_ease", minimum=True),
    _Rule("flesch_kincaid_grade", "Flesch-Kincaid grade", "max_flesch_kincaid_grade"),
    _Rule("words_per_sentence", "Average sentence length", "max_words_per_sentence", unit=" words"),
    _Rule("long_word_share", "Long-word share", "max_long_word_share", percent=True),
    _Rule("passive_share", "Share of sentences in passive voice", "max_passive_share", True),
)
_WHY_NOT = {
    "flesch_reading_ease": "it applies to English only",
    "flesch_kincaid_grade": "it applies to English only",
    "passive_share": "passive voice is only detected in Swedish",
}


def _limit_finding(rule: _Rule, value: float, limit: float, a: Analysis) -> Finding | None:
    scale = 100.0 if rule.percent else 1.0
    shown = round(value * scale, 1)
    bound = round(limit * scale, 6)
    over = bound - shown if rule.minimum else shown - bound
    if over <= 0:
        return None
    excess = round(over / scale, 4 if rule.percent else 1)
    if rule.percent:
        text = f"{rule.label} {shown:.1f}% is over the audience limit {bound:g}%"
        amount = f"{over:.1f} percentage points"
    else:
        side = "under the audience minimum" if rule.minimum else "over the audience limit"
        text = f"{rule.label} {shown:.1f}{rule.unit} is {side} {limit:g}"
        amount = f"{over:.1f}"
    note = ""
    if rule.measure not in a.profile.validated_measures:
        note = f" ({rule.label} is not validated for {a.profile.tag})"
    return Finding(
        kind="limit_exceeded",
        severity="error",
        message=f"{text} by {amount}{note}",
        measure=rule.measure,
        value=value,
        limit=limit,
        excess=excess,
    )


def _metric_findings(a: Analysis, limits: ReadabilityLimits) -> list[Finding]:
    findings: list[Finding] = []
    for rule in _RULES:
        limit = getattr(limits, rule.limit_field)
        if limit is None:
            continue
        value = getattr(a.metrics, rule.measure)
        if value is None:
            findings.append(
                Finding(
                    kind="limit_not_applicable",
                    severity="warning",
                    message=f"{rule.label} limit {limit:g} not checked for {a.profile.tag}: "
                    f"{_WHY_NOT.get(rule.measure, 'not measured')}",
                    measure=rule.measure,
                    limit=limit,
                )
            )
            continue
        finding = _limit_finding(rule, float(value), float(limit), a)
        if finding is not None:
            findings.append(finding)
    return findings


def _sentence_findings(a: Analysis, limits: ReadabilityLimits, failed: set[str]) -> list[Finding]:
    findings: list[Finding] = []
    hard, average = limits.max_sentence_words, limits.max_words_per_sentence
    average_failed = "words_per_sentence" in failed
    for i, s in enumerate(a.sentences):
        n = s.word_count
        severity: Severity
        if hard is not None and n > hard:
            severity, limit, what = "error", float(hard), "audience limit"
        elif average_failed and average is not None and n > average:
            severity, limit, what = "warning", float(average), "average sentence length limit"
        else:
            continue
        findings.append(
            Finding(
                kind="long_sentence",
                severity=severity,
                message=f"Sentence {i + 1} has {n} words, over the {what} {limit:g} "
                f"by {n - limit:g}",
                measure="sentence_words",
                value=float(n),
                limit=limit,
                excess=n - limit,
                sentence_index=i,
                start=s.start,
                end=s.end,
                excerpt=s.text,
            )
        )
    return findings


def _long_word_findings(a: Analysis, failed: set[str]) -> list[Finding]:
    if not failed & {"lix", "long_word_share"}:
        return []
    return [
        Finding(
            kind="long_word",
            severity="warning",
            message=f"Long word {w.text!r} has {w.letters} letters (LIX counts over 6 as long)",
            measure="word_letters",
            value=float(w.letters),
            limit=6.0,
            excess=float(w.letters - 6),
            sentence_index=i,
            start=w.start,
            end=w.end,
            excerpt=w.text,
        )
        for i, s in enumerate(a.sentences)
        for w in s.words
        if w.is_long
    ]


def _passive_findings(a: Analysis) -> list[Finding]:
    return [
        Finding(
            kind="passive_voice",
            severity="warning",
            message=f"Passive voice {w.text!r} in sentence {i + 1}: say who does what "
            "(active voice)",
            measure="passive_share",
            sentence_index=i,
            start=w.start,
            end=w.end,
            excerpt=w.text,
        )
        for i, w in a.passives
    ]


def _plain_findings(
    text: str, a: Analysis, hits: list[PlainWordHit], limits: ReadabilityLimits
) -> list[Finding]:
    starts = [s.start for s in a.sentences]
    findings: list[Finding] = []
    for hit in hits:
        i = bisect_right(starts, hit.start) - 1
        inside = i >= 0 and hit.start < a.sentences[i].end
        excerpt = text[hit.start : hit.end]
        findings.append(
            Finding(
                kind="plain_word",
                severity="warning",
                message=f"{excerpt!r} is formal: write {hit.term.use!r} instead",
                measure="plain_words",
                sentence_index=i if inside else None,
                start=hit.start,
                end=hit.end,
                excerpt=excerpt,
                suggestion=hit.term.use,
            )
        )
    allowed = limits.max_plain_word_findings
    if allowed is None:
        return findings
    if plain_word_list(a.profile.primary) is None:
        message = f"Plain-word limit {allowed} not checked for {a.profile.tag}: no word list"
        findings.append(
            Finding(
                kind="limit_not_applicable",
                severity="warning",
                message=message,
                measure="plain_words",
                limit=float(allowed),
            )
        )
    elif len(hits) > allowed:
        findings.append(
            Finding(
                kind="limit_exceeded",
                severity="error",
                message=f"{len(hits)} formal words or phrases, over the audience limit "
                f"{allowed} by {len(hits) - allowed}",
                measure="plain_words",
                value=float(len(hits)),
                limit=float(allowed),
                excess=float(len(hits) - allowed),
            )
        )
    return findings


def check_text(text: str, lang: str, limits: ReadabilityLimits | None = None) -> ReadabilityReport:
    """Measure ``text`` in language ``lang`` (BCP 47) and check it against audience ``limits``."""
    limits = limits if limits is not None else ReadabilityLimits()
    a = analyse(text, lang)
    measure_findings = _metric_findings(a, limits)
    failed = {f.measure for f in measure_findings if f.severity == "error" and f.measure}
    hits = find_plain_words(text, a.profile.primary)
    plain = _plain_findings(text, a, hits, limits)
    located = (
        _sentence_findings(a, limits, failed)
        + _long_word_findings(a, failed)
        + _passive_findings(a)
        + [f for f in plain if f.start is not None]
    )
    located.sort(key=lambda f: (f.start or 0, f.end or 0))
    findings = measure_findings + [f for f in plain if f.start is None] + located
    return ReadabilityReport(
        language=lang,
        metrics=a.metrics,
        findings=findings,
        passed=not any(f.severity == "error" for f in findings),
        validated_measures=list(a.profile.validated_measures),
        limits=limits,
        notes=list(a.profile.notes),
    )
