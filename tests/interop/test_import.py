from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.audit.models import AuditEvent
from service.config import Settings
from service.content import ContentLibrary
from service.interop.imports import CapConflict, CapImportResult, import_cap
from service.interop.mapping import CapNotImportable, our_language
from service.interop.models import CapImport
from service.store.database import make_engine, session_scope
from service.store.migrate import downgrade, upgrade
from tests.interop.conftest import publish, sample

WIND = "smhi-wind-orange.xml"


def run(
    session: Session, data: bytes, library: ContentLibrary, settings: Settings, **kw: bool
) -> CapImportResult:
    return import_cap(session, data, library, settings, actor="test", source="test", **kw)


def test_an_smhi_wind_warning_becomes_a_storm_draft_keeping_the_original(
    session: Session, library: ContentLibrary, settings: Settings
) -> None:
    result = run(session, sample(WIND), library, settings)
    record = result.record
    assert (result.stored, result.repeat) == (True, False)
    assert record.scenario == "storm"
    assert "'vind'" in record.match_reason and "'wind'" in record.match_reason
    assert record.problems == []
    assert record.notice["fields"] == {
        "warning_level": "orange",
        "hazard": "wind",
        "area_name": "Västerås kommun",
        "from_time": "2027-01-12T18:00:00+01:00",
        "to_time": "2027-01-13T09:00:00+01:00",
    }
    notice = record.notice
    assert notice["areas"] == ["vasteras"]  # by the SE-kommunkod geocode in areas.toml
    assert notice["languages"] == ["sv", "en"]
    assert notice["audiences"] == ["general-public", "other-languages"]
    assert (notice["severity"], notice["urgency"], notice["certainty"]) == (
        "severe",
        "expected",
        "likely",
    )
    assert notice["sent_at"] == "2027-01-12T13:00:00+01:00"
    assert notice["contact"] == {
        "phone": "011-495 80 00",
        "web": "https://www.smhi.se/vader/varningar",
    }
    assert record.original_xml == sample(WIND)
    assert record.sender == "opendata@smhi.se"
    assert any("contact details are SMHI's" in n for n in record.notes)
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "cap.imported")).one()
    assert event.subject_id == str(record.id)


def test_posting_the_same_message_again_is_recognised(
    session: Session, library: ContentLibrary, settings: Settings
) -> None:
    first = run(session, sample(WIND), library, settings)
    again = run(session, sample(WIND), library, settings)
    assert again.repeat and again.record.id == first.record.id
    assert session.scalar(sa.select(sa.func.count()).select_from(CapImport)) == 1


def test_the_same_identifier_with_other_content_is_refused(
    session: Session, library: ContentLibrary, settings: Settings
) -> None:
    run(session, sample(WIND), library, settings)
    changed = sample(WIND).replace(b"25 till 30 meter", b"20 till 25 meter")
    with pytest.raises(CapConflict, match="already sent a different message"):
        run(session, changed, library, settings)
    assert session.scalar(sa.select(sa.func.count()).select_from(CapImport)) == 1


def test_an_update_links_to_the_import_it_follows_then_to_the_published_notice(
    session: Session, library: ContentLibrary, settings: Settings
) -> None:
    first = run(session, sample(WIND), library, settings).record
    update = run(session, sample("smhi-wind-red-update.xml"), library, settings, dry_run=True)
    assert update.record.references_import_id == first.id
    assert update.record.notice["message_type"] == "update"
    assert update.record.notice["fields"]["warning_level"] == "red"
    assert update.record.notice["severity"] == "extreme"
    # The first draft is not published yet, so the update cannot name its code.
    assert any("references" in p for p in update.record.problems)
    # The communicator publishes the first draft; the workflow records its code.
    published = publish(session, first.notice, library)
    first.notice_code = published.code
    session.flush()
    update = run(session, sample("smhi-wind-red-update.xml"), library, settings)
    assert update.record.references_code == published.code
    assert update.record.notice["references"] == published.code
    assert update.record.problems == []


def test_a_cancel_without_info_cancels_the_imported_alert(
    session: Session, library: ContentLibrary, settings: Settings
) -> None:
    first = run(session, sample(WIND), library, settings).record
    cancel = run(session, sample("smhi-wind-cancel.xml"), library, settings).record
    assert cancel.references_import_id == first.id
    assert cancel.scenario == "storm"
    assert cancel.notice["message_type"] == "cancel"
    assert cancel.notice["fields"] == first.notice["fields"]
    assert cancel.notice["sent_at"] == "2027-01-12T23:00:00+01:00"


def test_a_cancel_of_something_unknown_is_not_importable(
    session: Session, library: ContentLibrary, settings: Settings
) -> None:
    with pytest.raises(CapNotImportable, match="imported here before"):
        run(session, sample("smhi-wind-cancel.xml"), library, settings)


def test_an_smhi_heat_warning_becomes_a_heat_wave_draft(
    session: Session, library: ContentLibrary, settings: Settings
) -> None:
    record = run(session, sample("smhi-heat-yellow.xml"), library, settings).record
    assert record.scenario == "heat_wave"
    assert record.notice["fields"] == {
        "from_date": "2027-07-14",
        "to_date": "2027-07-18",
        "max_temperature_c": 33,
    }
    assert record.problems == []
    # Västmanlands län is not in areas.toml: the whole municipality, and a note to check it.
    assert record.notice["areas"] == ["vasteras"]
    assert any("Västmanlands län" in n and "check the area" in n for n in record.notes)


def test_a_warning_no_scenario_fits_becomes_free_text_in_both_languages(
    session: Session, library: ContentLibrary, settings: Settings
) -> None:
    record = run(session, sample("smhi-high-flows-yellow.xml"), library, settings).record
    assert record.scenario == "general"
    fields = record.notice["fields"]
    assert fields["headline"] == {
        "sv": "Gul varning för höga flöden i Svartån",
        "en": "Yellow warning for high flows in Svartån",
    }
    assert fields["message"]["sv"].startswith("Snösmältning gör att vattnet stiger")
    assert fields["message"]["sv"].endswith("Följ avspärrningar.")
    assert record.problems == []


def test_a_matched_scenario_whose_details_cannot_be_read_falls_back_to_free_text(
    session: Session, library: ContentLibrary, settings: Settings
) -> None:
    data = sample("smhi-high-flows-yellow.xml").replace(b"FLOWS", b"EVAC")
    data = data.replace(b"<event>H\xc3\xb6ga fl\xc3\xb6den</event>", b"<event>Utrymning</event>")
    record = run(session, data, library, settings).record
    assert record.scenario == "general"
    assert record.match_reason.startswith("suggests evacuation")


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        (b"<status>Actual</status>", b"<status>System</status>", "status System"),
        (b"<status>Actual</status>", b"<status>Draft</status>", "status Draft"),
        (b"<msgType>Alert</msgType>", b"<msgType>Ack</msgType>", "msgType Ack"),
        (
            b"<scope>Public</scope>",
            b"<scope>Restricted</scope><restriction>staff</restriction>",
            "scope Restricted",
        ),
    ],
)
def test_messages_that_are_not_public_notices_are_refused(
    old: bytes, new: bytes, why: str, session: Session, library: ContentLibrary, settings: Settings
) -> None:
    with pytest.raises(CapNotImportable, match=why):
        run(session, sample(WIND).replace(old, new), library, settings)
    assert session.scalar(sa.select(sa.func.count()).select_from(CapImport)) == 0


def test_a_dry_run_stores_nothing(
    session: Session, library: ContentLibrary, settings: Settings
) -> None:
    result = run(session, sample(WIND), library, settings, dry_run=True)
    assert (result.stored, result.record.scenario) == (False, "storm")
    assert session.scalar(sa.select(sa.func.count()).select_from(CapImport)) == 0


def test_the_imports_table_migrates_up_and_down_and_keys_on_sender_and_identifier(
    database_url: str,
) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)

    def row(xml: bytes) -> CapImport:
        return CapImport(
            sender="opendata@smhi.se",
            identifier="x.1",
            sent=sa.func.now(),
            status="Actual",
            msg_type="Alert",
            scenario="storm",
            match_reason="test",
            notice={},
            problems=[],
            notes=[],
            original_xml=xml,
            xml_sha256="0" * 64,
            created_by="test",
        )

    with session_scope(engine) as session:
        session.add(row(b"<alert/>"))
    with session_scope(engine) as session:
        assert session.scalars(sa.select(CapImport.original_xml)).one() == b"<alert/>"
    with pytest.raises(sa.exc.IntegrityError), session_scope(engine) as session:
        session.add(row(b"<alert>other</alert>"))
    engine.dispose()
    downgrade(database_url, "0004")
    engine = make_engine(database_url)
    assert "cap_imports" not in sa.inspect(engine).get_table_names()
    engine.dispose()


@pytest.mark.parametrize(
    ("cap_language", "ours"),
    [("sv-SE", "sv"), ("sv", "sv"), ("en-GB", "en"), ("fa-AF", "fa-AF"), ("prs", "fa-AF"),
     ("fa-IR", "fa"), ("de-DE", None)],
)  # fmt: skip
def test_cap_languages_map_to_ours(
    cap_language: str, ours: str | None, library: ContentLibrary
) -> None:
    assert our_language(cap_language, library) == ours
