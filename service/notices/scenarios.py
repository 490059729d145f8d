"""Scenario definitions: message_templates/<scenario>/scenario.toml declares each field."""

from __future__ import annotations

import tomllib
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

# CAP 1.2's enumerations; AllClear and None follow from the message type, not the scenario.
CAP_CATEGORIES = (
    "Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra",
    "CBRNE", "Other",
)  # fmt: skip
CAP_RESPONSE_TYPES = ("Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess")


class FieldType(StrEnum):
    """The value types a scenario field can have."""

    text = "text"
    text_list = "text_list"
    translated_text = "translated_text"  # {lang: text}; needs a human translation per language
    datetime = "datetime"
    date = "date"
    integer = "integer"
    number = "number"
    boolean = "boolean"
    choice = "choice"
    phone = "phone"
    url = "url"


class FieldSpec(BaseModel):
    """One field of a scenario, with help text and an example for the form and the API docs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: FieldType
    required: bool = False
    label: dict[str, str] = Field(default_factory=dict)
    help: dict[str, str] = Field(default_factory=dict)
    example: Any = None
    choices: list[str] = Field(default_factory=list)
    choice_labels: dict[str, dict[str, str]] = Field(default_factory=dict)
    max_length: int = 200
    max_items: int = 10
    minimum: float | None = None
    maximum: float | None = None
    after: str | None = Field(None, description="another date/datetime field this must follow")
    deadline: bool = Field(
        False,
        description="a time people must act by: once it has passed, the templates leave it out "
        "and the preview warns",
    )
    prose: bool = Field(
        False,
        description="the communicator's own sentences (a route, what has happened), written in "
        "Swedish: checked for readability like ours, and counted as needing translation in the "
        "other languages",
    )

    @model_validator(mode="after")
    def _choices_for_choice(self) -> FieldSpec:
        if (self.type == FieldType.choice) != bool(self.choices):
            raise ValueError(f"field {self.name}: `choices` goes with type choice, and only there")
        return self


class Instructions(BaseModel):
    """What a scenario tells people to do, as English msgids (the checks compare translations).

    `alert`: what an easy-read SMS, and the top of an easy-read page, of an alert or update may
    open with; `all_clear`: what an all-clear may open with (what is safe or normal again);
    `lasting`: instructions to stay, avoid, leave or boil, which an SMS may give only together
    with one of `ends` (how people will know it is over).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    alert: list[str] = Field(default_factory=list)
    all_clear: list[str] = Field(default_factory=list)
    lasting: list[str] = Field(default_factory=list)
    ends: list[str] = Field(default_factory=list)


class ScenarioSpec(BaseModel):
    """A kind of crisis: its fields, its CAP category and event, its title per language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: dict[str, str]
    description: dict[str, str] = Field(default_factory=dict)
    cap_category: str
    cap_event: str
    cap_response_types: list[str] = Field(
        default_factory=list,
        description="CAP <responseType> of an alert or update (an all-clear is AllClear)",
    )
    cap_keywords: list[str] = Field(
        default_factory=list,
        description="word beginnings in an imported CAP event or headline that suggest this "
        "scenario (lower case, any language)",
    )
    free_text: bool = Field(False, description="text comes from the communicator, not catalogs")
    fields: list[FieldSpec] = Field(default_factory=list)
    instructions: Instructions = Field(default_factory=Instructions)

    @model_validator(mode="after")
    def _cap_values(self) -> ScenarioSpec:
        unknown = [r for r in self.cap_response_types if r not in CAP_RESPONSE_TYPES]
        if self.cap_category not in CAP_CATEGORIES or unknown:
            raise ValueError(
                f"scenario {self.id}: cap_category must be one of {', '.join(CAP_CATEGORIES)} "
                f"and cap_response_types of {', '.join(CAP_RESPONSE_TYPES)}"
            )
        return self

    def field(self, name: str) -> FieldSpec | None:
        """The field called `name`, if the scenario has it."""
        return next((f for f in self.fields if f.name == name), None)


def load_scenario_file(path: Path) -> ScenarioSpec:
    """Parse and validate one scenario.toml; the scenario id must match its folder name."""
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    spec = ScenarioSpec.model_validate(data)
    if spec.id != path.parent.name:
        raise ValueError(f"{path}: id {spec.id!r} does not match its folder {path.parent.name!r}")
    for f in spec.fields:
        if f.after and not spec.field(f.after):
            raise ValueError(f"{path}: field {f.name} is `after` unknown field {f.after!r}")
    return spec


@lru_cache
def load_scenarios(templates_dir: Path) -> dict[str, ScenarioSpec]:
    """Every scenario under `templates_dir`, by id (folders starting with _ are shared parts)."""
    specs = [
        load_scenario_file(p)
        for p in sorted(templates_dir.glob("*/scenario.toml"))
        if not p.parent.name.startswith("_")
    ]
    return {s.id: s for s in specs}
