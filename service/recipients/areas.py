"""Areas (areas.toml): codes, names, nesting, postal codes and geocodes (for CAP)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class Area:
    """One area; `parent` nests it inside another."""

    code: str
    name: str
    parent: str | None = None
    postal_codes: tuple[str, ...] = field(default=())
    # (valueName, value) pairs written into CAP <geocode>, e.g. ("SE-kommunkod", "1980").
    geocodes: tuple[tuple[str, str], ...] = field(default=())


@dataclass(frozen=True)
class AreaMap:
    """Every area, with lookups for containment and postal codes."""

    areas: dict[str, Area]

    def contains(self, outer: str, inner: str) -> bool:
        """Whether area `inner` is `outer` or lies inside it."""
        code: str | None = inner
        seen = set()
        while code is not None and code not in seen:
            if code == outer:
                return True
            seen.add(code)
            area = self.areas.get(code)
            code = area.parent if area else None
        return False

    def covers(self, targets: list[str], recipient_areas: list[str]) -> bool:
        """Whether any of a recipient's areas lies inside any targeted area."""
        return any(self.contains(t, a) for t in targets for a in recipient_areas)

    def covered(self, targets: list[str]) -> frozenset[str]:
        """Every area code inside any targeted area (the targets included), for SQL filters."""
        inside = {code for code in self.areas for t in targets if self.contains(t, code)}
        return frozenset(inside | set(targets))

    def by_postal_code(self, postal_code: str) -> str | None:
        """The most specific area with this postal code (spaces ignored: "722 10")."""
        wanted = postal_code.replace(" ", "")
        return next((a.code for a in self.areas.values() if wanted in a.postal_codes), None)


@lru_cache
def load_areas(path: Path) -> AreaMap:
    """Read areas.toml; a parent that does not exist is an error, not a silent orphan."""
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    areas = {
        code: Area(
            code,
            entry.get("name", code),
            entry.get("parent"),
            tuple(entry.get("postal_codes", [])),
            tuple((str(k), str(v)) for k, v in entry.get("geocodes", {}).items()),
        )
        for code, entry in data.items()
    }
    for area in areas.values():
        if area.parent and area.parent not in areas:
            raise ValueError(f"{path}: area {area.code} has unknown parent {area.parent!r}")
    return AreaMap(areas)
