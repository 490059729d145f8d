"""How notices are shown on the staff pages: local times, titles, filters."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from service.content import ContentLibrary
from service.notices.models import NoticeState

STATES = [s.value for s in NoticeState]
MODES = ["actual", "exercise", "test"]
BABEL_LOCALES = {"sv": "sv_SE", "en": "en_GB"}


def local_time(value: datetime | None, language: str, zone: ZoneInfo) -> str:
    """A stored (UTC) time in the municipality's zone, as the language writes it; "" if None."""
    if value is None:
        return ""
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return format_datetime(value.astimezone(zone), "d MMM y HH:mm", locale=BABEL_LOCALES[language])


def scenario_title(library: ContentLibrary, scenario: str, language: str) -> str:
    """The scenario's title in the page language (its id when unknown)."""
    spec = library.scenarios.get(scenario)
    if spec is None:
        return scenario
    return spec.title.get(language) or spec.title.get("en") or scenario


def in_language(texts: dict[str, str], language: str, default: str = "") -> str:
    """A scenario or audience text in the page language, else English, else `default`."""
    return texts.get(language) or texts.get("en") or default
