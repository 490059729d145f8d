"""Rebuilding a notice from a CAP alert that Klarvarsel wrote (eventCode klarvarsel-scenario).

Klarvarsel's alerts carry the notice itself as parameters, so the notice comes back exactly:
scenario, fields, audiences, languages, channels, areas, notes and contact.
"""

from __future__ import annotations

import json
from typing import Any

from service.content import ContentLibrary
from service.interop.capmodel import CapAlert, CapInfo
from service.interop.export import (
    AREA_CODE,
    AUDIENCE,
    CHANNELS,
    EXERCISE_NAME,
    FIELD_PREFIX,
    JSON_TYPES,
    LANGUAGES,
    NOTE,
    SCENARIO_CODE,
    SIGN_LANGUAGE_URL,
)
from service.interop.mapping import (
    DEFAULT_CHANNELS,
    MappedNotice,
    ResolvedReferences,
    default_audiences,
    envelope,
    infos_by_language,
    map_areas,
    parse_contact,
)
from service.notices.scenarios import FieldType, ScenarioSpec


def own_scenario(alert: CapAlert, library: ContentLibrary) -> ScenarioSpec | None:
    """The scenario a Klarvarsel alert names, if it names one this installation has."""
    for info in alert.infos:
        scenario = library.scenarios.get(info.event_code(SCENARIO_CODE) or "")
        if scenario is not None:
            return scenario
    return None


def _decode(spec_type: FieldType, value: str) -> Any:
    if spec_type in JSON_TYPES:
        try:
            return json.loads(value)
        except ValueError:
            return value  # validation then says what is wrong with it
    return value


def _fields(scenario: ScenarioSpec, infos: list[tuple[str, CapInfo]]) -> dict[str, Any]:
    first = infos[0][1]
    fields: dict[str, Any] = {}
    for spec in scenario.fields:
        name = FIELD_PREFIX + spec.name
        if spec.type == FieldType.translated_text:
            texts = {tag: info.parameter(name) for tag, info in infos}
            present = {tag: text for tag, text in texts.items() if text is not None}
            if present:
                fields[spec.name] = present
        elif (value := first.parameter(name)) is not None:
            fields[spec.name] = _decode(spec.type, value)
    return fields


def _areas(info: CapInfo, library: ContentLibrary, notes: list[str]) -> list[str]:
    codes = [
        value
        for area in info.areas
        for name, value in area.geocodes
        if name == AREA_CODE and value in library.areas.areas
    ]
    return list(dict.fromkeys(codes)) or map_areas([info], library, notes)


def own_notice(
    alert: CapAlert,
    scenario: ScenarioSpec,
    library: ContentLibrary,
    resolved: ResolvedReferences,
) -> MappedNotice:
    """The notice a Klarvarsel alert was made from."""
    notes: list[str] = list(resolved.notes)
    infos = infos_by_language(alert, library, notes)
    first = infos[0][1]
    tags = [tag for tag, _ in infos]
    languages = [t for t in (first.parameter(LANGUAGES) or "").split() if t in library.languages]
    audiences = [a for a in first.parameter_values(AUDIENCE) if a in library.audiences]
    channels = (first.parameter(CHANNELS) or "").split() or DEFAULT_CHANNELS
    notice: dict[str, Any] = {"scenario": scenario.id, **envelope(alert, first, resolved)}
    notice.update(
        areas=_areas(first, library, notes),
        fields=_fields(scenario, infos),
        contact=parse_contact(first),
        audiences=audiences or default_audiences(tags),
        languages=languages or tags,
        channels=channels,
    )
    note = {tag: text for tag, info in infos if (text := info.parameter(NOTE)) is not None}
    if note:
        notice["note"] = note
    if url := first.parameter(SIGN_LANGUAGE_URL):
        notice["sign_language_url"] = url
    if name := first.parameter(EXERCISE_NAME):
        notice["exercise_name"] = name
    reason = f"the alert names Klarvarsel scenario {scenario.id} (eventCode {SCENARIO_CODE})"
    return MappedNotice(notice, scenario.id, reason, notes)
