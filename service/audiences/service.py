"""Loading audience profiles from audiences/*.toml."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from service.audiences.schemas import AudienceProfile


@lru_cache
def load_audiences(audiences_dir: Path) -> dict[str, AudienceProfile]:
    """Every profile by id; the id must equal the file name, so a typo cannot hide a profile."""
    profiles: dict[str, AudienceProfile] = {}
    for path in sorted(audiences_dir.glob("*.toml")):
        with path.open("rb") as handle:
            profile = AudienceProfile.model_validate(tomllib.load(handle))
        if profile.id != path.stem:
            raise ValueError(f"{path}: id {profile.id!r} does not match the file name")
        profiles[profile.id] = profile
    return profiles
