"""REST routes for the deployment's content: scenarios, audiences, languages, areas, readability."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from service.accounts.permissions import PROTECTED_RESPONSES, NoticesRead
from service.api.deps import LibraryDep
from service.api.errors import ProblemException
from service.api.json_body import LimitedJSONRoute
from service.audiences.schemas import AudienceProfile
from service.config import get_settings
from service.notices.json_schema import scenario_schema
from service.notices.scenarios import ScenarioSpec
from service.readability.service import check_text
from service.rendering.messages import coverage

# Content holds no personal data; any key with notices:read, or any signed-in person (every role
# reads notices), may list it.
router = APIRouter(
    prefix="/api/v1",
    tags=["content"],
    route_class=LimitedJSONRoute,
    responses=PROTECTED_RESPONSES,
)
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such scenario"}}
READABILITY_TEXT_MAX = 20_000  # about ten pages: any notice text, and then some


@router.get("/scenarios", operation_id="list_scenarios")
def list_scenarios(library: LibraryDep, _who: NoticesRead) -> list[ScenarioSpec]:
    """Every scenario with its fields, help texts and examples."""
    return list(library.scenarios.values())


def _scenario(library: LibraryDep, scenario_id: str) -> ScenarioSpec:
    if scenario_id not in library.scenarios:
        raise HTTPException(404, f"unknown scenario {scenario_id!r}")
    return library.scenarios[scenario_id]


@router.get("/scenarios/{scenario_id}", operation_id="get_scenario", responses=NOT_FOUND)
def get_scenario(scenario_id: str, library: LibraryDep, _who: NoticesRead) -> ScenarioSpec:
    """One scenario with its fields."""
    return _scenario(library, scenario_id)


@router.get(
    "/scenarios/{scenario_id}/schema",
    operation_id="get_scenario_schema",
    responses=NOT_FOUND,
)
def get_scenario_schema(scenario_id: str, library: LibraryDep, _who: NoticesRead) -> dict[str, Any]:
    """A notice of this scenario as JSON Schema (2020-12), its fields spelled out."""
    return scenario_schema(_scenario(library, scenario_id))


@router.get("/audiences", operation_id="list_audiences")
def list_audiences(library: LibraryDep, _who: NoticesRead) -> list[AudienceProfile]:
    """Every audience profile: register, channels, readability limits, print settings."""
    return list(library.audiences.values())


@router.get("/languages", operation_id="list_languages")
def list_languages(library: LibraryDep, _who: NoticesRead) -> list[dict[str, Any]]:
    """Every language with its review status and coverage per scenario."""
    settings = get_settings()
    rows = coverage(settings.templates_dir, settings.locales_dir, library.languages)
    result = []
    for tag, language in library.languages.items():
        result.append(
            {
                **language.model_dump(),
                "coverage": {
                    r.scenario: {
                        "percent": round(r.percent, 1),
                        "fuzzy": r.fuzzy,
                        "missing": r.missing,
                    }
                    for r in rows
                    if r.language == tag
                },
            }
        )
    return result


class AreaOut(BaseModel):
    """An area a notice can target (areas.toml)."""

    code: str
    name: str
    parent: str | None
    postal_codes: list[str]
    geocodes: dict[str, str] = Field(description="CAP <geocode> valueName -> value")


@router.get("/areas", operation_id="list_areas")
def list_areas(library: LibraryDep, _who: NoticesRead) -> list[AreaOut]:
    """Every area, with its parent, postal codes and CAP geocodes."""
    return [
        AreaOut(
            code=area.code,
            name=area.name,
            parent=area.parent,
            postal_codes=list(area.postal_codes),
            geocodes=dict(area.geocodes),
        )
        for area in library.areas.areas.values()
    ]


class ReadabilityIn(BaseModel):
    """A text to check, in a language, against an audience's limits (none: measures only)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=READABILITY_TEXT_MAX)
    language: str = Field(min_length=1, max_length=16, examples=["sv"])
    audience: str | None = Field(None, max_length=64, examples=["easy-read"])


READABILITY_EXAMPLE = {
    "text": "Vattnet stängs av i Skultuna på måndag. Hämta vatten vid skolan.",
    "language": "sv",
    "audience": "easy-read",
}


@router.post(
    "/readability",
    operation_id="check_readability",
    responses={422: {"description": "unknown language or audience (application/problem+json)"}},
)
def check_readability(
    body: Annotated[ReadabilityIn, Body(examples=[READABILITY_EXAMPLE])],
    library: LibraryDep,
    _who: NoticesRead,
) -> dict[str, Any]:
    """Measure a text (LIX, sentence lengths, passive voice, plain words) and check it.

    With an audience, its limits for the language apply (as for a notice's variants).
    """
    problems = []
    if body.language not in library.languages:
        known = ", ".join(library.languages)
        problems.append({"location": "language", "message": f"unknown language; known: {known}"})
    if body.audience is not None and body.audience not in library.audiences:
        known = ", ".join(library.audiences)
        problems.append({"location": "audience", "message": f"unknown audience; known: {known}"})
    if problems:
        raise ProblemException(
            422, "invalid-request", "the language or audience is unknown", problems=problems
        )
    limits = library.audiences[body.audience].limits_for(body.language) if body.audience else None
    return check_text(body.text, body.language, limits).to_dict()
