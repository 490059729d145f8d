from __future__ import annotations

from datetime import timedelta
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import xmlschema
from sqlalchemy.orm import Session

from service.clock import FrozenClock
from service.config import Settings
from service.content import ContentLibrary
from service.interop.capmodel import CAP_DATETIME
from service.interop.export import export_record
from service.interop.imports import import_cap
from service.interop.texts import HEADLINE_MAX, shorten
from service.interop.validation import check_cap
from service.notices.models import NoticeRecord
from service.notices.service import validate_notice
from tests.conftest import ROOT, load_json
from tests.interop.conftest import CAP, publish

SCENARIOS = sorted(p.parent.name for p in (ROOT / "message_templates").glob("*/example.json"))
STATUS = {"actual": "Actual", "exercise": "Exercise", "test": "Test"}
MSG_TYPE = {"alert": "Alert", "update": "Update", "all_clear": "Update", "cancel": "Cancel"}
EXERCISE_NAME = "Övning Mälardalen 2027"


def canonical(raw: dict[str, Any], library: ContentLibrary) -> dict[str, Any]:
    """A notice as validation sees it: the envelope and the typed fields.

    Free text in a language the notice is not sent in is never used, so CAP does not carry it.
    """
    notice = validate_notice(raw, library)
    sent_in = set(notice.envelope.languages)
    fields = {
        name: {lang: text for lang, text in value.items() if lang in sent_in}
        if isinstance(value, dict)
        else value
        for name, value in notice.fields.items()
    }
    return {"envelope": notice.envelope.model_dump(), "fields": fields}


def text(root: ET.Element, name: str) -> str | None:
    element = root.find(CAP + name)
    return None if element is None else element.text


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_example_exports_valid_cap_in_every_mode_and_type_and_round_trips(
    scenario: str,
    session: Session,
    library: ContentLibrary,
    settings: Settings,
    xsd: xmlschema.XMLSchema,
) -> None:
    example = load_json(ROOT / "message_templates" / scenario / "example.json")
    for mode in STATUS:
        alert_raw = {**example, "mode": mode, "message_type": "alert"}
        if mode == "exercise":
            alert_raw["exercise_name"] = EXERCISE_NAME
        first = publish(session, alert_raw, library)
        check_round_trip(session, first, 0, mode, library, settings, xsd)
        # Each follower is exported as it is published: a later cancel would (rightly) make
        # importing an earlier update of the same thread a problem.
        for position, kind in enumerate(("update", "all_clear", "cancel"), start=1):
            raw = {**alert_raw, "message_type": kind, "references": first.code}
            record = publish(session, raw, library)
            check_round_trip(session, record, position, mode, library, settings, xsd)
            assert record.scenario == scenario


def check_round_trip(
    session: Session,
    record: NoticeRecord,
    position: int,
    mode: str,
    library: ContentLibrary,
    settings: Settings,
    xsd: xmlschema.XMLSchema,
) -> None:
    exported = export_record(session, record, library, settings)
    root = ET.fromstring(exported.xml)
    xsd.validate(root)  # the OASIS schema, from the project's test data
    assert check_cap(exported.xml).valid
    assert text(root, "status") == STATUS[mode]
    assert text(root, "msgType") == MSG_TYPE[record.message_type]
    assert text(root, "identifier") == f"vasteras.se.klarvarsel.{record.code}"
    assert CAP_DATETIME.match(text(root, "sent") or ""), text(root, "sent")
    note = text(root, "note")
    if mode == "exercise":
        assert note == EXERCISE_NAME
    elif mode == "test":
        assert note is not None and note.startswith(f"Test {record.code}")
    else:
        assert note is None
    # Every earlier message of the thread, as sender,identifier,sent triples.
    assert (text(root, "references") or "").count(",") == 2 * position
    infos = root.findall(CAP + "info")
    assert len(infos) == len(exported.languages) >= 1
    for info in infos:
        assert len(info.findtext(CAP + "headline") or "") <= HEADLINE_MAX
        responses = [e.text for e in info.findall(CAP + "responseType")]
        if record.message_type == "all_clear":
            assert responses == ["AllClear"]
        elif record.message_type == "cancel":
            assert responses == ["None"]
    back = import_cap(session, exported.xml, library, settings, actor="t", source="t", dry_run=True)
    assert back.record.problems == [], back.record.problems
    assert back.record.scenario == record.scenario
    got, want = canonical(back.notice, library), canonical(dict(record.payload), library)
    assert got["fields"] == want["fields"]
    for key, value in want["envelope"].items():
        if key != "fields":  # compared above, typed and in the notice's languages
            assert got["envelope"][key] == value, key


def test_references_name_every_earlier_message_of_the_thread(
    session: Session, library: ContentLibrary, settings: Settings, frozen_clock: FrozenClock
) -> None:
    alert = load_json(ROOT / "message_templates" / "storm" / "example.json")
    first = publish(session, alert, library)
    frozen_clock.advance(timedelta(hours=1))
    raised = {**alert, "message_type": "update", "references": first.code, "severity": "extreme"}
    update = publish(
        session, {**raised, "fields": {**alert["fields"], "warning_level": "red"}}, library
    )
    frozen_clock.advance(timedelta(hours=2))
    over = publish(
        session, {**alert, "message_type": "all_clear", "references": update.code}, library
    )
    root = ET.fromstring(export_record(session, over, library, settings).xml)
    assert text(root, "references") == (
        f"kris@vasteras.se,vasteras.se.klarvarsel.{first.code},2026-11-23T08:00:00+01:00 "
        f"kris@vasteras.se,vasteras.se.klarvarsel.{update.code},2026-11-23T09:00:00+01:00"
    )
    assert text(root, "incidents") == f"vasteras.se.klarvarsel.{first.code}"
    assert text(root, "sent") == "2026-11-23T11:00:00+01:00"
    # The first message of a thread references nothing.
    assert (
        text(ET.fromstring(export_record(session, first, library, settings).xml), "references")
        is None
    )


def test_only_really_translated_languages_get_an_info(
    session: Session, library: ContentLibrary, settings: Settings
) -> None:
    general = load_json(ROOT / "message_templates" / "general" / "example.json")
    general["fields"]["headline"]["en"] = general["fields"]["headline"]["sv"]
    general["fields"]["message"]["en"] = general["fields"]["message"]["sv"]
    general["languages"] = ["sv", "en", "ar", "fit"]
    for name in ("headline", "message", "sms"):
        general["fields"][name].pop("ar", None)  # nobody translated the communicator's text
    exported = export_record(session, publish(session, general, library), library, settings)
    assert exported.languages == ["sv"]
    assert "repeats the sv text" in exported.skipped["en"]
    assert "would be Swedish" in exported.skipped["ar"]
    assert "no fit catalog" in exported.skipped["fit"]
    languages = [e.text for e in ET.fromstring(exported.xml).iter(CAP + "language")]
    assert languages == ["sv-SE"]


def test_a_note_written_only_in_swedish_keeps_other_languages_out(
    session: Session, library: ContentLibrary, settings: Settings
) -> None:
    storm = load_json(ROOT / "message_templates" / "storm" / "example.json")
    storm["note"] = {"sv": "Samlingslokalen i Skultuna skola är öppen hela natten."}
    exported = export_record(session, publish(session, storm, library), library, settings)
    assert exported.languages == ["sv"]
    assert all("note" in reason for reason in exported.skipped.values())
    description = ET.fromstring(exported.xml).findtext(f"{CAP}info/{CAP}description") or ""
    assert "Samlingslokalen i Skultuna skola" in description


def test_the_info_carries_area_geocodes_contact_web_and_audiences(
    session: Session, library: ContentLibrary, settings: Settings
) -> None:
    storm = load_json(ROOT / "message_templates" / "storm" / "example.json")
    record = publish(session, storm, library)
    info = ET.fromstring(export_record(session, record, library, settings).xml).find(CAP + "info")
    assert info is not None
    assert info.findtext(CAP + "language") == "sv-SE"
    assert info.findtext(CAP + "category") == "Met"
    assert info.findtext(CAP + "web") == f"http://127.0.0.1:8000/n/{record.code}"
    assert info.findtext(CAP + "contact") == "021-39 00 00; https://www.vasteras.se/kris"
    area = info.find(CAP + "area")
    assert area is not None and area.findtext(CAP + "areaDesc") == "Västerås kommun"
    geocodes = {
        g.findtext(CAP + "valueName"): g.findtext(CAP + "value") for g in area.iter(CAP + "geocode")
    }
    assert geocodes == {"klarvarsel-area": "vasteras", "SE-kommunkod": "1980"}
    audiences = [
        p.findtext(CAP + "value")
        for p in info.iter(CAP + "parameter")
        if p.findtext(CAP + "valueName") == "audience"
    ]
    assert audiences == storm["audiences"]


def test_headlines_are_cut_at_a_word_to_140_characters() -> None:
    long = "Varning " * 30
    cut = shorten(long)
    assert len(cut) <= HEADLINE_MAX and cut.endswith("…") and cut.startswith("Varning Varning")
    assert shorten("Kort rubrik") == "Kort rubrik"
