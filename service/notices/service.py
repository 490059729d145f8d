"""Validating a submitted notice against its scenario, audiences and languages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from service.content import ContentLibrary
from service.notices.fields import parse_fields
from service.notices.scenarios import FieldType, ScenarioSpec
from service.notices.schemas import CrisisNoticeIn


@dataclass(frozen=True)
class NoticeProblem:
    """One thing wrong with a notice: where (a dotted path) and what."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class NoticeInvalid(ValueError):
    """The notice cannot be used; `problems` lists everything wrong, not just the first."""

    def __init__(self, problems: list[NoticeProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@dataclass(frozen=True)
class Notice:
    """A validated notice: the envelope, its scenario and its typed field values."""

    envelope: CrisisNoticeIn
    scenario: ScenarioSpec
    fields: dict[str, Any]
    sent_at: datetime

    def free_text_fields(self) -> list[str]:
        """Names of fields holding communicator text per language (needs human translation)."""
        return [
            f.name
            for f in self.scenario.fields
            if f.type == FieldType.translated_text and f.name in self.fields
        ]


def _pydantic_problems(exc: ValidationError) -> list[NoticeProblem]:
    problems = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "is not a notice field"
        problems.append(NoticeProblem(location, message))
    return problems


def validate_notice(raw: dict[str, Any], library: ContentLibrary) -> Notice:
    """A Notice, or NoticeInvalid naming every field that is missing or wrong."""
    try:
        envelope = CrisisNoticeIn.model_validate(raw)
    except ValidationError as exc:
        raise NoticeInvalid(_pydantic_problems(exc)) from None
    problems: list[NoticeProblem] = []
    scenario = library.scenarios.get(envelope.scenario)
    if scenario is None:
        known = ", ".join(sorted(library.scenarios))
        raise NoticeInvalid(
            [NoticeProblem("scenario", f"unknown scenario {envelope.scenario!r}; known: {known}")]
        )
    for index, audience in enumerate(envelope.audiences):
        if audience not in library.audiences:
            known = ", ".join(sorted(library.audiences))
            problems.append(
                NoticeProblem(
                    f"audiences.{index}", f"unknown audience {audience!r}; known: {known}"
                )
            )
    for index, lang in enumerate(envelope.languages):
        if lang not in library.languages:
            known = ", ".join(library.languages)
            problems.append(
                NoticeProblem(f"languages.{index}", f"unknown language {lang!r}; known: {known}")
            )
    if "sv" not in envelope.languages:
        problems.append(NoticeProblem("languages", "must include sv: Swedish is always sent"))
    for lang in envelope.note:
        if lang not in envelope.languages:
            problems.append(
                NoticeProblem(f"note.{lang}", "is a language the notice is not sent in")
            )
    if "sv" not in envelope.note and envelope.note:
        problems.append(NoticeProblem("note", "needs a Swedish text (note.sv) to fall back on"))
    values, field_errors = parse_fields(scenario, envelope.fields, library.timezone)
    problems += [NoticeProblem(location, message) for location, message in field_errors]
    for name in (f.name for f in scenario.fields if f.type == FieldType.translated_text):
        if name in values and "sv" not in values[name]:
            problems.append(NoticeProblem(f"fields.{name}", "needs a Swedish text (sv)"))
    sent_at = envelope.sent_at or datetime.now(UTC)
    if sent_at.tzinfo is None:
        sent_at = sent_at.replace(tzinfo=library.timezone)
    if (
        envelope.expires_at
        and envelope.expires_at.replace(tzinfo=envelope.expires_at.tzinfo or library.timezone)
        <= sent_at
    ):
        problems.append(NoticeProblem("expires_at", "is before the notice is sent"))
    if problems:
        raise NoticeInvalid(problems)
    return Notice(envelope=envelope, scenario=scenario, fields=values, sent_at=sent_at)
