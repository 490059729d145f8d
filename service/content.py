"""The content a deployment ships: scenarios, audience profiles, languages and templates."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2.sandbox import SandboxedEnvironment

from service.audiences.schemas import AudienceProfile
from service.audiences.service import load_audiences
from service.config import Settings, get_settings
from service.notices.scenarios import ScenarioSpec, load_scenarios
from service.recipients.areas import AreaMap, load_areas
from service.rendering.environment import make_environment
from service.rendering.languages import Language, load_languages


@dataclass(frozen=True)
class ContentLibrary:
    """Everything loaded from the content folders, once per process."""

    root: Path
    scenarios: dict[str, ScenarioSpec]
    audiences: dict[str, AudienceProfile]
    languages: dict[str, Language]
    environment: SandboxedEnvironment
    timezone: ZoneInfo
    municipality: str
    areas: AreaMap

    @property
    def locales_dir(self) -> Path:
        """Folder of the gettext catalogs."""
        return self.root / "locales"


@lru_cache
def load_library(root: Path, timezone: str, municipality: str) -> ContentLibrary:
    """Load (and cache) the content under `root`."""
    return ContentLibrary(
        root=root,
        scenarios=load_scenarios(root / "message_templates"),
        audiences=load_audiences(root / "audiences"),
        languages=load_languages(root / "locales"),
        environment=make_environment(root / "message_templates"),
        timezone=ZoneInfo(timezone),
        municipality=municipality,
        areas=load_areas(root / "areas.toml"),
    )


def get_library(settings: Settings | None = None) -> ContentLibrary:
    """The content library for the given (default: process) settings."""
    s = settings or get_settings()
    return load_library(s.content_dir, s.timezone, s.municipality_name)
