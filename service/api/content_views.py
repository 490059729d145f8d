"""REST routes for what the deployment offers: scenarios, audiences, languages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from service.accounts.permissions import PROTECTED_RESPONSES, NoticesRead
from service.api.deps import LibraryDep
from service.audiences.schemas import AudienceProfile
from service.config import get_settings
from service.notices.scenarios import ScenarioSpec
from service.rendering.messages import coverage

# Content holds no personal data; any key with notices:read, or any signed-in person (every role
# reads notices), may list it.
router = APIRouter(prefix="/api/v1", tags=["content"], responses=PROTECTED_RESPONSES)


@router.get("/scenarios", operation_id="list_scenarios")
def list_scenarios(library: LibraryDep, _who: NoticesRead) -> list[ScenarioSpec]:
    """Every scenario with its fields, help texts and examples."""
    return list(library.scenarios.values())


@router.get("/scenarios/{scenario_id}", operation_id="get_scenario")
def get_scenario(scenario_id: str, library: LibraryDep, _who: NoticesRead) -> ScenarioSpec:
    """One scenario with its fields."""
    if scenario_id not in library.scenarios:
        raise HTTPException(404, f"unknown scenario {scenario_id!r}")
    return library.scenarios[scenario_id]


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
