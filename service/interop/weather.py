"""Reading storm and heat-wave fields out of a weather service's CAP warning (SMHI-style).

SMHI's impact-based warnings have a colour (yellow, orange, red), a hazard named in the event
or headline (wind, rain, snow, high temperatures), an onset and an expiry. Meteoalarm-style
senders add `awareness_level` ("3; orange; Severe"). When the colour is not written, CAP
severity stands in: Minor and Moderate yellow, Severe orange, Extreme red.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from service.content import ContentLibrary
from service.interop.capmodel import CapInfo
from service.interop.mapping import keyword_hits

COLOURS = {
    "yellow": "yellow",
    "gul": "yellow",
    "gult": "yellow",
    "orange": "orange",
    "red": "red",
    "röd": "red",
    "rött": "red",
    "röda": "red",
}
SEVERITY_COLOUR = {"Minor": "yellow", "Moderate": "yellow", "Severe": "orange", "Extreme": "red"}
WIND = ["wind", "winds", "windy", "gale*", "storm*", "vind", "vindar", "vindbyar", "kuling", "byar"]
RAIN = ["rain", "heavy rain", "rainfall", "regn*", "skyfall", "nederbörd"]
SNOW = ["snow*", "snö*", "blizzard"]
TEMPERATURE = re.compile(r"(?<!\d)(\d{2})(?:[.,]\d)?\s*(?:°\s*C?|grader|degrees)", re.IGNORECASE)
MIN_HEAT_C, MAX_HEAT_C = 20, 50
AREA_NAME_MAX = 80


def _text(infos: list[CapInfo]) -> str:
    parts = []
    for info in infos:
        parts += [info.event, info.headline or ""]
        parts += [value for _, value in info.event_codes]
    return " | ".join(parts)


def _colour(infos: list[CapInfo]) -> str | None:
    for info in infos:
        for name, value in info.parameters:
            if re.search(r"awareness.?level|warning.?level|varningsniv", name, re.IGNORECASE):
                for word in re.findall(r"\w+", value.casefold()):
                    if word in COLOURS:
                        return COLOURS[word]
    for word in re.findall(r"\w+", _text(infos).casefold()):
        if word in COLOURS:
            return COLOURS[word]
    return next((SEVERITY_COLOUR[i.severity] for i in infos if i.severity in SEVERITY_COLOUR), None)


def _times(infos: list[CapInfo], sent: datetime) -> tuple[datetime, datetime | None]:
    first = infos[0]
    start = datetime.fromisoformat(first.onset or first.effective or sent.isoformat())
    end = datetime.fromisoformat(first.expires) if first.expires else None
    return start, end if end and end > start else None


def _area_name(infos: list[CapInfo]) -> str | None:
    names = [a.description for i in infos for a in i.areas if a.description]
    return names[0][:AREA_NAME_MAX].strip() if names else None


def storm_fields(
    infos: list[CapInfo], sent: datetime, library: ContentLibrary
) -> dict[str, Any] | str:
    """The storm scenario's fields, or why they cannot be read."""
    text = _text(infos)
    wind, rain, snow = (bool(keyword_hits(text, words)) for words in (WIND, RAIN, SNOW))
    if snow:
        hazard = "snow"
    elif wind and rain:
        hazard = "wind_and_rain"
    elif rain:
        hazard = "heavy_rain"
    elif wind:
        hazard = "wind"
    else:
        return "the alert does not say whether it warns of wind, rain or snow"
    level = _colour(infos)
    area = _area_name(infos)
    if level is None or area is None:
        return "the alert gives no warning level" if level is None else "the alert names no area"
    start, end = _times(infos, sent)
    fields: dict[str, Any] = {
        "warning_level": level,
        "hazard": hazard,
        "area_name": area,
        "from_time": start.isoformat(),
    }
    if end is not None:
        fields["to_time"] = end.isoformat()
    return fields


def _temperature(infos: list[CapInfo]) -> int | None:
    for info in infos:
        for name, value in info.parameters:
            if "temperatur" in name.casefold():
                match = re.search(r"\d+", value)
                if match and MIN_HEAT_C <= int(match.group()) <= MAX_HEAT_C:
                    return int(match.group())
    texts = " ".join(" ".join(filter(None, (i.headline, i.description))) for i in infos)
    found = [int(m) for m in TEMPERATURE.findall(texts) if MIN_HEAT_C <= int(m) <= MAX_HEAT_C]
    return max(found) if found else None


def _local_day(value: datetime, library: ContentLibrary) -> date:
    return value.astimezone(library.timezone).date()


def heat_wave_fields(
    infos: list[CapInfo], sent: datetime, library: ContentLibrary
) -> dict[str, Any] | str:
    """The heat_wave scenario's fields, or why they cannot be read."""
    temperature = _temperature(infos)
    if temperature is None:
        return "the alert gives no temperature between 20 and 50 °C"
    start, end = _times(infos, sent)
    fields: dict[str, Any] = {
        "from_date": _local_day(start, library).isoformat(),
        "max_temperature_c": temperature,
    }
    if end is not None and _local_day(end, library) >= _local_day(start, library):
        fields["to_date"] = _local_day(end, library).isoformat()
    return fields
