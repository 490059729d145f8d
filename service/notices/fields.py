"""Parse a notice's scenario fields into typed values, collecting every error with its place."""

from __future__ import annotations

import reprlib
from datetime import date, datetime
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from service.notices.scenarios import FieldSpec, FieldType, ScenarioSpec
from service.notices.schemas import CODE_MAX_LENGTH, MAX_LIST_ITEMS, PHONE_RE
from service.notices.text_safety import shown

# Unknown keys named one by one before the rest are only counted (a typo is named; a flood of
# thousands of keys gets a short answer, not a megabyte of problems).
MAX_UNKNOWN_NAMED = 10
# Error messages quote what was sent, but never more than a few dozen characters of it.
_QUOTE = reprlib.Repr()
_QUOTE.maxlevel, _QUOTE.maxstring, _QUOTE.maxother = 2, 40, 40
_QUOTE.maxlist = _QUOTE.maxdict = 3

# Swedish numbers are written many ways (021-39 00 00, +46 21 39 00 00, 112); keep the text as
# written but refuse anything that is not digits and the usual separators (PHONE_RE).


class FieldError(ValueError):
    """A field value that cannot be used; the message says what is wrong."""


def quoted(value: Any) -> str:
    """A submitted value for an error message, shortened (it may be a huge or deep value)."""
    return shown(value) if isinstance(value, str) else _QUOTE.repr(value)


def _parse_text(spec: FieldSpec, value: Any) -> str:
    if not isinstance(value, str):
        raise FieldError(f"must be text, got {type(value).__name__}")
    text = value.strip()
    if not text:
        raise FieldError("must not be empty")
    if len(text) > spec.max_length:
        raise FieldError(f"is {len(text)} characters; at most {spec.max_length} are allowed")
    return text


def _parse_datetime(value: Any, tz: ZoneInfo) -> datetime:
    if not isinstance(value, str):
        raise FieldError("must be a date and time such as 2026-11-23T10:00:00+01:00")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise FieldError(
            f"{quoted(value)} is not a date and time; write it as 2026-11-23T10:00:00+01:00"
        ) from None
    # A time without an offset is what a communicator types into the form: local time.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def _parse_date(value: Any) -> date:
    if not isinstance(value, str):
        raise FieldError("must be a date such as 2027-07-14")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FieldError(f"{quoted(value)} is not a date; write it as 2027-07-14") from None


def _parse_number(spec: FieldSpec, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(f"must be a number, got {quoted(value)}")
    if spec.type == FieldType.integer and not float(value).is_integer():
        raise FieldError(f"must be a whole number, got {quoted(value)}")
    number: int | float = int(value) if spec.type == FieldType.integer else float(value)
    if spec.minimum is not None and number < spec.minimum:
        raise FieldError(f"is {number}; the lowest allowed is {spec.minimum:g}")
    if spec.maximum is not None and number > spec.maximum:
        raise FieldError(f"is {number}; the highest allowed is {spec.maximum:g}")
    return number


def _parse_list(spec: FieldSpec, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise FieldError("must be a list of one or more texts")
    if len(value) > spec.max_items:
        raise FieldError(f"has {len(value)} items; at most {spec.max_items} are allowed")
    items, problems = [], []
    for index, item in enumerate(value):
        try:
            items.append(_parse_text(spec, item))
        except FieldError as exc:
            problems.append(f"item {index + 1} {exc}")
    if problems:
        raise FieldError("; ".join(problems))  # every bad item at once, not just the first
    return items


def _parse_translated(spec: FieldSpec, value: Any) -> dict[str, str]:
    if isinstance(value, str):
        raise FieldError('must give the text per language, e.g. {"sv": "...", "en": "..."}')
    if not isinstance(value, dict) or not value:
        raise FieldError("must map language tags to texts")
    if len(value) > MAX_LIST_ITEMS:
        raise FieldError(f"has {len(value)} languages; at most {MAX_LIST_ITEMS} are allowed")
    texts, problems = {}, []
    for lang, text in value.items():
        if len(lang) > CODE_MAX_LENGTH:
            problems.append(
                f"{shown(lang)} is not a language tag (at most {CODE_MAX_LENGTH} characters)"
            )
            continue
        try:
            texts[str(lang)] = _parse_text(spec, text)
        except FieldError as exc:
            problems.append(f"{lang} {exc}")
    if problems:
        raise FieldError("; ".join(problems))
    return texts


def parse_value(spec: FieldSpec, value: Any, tz: ZoneInfo) -> Any:
    """One field's typed value, or FieldError saying what is wrong with it."""
    match spec.type:
        case FieldType.text:
            return _parse_text(spec, value)
        case FieldType.text_list:
            return _parse_list(spec, value)
        case FieldType.translated_text:
            return _parse_translated(spec, value)
        case FieldType.datetime:
            return _parse_datetime(value, tz)
        case FieldType.date:
            return _parse_date(value)
        case FieldType.integer | FieldType.number:
            return _parse_number(spec, value)
        case FieldType.boolean:
            if not isinstance(value, bool):
                raise FieldError(f"must be true or false, got {quoted(value)}")
            return value
        case FieldType.choice:
            if value not in spec.choices:
                msg = f"is {quoted(value)}; choose one of: {', '.join(spec.choices)}"
                raise FieldError(msg)
            return value
        case FieldType.phone:
            text = _parse_text(spec, value)
            if not PHONE_RE.match(text):
                raise FieldError(f"{text!r} is not a phone number")
            return text
        case FieldType.url:
            text = _parse_text(spec, value)
            if urlparse(text).scheme not in ("http", "https") or not urlparse(text).netloc:
                raise FieldError(f"{text!r} is not a web address starting with https://")
            return text
    raise FieldError(f"unsupported field type {spec.type}")  # pragma: no cover


def parse_fields(
    scenario: ScenarioSpec, raw: dict[str, Any], tz: ZoneInfo
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Typed field values and a list of (field path, problem) for everything wrong."""
    errors: list[tuple[str, str]] = []
    values: dict[str, Any] = {}
    known = {f.name for f in scenario.fields}
    unknown = sorted(set(raw) - known)
    for name in unknown[:MAX_UNKNOWN_NAMED]:
        where = f"fields.{name}" if len(name) <= CODE_MAX_LENGTH else f"fields.{shown(name)}"
        errors.append(
            (where, f"is not a field of {scenario.id}; its fields are " + ", ".join(sorted(known)))
        )
    if len(unknown) > MAX_UNKNOWN_NAMED:
        more = len(unknown) - MAX_UNKNOWN_NAMED
        errors.append(("fields", f"has {more} more keys that are not fields of {scenario.id}"))
    for spec in scenario.fields:
        if raw.get(spec.name) is None:
            if spec.required:
                errors.append((f"fields.{spec.name}", "is required"))
            continue
        try:
            values[spec.name] = parse_value(spec, raw[spec.name], tz)
        except FieldError as exc:
            errors.append((f"fields.{spec.name}", str(exc)))
    for spec in scenario.fields:
        after = spec.after
        if after and spec.name in values and after in values and values[spec.name] < values[after]:
            errors.append((f"fields.{spec.name}", f"is before {after}; it must come after it"))
    return values, errors
