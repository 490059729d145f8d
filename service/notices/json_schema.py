"""A scenario's notice as JSON Schema (2020-12): the envelope with that scenario's fields.

Integrators generate forms and validate before sending from it; the service's own validator
stays the judge (it also checks areas, languages and references against the deployment).
"""

from __future__ import annotations

from typing import Any

from service.notices.scenarios import FieldSpec, FieldType, ScenarioSpec
from service.notices.schemas import MAX_LIST_ITEMS, PHONE_RE, CrisisNoticeIn

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _text(spec: FieldSpec) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": spec.max_length}


def field_schema(spec: FieldSpec) -> dict[str, Any]:
    """The JSON Schema of one field's value."""
    schema: dict[str, Any]
    match spec.type:
        case FieldType.text:
            schema = _text(spec)
        case FieldType.text_list:
            schema = {
                "type": "array",
                "items": _text(spec),
                "minItems": 1,
                "maxItems": spec.max_items,
            }
        case FieldType.translated_text:
            schema = {
                "type": "object",
                "description": "text per language (BCP 47 tag); sv is required",
                "additionalProperties": _text(spec),
                "required": ["sv"],
                "maxProperties": MAX_LIST_ITEMS,
            }
        case FieldType.datetime:
            schema = {"type": "string", "format": "date-time"}
        case FieldType.date:
            schema = {"type": "string", "format": "date"}
        case FieldType.integer | FieldType.number:
            schema = {"type": "integer" if spec.type == FieldType.integer else "number"}
            if spec.minimum is not None:
                schema["minimum"] = spec.minimum
            if spec.maximum is not None:
                schema["maximum"] = spec.maximum
        case FieldType.boolean:
            schema = {"type": "boolean"}
        case FieldType.choice:
            schema = {"type": "string", "enum": list(spec.choices)}
        case FieldType.phone:
            schema = {**_text(spec), "pattern": PHONE_RE.pattern}
        case FieldType.url:
            schema = {**_text(spec), "format": "uri", "pattern": "^https?://"}
    if spec.label.get("en"):
        schema["title"] = spec.label["en"]
    if spec.help.get("en"):
        schema["description"] = spec.help["en"]
    if spec.example is not None:
        schema["examples"] = [spec.example]
    return schema


def scenario_schema(scenario: ScenarioSpec) -> dict[str, Any]:
    """The whole notice of this scenario as JSON Schema, `fields` spelled out."""
    envelope = CrisisNoticeIn.model_json_schema(mode="validation")
    properties = dict(envelope["properties"])
    properties["scenario"] = {"const": scenario.id, "title": "Scenario"}
    properties["fields"] = {
        "type": "object",
        "title": "Fields",
        "properties": {spec.name: field_schema(spec) for spec in scenario.fields},
        "required": [spec.name for spec in scenario.fields if spec.required],
        "additionalProperties": False,
    }
    return {
        "$schema": DIALECT,
        "$id": f"tag:klarvarsel,2026:schemas/notice/{scenario.id}",
        "title": scenario.title.get("en", scenario.id),
        "description": scenario.description.get("en", ""),
        **{k: v for k, v in envelope.items() if k not in ("properties", "title", "description")},
        "properties": properties,
        "required": sorted({*envelope.get("required", []), "scenario", "fields"}),
    }
