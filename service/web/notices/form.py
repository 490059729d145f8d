"""The compose form and the notice payload, both ways (pure functions, no I/O).

Field names are flat so the form works without JavaScript: `f.<name>` for a scenario field,
`f.<name>.date` and `f.<name>.time` for a date and time (Stockholm time), `f.<name>.<i>` for a
list item, `f.<name>.<lang>` for a text per language, `note.<lang>`, `contact.<what>`, and the
envelope's own names (`areas`, `languages`, ...; repeated for several values). Empty inputs are
left out, so the validator says "is required" exactly where something is missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from service.notices.scenarios import FieldSpec, FieldType, ScenarioSpec
from service.notices.service import NoticeProblem

MultiForm = list[tuple[str, str]]
LIST_FIELDS = ("areas", "audiences", "languages", "channels")
ENVELOPE_CHOICES = ("mode", "severity", "urgency", "certainty")
MAX_FORM_LIST = 50  # a list input beyond this many items is not read (the validator's limit)


def _first(form: MultiForm, name: str) -> str:
    return next((value.strip() for key, value in form if key == name), "")


def _all(form: MultiForm, name: str) -> list[str]:
    seen = [value.strip() for key, value in form if key == name and value.strip()]
    return list(dict.fromkeys(seen))[:MAX_FORM_LIST]


def _local_datetime(date: str, time: str, tz: ZoneInfo) -> str | None:
    """`2026-11-23` and `10:00` (or `10.00`) as an ISO time with its offset; else as typed."""
    if not date and not time:
        return None
    time = time.replace(".", ":") or "00:00"
    try:
        moment = datetime.fromisoformat(f"{date}T{time}")
    except ValueError:
        return f"{date} {time}".strip()  # the validator names what is wrong with it
    return moment.replace(tzinfo=moment.tzinfo or tz).isoformat()


def _number(text: str, integer: bool) -> int | float | str:
    try:
        value = float(text.replace(",", ".").replace(" ", ""))
    except ValueError:
        return text
    return int(value) if integer and value.is_integer() else value


def _field_value(spec: FieldSpec, form: MultiForm, tz: ZoneInfo, languages: list[str]) -> Any:
    key = f"f.{spec.name}"
    match spec.type:
        case FieldType.datetime:
            return _local_datetime(_first(form, f"{key}.date"), _first(form, f"{key}.time"), tz)
        case FieldType.text_list:
            items = [
                (int(k.rsplit(".", 1)[1]), v.strip())
                for k, v in form
                if k.startswith(key + ".") and k.rsplit(".", 1)[1].isdigit() and v.strip()
            ]
            return [v for _, v in sorted(items)][:MAX_FORM_LIST] or None
        case FieldType.translated_text:
            texts = {lang: _first(form, f"{key}.{lang}") for lang in languages}
            return {lang: text for lang, text in texts.items() if text} or None
        case FieldType.boolean:
            return _first(form, key) == "true"
        case FieldType.integer | FieldType.number:
            text = _first(form, key)
            return _number(text, spec.type == FieldType.integer) if text else None
        case _:
            return _first(form, key) or None


def payload_from_form(
    form: MultiForm, scenario: ScenarioSpec, tz: ZoneInfo, known_languages: Iterable[str]
) -> dict[str, Any]:
    """The notice payload the form describes (possibly incomplete: a draft may be)."""
    raw: dict[str, Any] = {"scenario": scenario.id}
    for name in ("message_type", "references", *ENVELOPE_CHOICES, "exercise_name"):
        value = _first(form, name)
        if value:
            raw[name] = value
    for name in LIST_FIELDS:
        raw[name] = _all(form, name)
    contact = {what: _first(form, f"contact.{what}") for what in ("phone", "web", "email")}
    raw["contact"] = {k: v for k, v in contact.items() if v}
    languages = list(known_languages)
    note = {lang: _first(form, f"note.{lang}") for lang in languages}
    if any(note.values()):
        raw["note"] = {lang: text for lang, text in note.items() if text}
    link = _first(form, "sign_language_url")
    if link:
        raw["sign_language_url"] = link
    fields = {}
    for spec in scenario.fields:
        value = _field_value(spec, form, tz, languages)
        if value is not None:
            fields[spec.name] = value
    raw["fields"] = fields
    return raw


def form_values(raw: dict[str, Any], scenario: ScenarioSpec, tz: ZoneInfo) -> dict[str, Any]:
    """What each input shows for a stored payload (the reverse of payload_from_form)."""
    values: dict[str, Any] = {
        name: raw.get(name, "") or "" for name in ("message_type", "references", "exercise_name")
    }
    values |= {name: raw.get(name) or "" for name in ENVELOPE_CHOICES}
    values |= {name: list(raw.get(name) or []) for name in LIST_FIELDS}
    contact = raw.get("contact") or {}
    values["contact"] = {w: str(contact.get(w) or "") for w in ("phone", "web", "email")}
    values["note"] = dict(raw.get("note") or {})
    values["sign_language_url"] = raw.get("sign_language_url") or ""
    fields = raw.get("fields") or {}
    shown: dict[str, Any] = {}
    for spec in scenario.fields:
        value = fields.get(spec.name)
        if spec.type == FieldType.datetime:
            shown[spec.name] = _split_datetime(value, tz)
        elif spec.type == FieldType.text_list:
            shown[spec.name] = list(value) if isinstance(value, list) else []
        elif spec.type == FieldType.translated_text:
            shown[spec.name] = dict(value) if isinstance(value, dict) else {}
        elif spec.type == FieldType.boolean:
            shown[spec.name] = value is True
        else:
            shown[spec.name] = "" if value is None else str(value)
    values["fields"] = shown
    return values


def _split_datetime(value: Any, tz: ZoneInfo) -> dict[str, str]:
    if not isinstance(value, str) or not value:
        return {"date": "", "time": ""}
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        date, _, time = value.partition(" ")
        return {"date": date, "time": time}
    local = moment.astimezone(tz) if moment.tzinfo else moment
    return {"date": local.strftime("%Y-%m-%d"), "time": local.strftime("%H:%M")}


def slot_of(location: str) -> str:
    """The input a problem belongs to (its id on the page); "" for the notice as a whole."""
    parts = location.split(".")
    head = parts[0]
    if head == "fields" and len(parts) > 1:
        return f"f-{parts[1]}"
    if head == "note":
        return f"note-{parts[1]}" if len(parts) > 1 else "note-sv"
    if head == "contact":
        return f"contact-{parts[1]}" if len(parts) > 1 else "contact-phone"
    if head in (*LIST_FIELDS, *ENVELOPE_CHOICES, "sign_language_url", "exercise_name"):
        return head
    if head in ("scenario", "references", "message_type"):
        return "notice-kind"
    return ""


def problems_by_slot(problems: list[NoticeProblem]) -> dict[str, list[NoticeProblem]]:
    """Problems grouped by the input they are shown next to."""
    grouped: dict[str, list[NoticeProblem]] = {}
    for problem in problems:
        grouped.setdefault(slot_of(problem.location), []).append(problem)
    return grouped


# What the summary calls each part of the envelope (English msgids of the webapp domain).
PART_LABELS = {
    "areas": "Areas",
    "audiences": "Audiences",
    "languages": "Languages",
    "channels": "Channels",
    "mode": "Mode",
    "severity": "Severity",
    "urgency": "Urgency",
    "certainty": "Certainty",
    "contact": "Where people can find out more",
    "note": "Note",
    "sign_language_url": "Link to the notice in Swedish Sign Language",
    "exercise_name": "Name of the exercise",
    "scenario": "Kind of crisis",
    "references": "The notice this follows",
    "message_type": "Kind of notice",
}


def problem_label(location: str, scenario: ScenarioSpec, language: str) -> str | None:
    """The field's label for a problem's location (a msgid for envelope parts), or None."""
    parts = location.split(".")
    if parts[0] == "fields" and len(parts) > 1:
        spec = scenario.field(parts[1])
        if spec is not None:
            label = spec.label.get(language) or spec.label.get("en") or spec.name
            return f"{label} ({parts[2]})" if len(parts) > 2 else label
        return parts[1]
    return PART_LABELS.get(parts[0])


def form_fields(raw: dict[str, Any], scenario: ScenarioSpec, tz: ZoneInfo) -> MultiForm:
    """The (name, value) pairs a person would enter for `raw` (tests and prefilling use it)."""
    values = form_values(raw, scenario, tz)
    pairs: MultiForm = [("scenario", scenario.id)]
    for name in ("message_type", "references", *ENVELOPE_CHOICES, "exercise_name"):
        if values[name]:
            pairs.append((name, str(values[name])))
    for name in LIST_FIELDS:
        pairs += [(name, value) for value in values[name]]
    pairs += [(f"contact.{k}", v) for k, v in values["contact"].items() if v]
    pairs += [(f"note.{k}", v) for k, v in values["note"].items() if v]
    if values["sign_language_url"]:
        pairs.append(("sign_language_url", values["sign_language_url"]))
    for spec in scenario.fields:
        value = values["fields"][spec.name]
        key = f"f.{spec.name}"
        if spec.type == FieldType.datetime:
            pairs += [(f"{key}.date", value["date"]), (f"{key}.time", value["time"])]
        elif spec.type == FieldType.text_list:
            pairs += [(f"{key}.{i}", item) for i, item in enumerate(value)]
        elif spec.type == FieldType.translated_text:
            pairs += [(f"{key}.{lang}", text) for lang, text in value.items()]
        elif spec.type == FieldType.boolean:
            pairs += [(key, "true")] if value else []
        elif value != "":
            pairs.append((key, str(value)))
    return pairs


# The validator's most common messages, translated in the webapp catalog; any other message is
# shown in English, marked lang="en" (templates/labels.html, problem_text).
TRANSLATED_PROBLEMS = (
    "is required",
    "must not be empty",
    "List should have at least 1 item after validation, not 0",
    "give at least one of phone, web or email",
    "must include sv: Swedish is always sent",
    "needs a Swedish text (sv)",
    "needs a Swedish text (note.sv) to fall back on",
    "is a language the notice is not sent in",
)
