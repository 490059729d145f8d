"""The compose form and the notice payload, both ways; where each problem is shown."""

from __future__ import annotations

import json
from typing import Any

import pytest

from service.content import ContentLibrary
from service.notices.service import NoticeProblem
from service.readability.models import Finding
from service.web.notices.form import form_fields, payload_from_form, problem_label, slot_of
from service.web.notices.preview_views import highlighted
from tests.conftest import ROOT

EXAMPLES = sorted(
    [*ROOT.glob("demo/notices/*.json"), *ROOT.glob("message_templates/*/example.json")]
)


def _normal(raw: dict[str, Any], library: ContentLibrary) -> dict[str, Any]:
    """What the form keeps: times as local ISO times, empty parts left out."""
    scenario = library.scenarios[raw["scenario"]]
    fields = dict(raw.get("fields") or {})
    for spec in scenario.fields:
        if spec.type == "boolean" and spec.name not in fields:
            fields[spec.name] = False  # an unticked box
    return {**raw, "fields": fields}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shipped_example_survives_the_form(path: Any, library: ContentLibrary) -> None:
    raw = json.loads(path.read_text("utf-8"))
    scenario = library.scenarios[raw["scenario"]]
    pairs = form_fields(raw, scenario, library.timezone)
    back = payload_from_form(pairs, scenario, library.timezone, library.languages)
    expected = _normal(raw, library)
    for name in ("scenario", "mode", "severity", "urgency", "certainty", "areas", "audiences"):
        assert back.get(name) == expected.get(name), name
    assert back["languages"] == expected["languages"]
    assert back["channels"] == expected["channels"]
    assert back.get("note", {}) == expected.get("note", {})
    assert back["contact"] == {k: v for k, v in expected["contact"].items() if v}
    for name, value in expected["fields"].items():
        got = back["fields"].get(name)
        if isinstance(value, str) and "T" in value and value[:4].isdigit():
            assert got is not None and got[:16] == value[:16], name  # minutes, local time
        else:
            assert got == value, name


def test_empty_inputs_are_left_out_so_the_validator_says_required(
    library: ContentLibrary,
) -> None:
    scenario = library.scenarios["water_outage"]
    pairs = [("f.area_name", "  "), ("f.starts_at.date", ""), ("f.starts_at.time", "")]
    raw = payload_from_form(pairs, scenario, library.timezone, library.languages)
    assert raw["fields"] == {"boil_water_after": False}
    assert raw["areas"] == [] and raw["contact"] == {}
    typed = payload_from_form(
        [("f.starts_at.date", "2026-11-23"), ("f.starts_at.time", "10.30")],
        scenario,
        library.timezone,
        library.languages,
    )
    assert typed["fields"]["starts_at"] == "2026-11-23T10:30:00+01:00"  # Stockholm, winter


def test_each_problem_is_shown_next_to_its_input(library: ContentLibrary) -> None:
    scenario = library.scenarios["water_outage"]
    assert slot_of("fields.starts_at") == "f-starts_at"
    assert slot_of("areas.2") == "areas"
    assert slot_of("contact") == "contact-phone"
    assert slot_of("note.ar") == "note-ar"
    assert slot_of("sent_at") == ""
    assert problem_label("fields.area_name", scenario, "sv") == "Område"
    assert problem_label("areas.0", scenario, "sv") == "Areas"  # a msgid, translated on the page
    assert str(NoticeProblem("fields.area_name", "is required")) == "fields.area_name: is required"


def test_findings_are_marked_in_the_escaped_text() -> None:
    text = "Koka <vattnet> i Skultuna."
    finding = Finding("long_word", "warning", "long", start=17, end=25)
    assert str(highlighted(text, [finding])) == (
        'Koka &lt;vattnet&gt; i <mark class="finding">Skultuna</mark>.'
    )
