"""The language registry (locales/languages.toml): names, script direction, review status."""

from __future__ import annotations

import tomllib
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from pydantic import BaseModel, ConfigDict, Field


class ReviewStatus(StrEnum):
    """How far a catalog can be trusted; only `reviewed` was checked by a human translator."""

    source = "source"  # the msgids themselves (English)
    reviewed = "reviewed"
    draft = "draft"  # written by the team, not yet reviewed by a translator
    missing = "missing"  # no catalog: the language cannot be rendered from templates


class LanguageGroup(StrEnum):
    """Why a language is offered."""

    official = "official"
    national_minority = "national_minority"
    other = "other"


class Language(BaseModel):
    """One language the product can address, identified by its BCP 47 tag."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tag: str
    name: str = Field(description="the language's name in its own script")
    english_name: str
    babel_locale: str = Field(description="Babel locale for dates, numbers and lists")
    cap_language: str = Field(description="BCP 47 tag written into CAP <language>")
    direction: str = Field("ltr", pattern="^(ltr|rtl)$")
    group: LanguageGroup = LanguageGroup.other
    time_pattern: str | None = Field(None, description="Babel pattern, e.g. HH.mm for Swedish")
    hour_pattern: str | None = Field(
        None, description="Babel pattern for a whole hour in easy-read, e.g. H ('klockan 14')"
    )
    day_pattern: str | None = None
    # Where the locale's list conjunction is a suffix glued to each item (Tigrinya "8ን"), a
    # place name or house number would change: such languages join lists with these words.
    list_separator: str | None = None
    list_and: str | None = None
    datetime_pattern: str | None = None
    review_status: ReviewStatus = ReviewStatus.draft
    reviewed_by: str = ""
    review_note: str = ""

    @property
    def rtl(self) -> bool:
        """Whether the script runs right to left."""
        return self.direction == "rtl"


@lru_cache
def load_languages(locales_dir: Path) -> dict[str, Language]:
    """Every registered language by tag, in the file's order."""
    with (locales_dir / "languages.toml").open("rb") as handle:
        data = tomllib.load(handle)
    return {tag: Language(tag=tag, **entry) for tag, entry in data.items()}


@lru_cache(maxsize=512)
def language_name(tag: str, in_language: str) -> str | None:
    """CLDR's name of the language `tag` in `in_language` ("so", "sv" -> "somaliska"), or None.

    A tag CLDR does not know with its region ("fa-AF" is known: "dari") falls back to its
    language ("xx-SE" -> the name of "xx").
    """
    try:
        names = Locale.parse(in_language.replace("-", "_")).languages
    except (ValueError, UnknownLocaleError):
        return None
    return names.get(tag.replace("-", "_")) or names.get(tag.split("-", 1)[0])
