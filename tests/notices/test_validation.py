from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import pytest

from service.content import ContentLibrary
from service.notices.service import NoticeInvalid, ReferencedNotice, validate_notice
from tests.conftest import SAMPLE_NOTICES, load_json


def problems(raw: dict[str, Any], library: ContentLibrary) -> dict[str, str]:
    """Every problem by place; two problems at one place are joined with ' | '."""
    with pytest.raises(NoticeInvalid) as caught:
        validate_notice(raw, library)
    found: dict[str, list[str]] = {}
    for p in caught.value.problems:
        found.setdefault(p.location, []).append(p.message)
    return {location: " | ".join(messages) for location, messages in found.items()}


@pytest.mark.parametrize("path", sorted(SAMPLE_NOTICES.glob("*.json")), ids=lambda p: p.stem)
def test_every_shared_sample_notice_is_accepted(path: Any, library: ContentLibrary) -> None:
    notice = validate_notice(load_json(path), library)
    assert notice.scenario.id == load_json(path)["scenario"]


def test_every_scenario_example_is_accepted(library: ContentLibrary) -> None:
    for scenario_id in library.scenarios:
        path = library.root / "message_templates" / scenario_id / "example.json"
        assert validate_notice(load_json(path), library).scenario.id == scenario_id


def test_fields_are_typed(water_notice: dict[str, Any], library: ContentLibrary) -> None:
    notice = validate_notice(water_notice, library)
    assert isinstance(notice.fields["starts_at"], datetime)
    assert notice.fields["water_points"] == [
        "Skultuna skola, Kyrkvägen 1",
        "Idrottsplatsen, Bruksvägen 12",
    ]
    assert notice.fields["boil_water_after"] is True


def test_unknown_scenario_names_the_known_ones(
    water_notice: dict[str, Any], library: ContentLibrary
) -> None:
    found = problems(dict(water_notice, scenario="alien_invasion"), library)
    assert "unknown scenario 'alien_invasion'" in found["scenario"]
    assert "water_outage" in found["scenario"]


def test_missing_and_mistyped_fields_are_all_reported(
    water_notice: dict[str, Any], library: ContentLibrary
) -> None:
    raw = copy.deepcopy(water_notice)
    del raw["fields"]["area_name"]
    raw["fields"]["starts_at"] = "tomorrow morning"
    raw["fields"]["boil_water_after"] = "yes"
    raw["fields"]["colour"] = "blue"
    found = problems(raw, library)
    assert found["fields.area_name"] == "is required"
    assert "'tomorrow morning' is not a date and time" in found["fields.starts_at"]
    assert found["fields.boil_water_after"] == "must be true or false, got 'yes'"
    assert found["fields.colour"].startswith("is not a field of water_outage")


def test_end_before_start_is_refused(water_notice: dict[str, Any], library: ContentLibrary) -> None:
    raw = copy.deepcopy(water_notice)
    raw["fields"]["expected_end"] = "2026-11-23T09:00:00+01:00"
    found = problems(raw, library)
    assert found["fields.expected_end"] == "is before starts_at; it must come after it"


def test_unknown_language_and_audience(
    water_notice: dict[str, Any], library: ContentLibrary
) -> None:
    found = problems(
        dict(water_notice, languages=["sv", "klingon"], audiences=["general-public", "cats"]),
        library,
    )
    assert "unknown language 'klingon'" in found["languages.1"]
    assert "unknown audience 'cats'" in found["audiences.1"]


def test_swedish_is_required(water_notice: dict[str, Any], library: ContentLibrary) -> None:
    found = problems(dict(water_notice, languages=["en"], note={}), library)
    assert found["languages"] == "must include sv: Swedish is always sent"


def test_envelope_errors_name_the_field(
    water_notice: dict[str, Any], library: ContentLibrary
) -> None:
    raw = dict(water_notice, severity="apocalyptic", channels=["sms", "pigeon"])
    del raw["contact"]
    found = problems(raw, library)
    assert "severity" in found
    assert "channels.1" in found
    assert found["contact"] == "Field required"


def test_updates_must_reference_the_first_notice(
    water_notice: dict[str, Any], library: ContentLibrary
) -> None:
    found = problems(dict(water_notice, message_type="update"), library)
    assert "must give `references`" in found[""]
    notice = validate_notice(
        dict(water_notice, message_type="update", references="AB12CD"), library
    )
    assert notice.envelope.references == "AB12CD"


def test_contact_needs_one_way(water_notice: dict[str, Any], library: ContentLibrary) -> None:
    found = problems(dict(water_notice, contact={}), library)
    assert "give at least one of phone, web or email" in found["contact"]


def test_time_without_offset_is_local_time(
    water_notice: dict[str, Any], library: ContentLibrary
) -> None:
    raw = copy.deepcopy(water_notice)
    raw["fields"]["starts_at"] = "2026-11-23T10:00"
    raw["fields"]["expected_end"] = "2026-11-23T16:00"
    notice = validate_notice(raw, library)
    assert notice.fields["starts_at"].utcoffset().total_seconds() == 3600  # CET in November


def test_unknown_area_is_refused_with_the_closest_known_ones(
    water_notice: dict[str, Any], library: ContentLibrary
) -> None:
    found = problems(dict(water_notice, areas=["skultna", "dingtuna"]), library)
    assert found == {
        "areas.0": "unknown area 'skultna'; did you mean skultuna (Skultuna)? "
        "(areas are listed in areas.toml)"
    }


def test_every_problem_is_reported_even_with_an_unknown_scenario_and_channel(
    water_notice: dict[str, Any], library: ContentLibrary
) -> None:
    raw = dict(
        water_notice,
        scenario="water_outge",
        channels=["sms", "fax"],
        areas=["skultna"],
        languages=["sv", "xx"],
    )
    found = problems(raw, library)
    assert "did you mean water_outage" in found["scenario"]
    assert "channels.1" in found
    assert "areas.0" in found
    assert "languages.1" in found


def test_bidi_overrides_and_control_characters_are_refused_everywhere(
    library: ContentLibrary,
) -> None:
    raw = load_json(library.root / "message_templates" / "general" / "example.json")
    raw["fields"]["sms"] = {"sv": "Ring 021-\u202e00 00 93"}
    raw["contact"] = {"phone": "021-39\u202e 00 00"}
    raw["note"] = {"sv": "Ta med\x00 flaskor."}
    found = problems(raw, library)
    assert "U+202E RIGHT-TO-LEFT OVERRIDE at character 10" in found["fields.sms.sv"]
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in found["contact.phone"]
    assert "U+0000 NULL at character 7" in found["note.sv"]


def test_characters_a_language_needs_are_allowed(
    water_notice: dict[str, Any], library: ContentLibrary
) -> None:
    # Persian needs the zero-width non-joiner; Arabic text may carry a right-to-left mark.
    raw = dict(
        water_notice,
        languages=["sv", "fa", "ar"],
        note={"sv": "Ta med flaskor.", "fa": "بطری\u200cها را بیاورید.", "ar": "\u200fأحضروا"},
    )
    assert validate_notice(raw, library).envelope.note["fa"] == "بطری\u200cها را بیاورید."
    # ... but a right-to-left mark has no business in a Swedish text.
    found = problems(dict(raw, note={"sv": "Ta med\u200f flaskor."}), library)
    assert "U+200F RIGHT-TO-LEFT MARK" in found["note.sv"]


def test_a_huge_note_is_refused_by_its_length(
    water_notice: dict[str, Any], library: ContentLibrary
) -> None:
    found = problems(dict(water_notice, note={"sv": "x" * 5_000_000}), library)
    assert found == {"note.sv": "String should have at most 1000 characters"}


def test_references_are_checked_against_the_stored_notices(
    water_notice: dict[str, Any], library: ContentLibrary
) -> None:
    first = ReferencedNotice("ABC234", "water_outage", "actual", "alert")
    known = {"ABC234": first, "XYZ789": ReferencedNotice("XYZ789", "storm", "exercise", "alert")}
    update = dict(water_notice, message_type="update", references="ABC234")
    assert validate_notice(update, library, references=known.get).envelope.references == "ABC234"
    unknown = dict(update, references="NOPE99")
    assert "no notice has the code 'NOPE99'" in problems_with(unknown, library, known)["references"]
    other = problems_with(dict(update, references="XYZ789"), library, known)
    assert "XYZ789 is a storm notice" in other["scenario"]
    assert "an exercise can never become a real alert" in other["mode"]


def problems_with(
    raw: dict[str, Any], library: ContentLibrary, known: dict[str, ReferencedNotice]
) -> dict[str, str]:
    with pytest.raises(NoticeInvalid) as caught:
        validate_notice(raw, library, references=known.get)
    return {p.location: p.message for p in caught.value.problems}


def test_an_exercise_name_belongs_to_exercises_and_tests_only(
    water_notice: dict[str, Any], library: ContentLibrary
) -> None:
    named = {**water_notice, "mode": "exercise", "exercise_name": " Övning Vattenbrist 2027 "}
    assert validate_notice(named, library).envelope.exercise_name == "Övning Vattenbrist 2027"
    with pytest.raises(NoticeInvalid) as caught:
        validate_notice({**named, "mode": "actual"}, library)
    assert [str(p) for p in caught.value.problems] == [
        "exercise_name is only for exercise and test notices"
    ]
