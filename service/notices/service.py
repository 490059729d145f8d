"""Validating a submitted notice against its scenario, audiences, languages and areas.

Every problem is reported at once, each with its place, so a communicator fixes a notice in one
pass: a broken envelope does not hide an unknown scenario, and an unknown scenario does not hide
an unknown area. Warnings are things a person must see before sending but may accept (an expected
end that has already passed).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from service.clock import utcnow
from service.content import ContentLibrary
from service.notices.fields import parse_fields
from service.notices.scenarios import FieldType, ScenarioSpec
from service.notices.schemas import MAX_LIST_ITEMS, CrisisNoticeIn, MessageType
from service.notices.text_safety import shown, unsafe_characters, walk_strings

# A real notice has a handful of problems; past this many the rest are counted, not listed, so
# a notice of 40,000 unknown areas gets a short answer instead of megabytes of suggestions.
MAX_PROBLEMS = 100


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
class ReferencedNotice:
    """What validation needs to know about the notice an update, all-clear or cancel follows."""

    code: str
    scenario: str
    mode: str
    message_type: str
    cancelled: bool = False


# Looks a public code up in the store; None when no notice has it.
ReferenceLookup = Callable[[str], ReferencedNotice | None]


@dataclass(frozen=True)
class Notice:
    """A validated notice: the envelope, its scenario and its typed field values."""

    envelope: CrisisNoticeIn
    scenario: ScenarioSpec
    fields: dict[str, Any]
    sent_at: datetime
    warnings: tuple[NoticeProblem, ...] = field(default=())

    def free_text_fields(self) -> list[str]:
        """Names of fields holding communicator text per language (needs human translation)."""
        return [
            f.name
            for f in self.scenario.fields
            if f.type == FieldType.translated_text and f.name in self.fields
        ]

    def passed_ends(self) -> list[str]:
        """End fields (`after` another field) whose time is already over when the notice is sent.

        Templates treat them as unknown, so nobody is told that the water is back "at about
        16.00" when it is 17.00 and the water is not back.
        """
        return [
            spec.name
            for spec in self.scenario.fields
            if spec.after and spec.name in self.fields and _over(self.fields[spec.name], self)
        ]


def _over(value: Any, notice: Notice) -> bool:
    if isinstance(value, datetime):
        return value <= notice.sent_at
    if isinstance(value, date):
        # A date ends at midnight: "until Sunday" is over on Monday (sent_at is local time).
        return value < notice.sent_at.date()
    return False


def _pydantic_problems(exc: ValidationError) -> list[NoticeProblem]:
    problems = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "is not a notice field"
        problems.append(NoticeProblem(location, message))
    return problems


def _suggest(value: str, known: dict[str, str], what: str) -> str:
    """`unknown area 'skultna'; did you mean skultuna (Skultuna)?` with the closest known ones."""
    by_word = {k.lower(): k for k in known} | {n.lower(): k for k, n in known.items()}
    close = difflib.get_close_matches(value.lower(), list(by_word), n=3, cutoff=0.6)
    matches = list(dict.fromkeys(by_word[c] for c in close))
    if matches:
        names = ", ".join(f"{k} ({known[k]})" if known[k] != k else k for k in matches)
        return f"unknown {what} {shown(value)}; did you mean {names}?"
    listed = sorted(known)
    more = f" and {len(listed) - 12} more" if len(listed) > 12 else ""
    return f"unknown {what} {shown(value)}; known: {', '.join(listed[:12])}{more}"


def _strings(raw: dict[str, Any], key: str) -> list[tuple[int, str]]:
    """The list at `key` as (index, text) pairs, skipping what is not text (pydantic says so).

    Only the first MAX_LIST_ITEMS: pydantic reports a longer list, and each item here may cost
    a search for the closest known name.
    """
    value = raw.get(key)
    if not isinstance(value, list):
        return []
    return [(i, v) for i, v in enumerate(value[:MAX_LIST_ITEMS]) if isinstance(v, str)]


def _hostile_text(raw: dict[str, Any], library: ContentLibrary) -> list[NoticeProblem]:
    scenario = library.scenarios.get(str(raw.get("scenario")))
    translated = {
        f.name for f in (scenario.fields if scenario else []) if f.type == FieldType.translated_text
    }
    problems = []
    for path, text in walk_strings(raw):
        language = None
        if len(path) == 2 and path[0] == "note":
            language = path[1]
        elif len(path) == 3 and path[0] == "fields" and path[1] in translated:
            language = path[2]
        rtl = language in library.languages and library.languages[language].rtl
        free_text = language is not None
        location = ".".join(p for p in path if p != "<key>")
        where = f"{location} (a key)" if path and path[-1] == "<key>" else location
        problems += [
            NoticeProblem(where, message)
            for message in unsafe_characters(text, free_text=free_text, rtl=rtl)
        ]
    return problems


def _envelope_problems(
    raw: dict[str, Any], library: ContentLibrary, flagged: set[str]
) -> list[NoticeProblem]:
    """Scenario, audiences, languages, areas and notes, checked from the raw JSON.

    Read from the raw JSON, so they are reported even when pydantic refused another part.
    """
    problems: list[NoticeProblem] = []
    scenario_id = raw.get("scenario")
    if isinstance(scenario_id, str) and scenario_id and scenario_id not in library.scenarios:
        titles = {s.id: s.id for s in library.scenarios.values()}
        problems.append(NoticeProblem("scenario", _suggest(scenario_id, titles, "scenario")))
    audiences = {a: a for a in library.audiences}
    for index, audience in _strings(raw, "audiences"):
        if audience not in library.audiences:
            message = _suggest(audience, audiences, "audience")
            problems.append(NoticeProblem(f"audiences.{index}", message))
    languages = {t: lang.english_name for t, lang in library.languages.items()}
    for index, tag in _strings(raw, "languages"):
        if tag not in library.languages:
            message = _suggest(tag, languages, "language")
            problems.append(NoticeProblem(f"languages.{index}", message))
    tags = [t for _, t in _strings(raw, "languages")]
    if "languages" not in flagged and isinstance(raw.get("languages"), list) and "sv" not in tags:
        problems.append(NoticeProblem("languages", "must include sv: Swedish is always sent"))
    areas = {code: area.name for code, area in library.areas.areas.items()}
    for index, code in _strings(raw, "areas"):
        if code not in areas:
            message = _suggest(code, areas, "area") + " (areas are listed in areas.toml)"
            problems.append(NoticeProblem(f"areas.{index}", message))
    note = raw.get("note")
    if isinstance(note, dict) and "note" not in flagged:
        written = {k for k, v in note.items() if isinstance(v, str) and v.strip()}
        for lang in sorted(written):
            if lang not in tags:
                problems.append(
                    NoticeProblem(f"note.{lang}", "is a language the notice is not sent in")
                )
        if written and "sv" not in written:
            problems.append(NoticeProblem("note", "needs a Swedish text (note.sv) to fall back on"))
    return problems


def _field_problems(
    raw: dict[str, Any], scenario: ScenarioSpec, library: ContentLibrary
) -> tuple[dict[str, Any], list[NoticeProblem]]:
    fields = raw.get("fields", {})
    if not isinstance(fields, dict):
        return {}, []  # pydantic reports a `fields` that is not an object
    values, errors = parse_fields(scenario, fields, library.timezone)
    problems = [NoticeProblem(location, message) for location, message in errors]
    known = {t: lang.english_name for t, lang in library.languages.items()}
    for name in (f.name for f in scenario.fields if f.type == FieldType.translated_text):
        if name not in values:
            continue
        if "sv" not in values[name]:
            problems.append(NoticeProblem(f"fields.{name}", "needs a Swedish text (sv)"))
        for lang in sorted(set(values[name]) - set(known)):
            # A typo (sw for sv) would leave its text unsent; known tags also bound the size of
            # a valid notice (README "HTTP limits and headers").
            message = _suggest(lang, known, "language")
            problems.append(NoticeProblem(f"fields.{name}.{lang}", message))
    return values, problems


def _reference_problems(
    envelope: CrisisNoticeIn, lookup: ReferenceLookup | None
) -> list[NoticeProblem]:
    if lookup is None or not envelope.references:
        return []
    first = lookup(envelope.references)
    kind = envelope.message_type.value.replace("_", "-")
    if first is None:
        return [
            NoticeProblem(
                "references",
                f"no notice has the code {shown(envelope.references)}; an {kind} must follow a "
                "notice that was sent (check the code in the first message's link)",
            )
        ]
    problems = []
    if first.scenario != envelope.scenario:
        problems.append(
            NoticeProblem(
                "scenario",
                f"is {envelope.scenario} but {first.code} is a {first.scenario} notice; an {kind} "
                "keeps the scenario of the notice it follows (send a new alert instead)",
            )
        )
    if first.mode != envelope.mode.value:
        problems.append(
            NoticeProblem(
                "mode",
                f"is {envelope.mode.value} but {first.code} is {first.mode}; an exercise can "
                "never become a real alert, nor a real alert an exercise",
            )
        )
    if first.cancelled and envelope.message_type != MessageType.cancel:
        problems.append(
            NoticeProblem(
                "references",
                f"{first.code} was cancelled; send a new alert instead of an {kind}",
            )
        )
    return problems


def validate_notice(
    raw: dict[str, Any],
    library: ContentLibrary,
    *,
    now: datetime | None = None,
    references: ReferenceLookup | None = None,
) -> Notice:
    """A Notice, or NoticeInvalid naming every field that is missing or wrong.

    `now` is when the notice is sent (default: the clock); `references` looks up the notice an
    update follows (None: not checked, for rendering a file without a database).
    """
    problems = _hostile_text(raw, library)
    envelope: CrisisNoticeIn | None = None
    try:
        envelope = CrisisNoticeIn.model_validate(raw)
    except ValidationError as exc:
        problems += _pydantic_problems(exc)
    flagged = {p.location.split(".")[0] for p in problems}
    problems += _envelope_problems(raw, library, flagged)
    scenario = library.scenarios.get(str(raw.get("scenario")))
    values: dict[str, Any] = {}
    if scenario is not None:
        values, field_problems = _field_problems(raw, scenario, library)
        problems += field_problems
    sent_at = (envelope.sent_at if envelope else None) or now or utcnow()
    if sent_at.tzinfo is None:
        sent_at = sent_at.replace(tzinfo=library.timezone)
    sent_at = sent_at.astimezone(library.timezone)
    if envelope is not None:
        problems += _reference_problems(envelope, references)
        expires = envelope.expires_at
        if expires and expires.replace(tzinfo=expires.tzinfo or library.timezone) <= sent_at:
            problems.append(NoticeProblem("expires_at", "is before the notice is sent"))
    if problems or envelope is None or scenario is None:
        raise NoticeInvalid(_capped(_unique(problems)))
    notice = Notice(envelope=envelope, scenario=scenario, fields=values, sent_at=sent_at)
    return Notice(envelope, scenario, values, sent_at, warnings=tuple(_warnings(notice, library)))


def _unique(problems: list[NoticeProblem]) -> list[NoticeProblem]:
    return list(dict.fromkeys(problems))


def _capped(problems: list[NoticeProblem]) -> list[NoticeProblem]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    more = len(problems) - (MAX_PROBLEMS - 1)
    summary = NoticeProblem("", f"and {more} more problems; fix these and send it again")
    return [*problems[: MAX_PROBLEMS - 1], summary]


def _warnings(notice: Notice, library: ContentLibrary) -> list[NoticeProblem]:
    if notice.envelope.message_type in (MessageType.all_clear, MessageType.cancel):
        return []  # an all-clear or cancel after the expected end is exactly on time
    warnings = []
    for spec in notice.scenario.fields:
        value = notice.fields.get(spec.name)
        if spec.deadline and isinstance(value, datetime) and value <= notice.sent_at:
            local = value.astimezone(library.timezone).strftime("%Y-%m-%d %H:%M")
            warnings.append(
                NoticeProblem(
                    f"fields.{spec.name}",
                    f"has already passed ({local}); the message will not give a time. Set a "
                    "new time if people still have one",
                )
            )
    for name in notice.passed_ends():
        value = notice.fields[name]
        when = value.astimezone(library.timezone) if isinstance(value, datetime) else value
        shown_when = when.strftime("%Y-%m-%d %H:%M") if isinstance(when, datetime) else str(when)
        warnings.append(
            NoticeProblem(
                f"fields.{name}",
                f"is already over ({shown_when}); the message will say that the end is not "
                "known. Set a new time, or send an all-clear if it is over",
            )
        )
    return warnings
