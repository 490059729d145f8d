"""The tense of every dated sample follows the clock: before the start, during, after the end.

Each sample notice is rendered at three times relative to its own dates (never to the machine's
date): two hours before it starts, half an hour after it starts, and an hour after its expected
end. The phrases are the English source messages, which every catalog translates.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from babel import Locale
from babel.dates import format_date

from service.audiences.schemas import Register, Role
from service.clock import FrozenClock
from service.content import ContentLibrary
from service.notices.scenarios import FieldType
from service.notices.schemas import Channel
from service.notices.service import Notice, validate_notice
from service.rendering.catalogs import load_catalog
from service.rendering.schemas import VariantKey
from service.rendering.service import render_variant
from tests.conftest import ROOT, load_json

# (future phrase, present phrase) in the standard English SMS or web page; None: the scenario
# has no tense of its own there.
TENSES: dict[str, tuple[str | None, str]] = {
    "water_outage": ("The water will be turned off", "There is no tap water"),
    "boil_water": ("From Monday 8 March at 14:00", "Boil the tap water"),
    "power_outage": ("The power will be off", "There is a power cut"),
    "it_telecom_outage": ("It will last from", "The outage affects"),
    "storm": ("Before then, secure loose objects", "Stay indoors if you can"),
    "evacuation": ("Everyone must have left by", "Leave the area now"),
    "care_home_disruption": (None, "There is a power cut at"),
    "heat_wave": ("Heat wave from Wednesday 14 July", "Drink water often"),
}


def _dated(library: ContentLibrary) -> list[str]:
    return [
        s.id
        for s in library.scenarios.values()
        if any(f.type in (FieldType.datetime, FieldType.date) for f in s.fields)
    ]


def _as_time(value: date | datetime, library: ContentLibrary, *, end: bool) -> datetime:
    if isinstance(value, datetime):
        return value
    # A date covers the whole day: its end is the next midnight.
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time(0), library.timezone)


def _times(notice: Notice, library: ContentLibrary) -> dict[str, datetime]:
    dated = [
        f
        for f in notice.scenario.fields
        if f.type in ("datetime", "date") and f.name in notice.fields
    ]
    start = next(f for f in dated if not f.after)
    end = next((f for f in dated if f.after), None)
    begins = _as_time(notice.fields[start.name], library, end=False)
    times = {"before": begins - timedelta(hours=2), "during": begins + timedelta(minutes=30)}
    if end is not None:
        times["after"] = _as_time(notice.fields[end.name], library, end=True) + timedelta(hours=1)
    return times


def _text(notice: Notice, library: ContentLibrary, channel: Channel) -> str:
    key = VariantKey("en", Register.standard, Role.public, channel)
    return render_variant(notice, key, library).text


def test_every_dated_scenario_has_a_tense_expectation(library: ContentLibrary) -> None:
    assert sorted(_dated(library)) == sorted(TENSES)


@pytest.mark.parametrize("scenario", sorted(TENSES))
def test_tense_follows_the_clock(
    scenario: str, library: ContentLibrary, frozen_clock: FrozenClock
) -> None:
    raw: dict[str, Any] = load_json(ROOT / "message_templates" / scenario / "example.json")
    future, present = TENSES[scenario]
    for moment, at in _times(validate_notice(raw, library), library).items():
        frozen_clock.set(at)
        notice = validate_notice(raw, library)  # sent now, by the pinned clock
        assert notice.sent_at == at
        texts = _text(notice, library, Channel.sms) + "\n" + _text(notice, library, Channel.web)
        if moment == "before" and future:
            assert future in texts, f"{scenario} {moment}: {texts}"
        if moment != "before":
            assert present in texts, f"{scenario} {moment}: {texts}"
            if future:
                assert future not in texts, f"{scenario} {moment}: {texts}"
        if moment == "after":
            # An end already over is never given as the time things come back ...
            ended = list(notice.passed_ends())
            assert ended, f"{scenario}: its end should count as passed"
            # ... and the communicator is told before sending.
            assert {w.location for w in notice.warnings} >= {f"fields.{n}" for n in ended}


def test_an_all_clear_after_the_end_is_not_warned_about(
    library: ContentLibrary, frozen_clock: FrozenClock, water_notice: dict[str, Any]
) -> None:
    frozen_clock.set(datetime.fromisoformat("2026-11-24T09:00:00+01:00"))
    alert = validate_notice(water_notice, library)
    assert [w.location for w in alert.warnings] == ["fields.expected_end"]
    clear = validate_notice(
        dict(water_notice, message_type="all_clear", references="ABC234"), library
    )
    assert clear.warnings == ()


def test_swedish_water_outage_turns_from_future_to_present(
    library: ContentLibrary, frozen_clock: FrozenClock, water_notice: dict[str, Any]
) -> None:
    key = VariantKey("sv", Register.easy_read, Role.public, Channel.sms)
    frozen_clock.set(datetime.fromisoformat("2026-11-23T07:00:00+01:00"))
    before = render_variant(validate_notice(water_notice, library), key, library).text
    frozen_clock.set(datetime.fromisoformat("2026-11-23T11:00:00+01:00"))
    during = render_variant(validate_notice(water_notice, library), key, library).text
    # Action first ("Fyll flaskor med vatten nu."), then the outage in the future tense.
    announcement = next(line for line in before.splitlines() if "stänger av" in line)
    assert before.startswith("Fyll flaskor med vatten nu.")
    assert "måndag 23 november" in announcement and "nu" not in announcement.split()
    assert "Det finns inget vatten i kranen nu" in during


def test_a_passed_evacuation_deadline_is_left_out_and_warned_about(
    library: ContentLibrary, frozen_clock: FrozenClock
) -> None:
    raw = load_json(ROOT / "message_templates" / "evacuation" / "example.json")
    frozen_clock.set(datetime.fromisoformat("2027-04-12T14:30:00+02:00"))
    notice = validate_notice(raw, library)
    assert [w.location for w in notice.warnings] == ["fields.leave_by"]
    assert "14:00" not in _text(notice, library, Channel.sms)


def test_an_advance_heat_wave_warning_says_when_it_starts(
    library: ContentLibrary, frozen_clock: FrozenClock
) -> None:
    """Sent before the first hot day, every SMS, e-mail and subject names that day."""
    raw = load_json(ROOT / "message_templates" / "heat_wave" / "example.json")
    frozen_clock.set(datetime.fromisoformat("2027-07-12T09:00:00+02:00"))
    notice = validate_notice(raw, library)
    start = notice.fields["from_date"]
    tags = [
        t for t in library.languages if t == "en" or load_catalog(library.locales_dir, t).exists
    ]
    for tag in tags:
        lang = library.languages[tag]
        day = format_date(start, lang.day_pattern or "EEEE d MMMM", Locale.parse(lang.babel_locale))
        for register in Register:
            for channel in (Channel.sms, Channel.email):
                variant = render_variant(
                    notice, VariantKey(tag, register, Role.public, channel), library
                )
                assert day in variant.text, f"{tag} {register} {channel}: {variant.text}"
                assert channel == Channel.sms or day in variant.subject, (tag, variant.subject)
