"""Mapping another sender's CAP alert (an SMHI weather warning, say) to the closest scenario.

The scenario is chosen by the `cap_keywords` of each scenario.toml found in the alert's
events, headlines and event codes, with a point more when the CAP category matches. A
scenario is used only when its fields can be read from the alert (storm and heat_wave, from
weather warnings); otherwise the alert becomes a `general` free-text draft carrying the
sender's own words per language, and the suggested scenario is named in the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from service.content import ContentLibrary
from service.interop.capmodel import CapAlert, CapInfo
from service.interop.mapping import (
    DEFAULT_CHANNELS,
    EXERCISE_NAME_MAX,
    CapNotImportable,
    MappedNotice,
    ResolvedReferences,
    default_audiences,
    envelope,
    infos_by_language,
    keyword_hits,
    map_areas,
    parse_contact,
)
from service.interop.weather import heat_wave_fields, storm_fields

FALLBACK_SCENARIO = "general"
# Scenarios whose fields can be read from another sender's alert.
FieldReader = Callable[[list[CapInfo], datetime, ContentLibrary], dict[str, Any] | str]
READERS: dict[str, FieldReader] = {"storm": storm_fields, "heat_wave": heat_wave_fields}


def _words(info: CapInfo) -> str:
    codes = " ".join(value for _, value in info.event_codes)
    return " ".join(filter(None, [info.event, info.headline, codes]))


def choose_scenario(infos: list[CapInfo], library: ContentLibrary) -> tuple[str | None, str]:
    """The best-matching scenario (None when no keyword matches) and why."""
    text = " | ".join(_words(i) for i in infos)
    categories = {c for i in infos for c in i.categories}
    best: tuple[int, str, list[str]] | None = None
    for scenario in sorted(library.scenarios.values(), key=lambda s: s.id):
        hits = keyword_hits(text, scenario.cap_keywords)
        if not hits:
            continue
        score = len(hits) + (1 if scenario.cap_category in categories else 0)
        if best is None or score > best[0]:
            best = (score, scenario.id, hits)
    if best is None:
        return None, "no scenario's keywords appear in the alert's event or headline"
    words = ", ".join(repr(h) for h in best[2])
    return best[1], f"the alert's event or headline says {words}"


def _general_fields(infos: list[tuple[str, CapInfo]]) -> dict[str, Any]:
    headline = {tag: info.headline or info.event for tag, info in infos}
    message = {
        tag: "\n\n".join(t for t in (info.description, info.instruction) if t)
        for tag, info in infos
    }
    return {
        "headline": headline,
        "message": {tag: text for tag, text in message.items() if text},
    }


def _cancel_of_import(alert: CapAlert, resolved: ResolvedReferences) -> MappedNotice:
    if resolved.import_notice is None:
        raise CapNotImportable(
            "a Cancel without <info> can only be imported for an alert imported here before"
        )
    notice = dict(resolved.import_notice)
    notice.update(envelope(alert, None, resolved))
    notice.pop("expires_at", None)
    scenario = str(notice.get("scenario"))
    reason = f"a Cancel of import #{resolved.import_id}, which was mapped to {scenario}"
    return MappedNotice(notice, scenario, reason, list(resolved.notes))


def external_notice(
    alert: CapAlert, library: ContentLibrary, resolved: ResolvedReferences
) -> MappedNotice:
    """The closest notice to another sender's alert."""
    notes: list[str] = list(resolved.notes)
    infos = infos_by_language(alert, library, notes)
    if not infos:
        if alert.msg_type == "Cancel":
            return _cancel_of_import(alert, resolved)
        raise CapNotImportable("the alert has no <info> in a language Klarvarsel knows")
    first = infos[0][1]
    plain = [info for _, info in infos]
    chosen, reason = choose_scenario(plain, library)
    sent = datetime.fromisoformat(alert.sent)
    fields: dict[str, Any] | str = "no scenario matched"
    if chosen in READERS:
        fields = READERS[chosen](plain, sent, library)
    elif chosen is not None:
        fields = f"{chosen}'s details cannot be read from another sender's alert"
    scenario = chosen if chosen is not None and isinstance(fields, dict) else FALLBACK_SCENARIO
    if not isinstance(fields, dict):
        if chosen is not None:
            reason = f"suggests {chosen} ({reason}), but {fields}; imported as free text"
        fields = _general_fields(infos)
    # Swedish is always sent: a scenario's catalog has it; free text without it is a problem
    # the draft shows.
    languages = list(dict.fromkeys(["sv", *(tag for tag, _ in infos)]))
    notice: dict[str, Any] = {"scenario": scenario, **envelope(alert, first, resolved)}
    notice.update(
        areas=map_areas(plain, library, notes),
        fields=fields,
        contact=parse_contact(first),
        audiences=default_audiences(languages),
        languages=languages,
        channels=list(DEFAULT_CHANNELS),
    )
    if alert.status in ("Exercise", "Test") and alert.note:
        notice["exercise_name"] = alert.note[:EXERCISE_NAME_MAX]
    if notice["contact"]:
        who = first.sender_name or alert.sender
        notes.append(
            f"the contact details are {who}'s: give the municipality's if people should call it"
        )
    return MappedNotice(notice, scenario, reason, notes)
