from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.audit.models import AuditEvent
from service.config import Settings
from service.content import ContentLibrary
from service.recipients.areas import AreaMap, load_areas
from service.recipients.csv_import import CsvResult, read_recipients
from service.recipients.models import RecipientRecord
from service.recipients.register import ImportReport, export_recipients, import_recipients
from service.store.database import make_engine, session_scope
from service.store.migrate import upgrade
from tests.conftest import ROOT

HEADER = "external_id;name;phone;email;languages;audiences;areas;groups;legal_basis;active\n"
ROWS = (
    "K-1;Anna Andersson;070-123 45 67;;sv;easy-read;skultuna;;samtycke 2026-01-10;ja\n"
    "K-2;Ahmed Ali;073-987 65 43;ahmed@example.se;ar|sv;general-public;barkaro;;samtycke;ja\n"
    ";Birgitta Berg;;birgitta@example.se;sv;relatives;vasteras-centrum;;LSS 9 §;nej\n"
)


@pytest.fixture(scope="module")
def areas() -> AreaMap:
    return load_areas(ROOT / "areas.toml")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def parse(text: str, library: ContentLibrary, areas: AreaMap) -> CsvResult:
    data = ("\ufeff" + text).encode("utf-8")
    return read_recipients(data, library.languages, library.audiences, areas)


def run(engine: Engine, result: CsvResult, *, confirm: bool) -> ImportReport:
    with session_scope(engine) as session:
        return import_recipients(session, result, confirm=confirm, actor="registrator@vasteras.se")


def rows(engine: Engine) -> dict[str, RecipientRecord]:
    with session_scope(engine) as session:
        return {r.name: r for r in session.scalars(sa.select(RecipientRecord))}


def audit(engine: Engine) -> list[AuditEvent]:
    with session_scope(engine) as session:
        return list(session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)))


def test_dry_run_reports_and_writes_nothing_then_confirm_imports(
    engine: Engine, library: ContentLibrary, areas: AreaMap
) -> None:
    result = parse(HEADER + ROWS, library, areas)
    report = run(engine, result, confirm=False)
    assert (report.created, report.updated, report.unchanged) == ([2, 3, 4], [], [])
    assert report.without_external_id == 1
    assert "dry run: nothing was imported; confirm to import" in report.lines()
    assert rows(engine) == {} and audit(engine) == []

    report = run(engine, result, confirm=True)
    assert report.written and report.lines()[0] == "3 created, 0 updated, 0 unchanged"
    stored = rows(engine)
    anna, birgitta = stored["Anna Andersson"], stored["Birgitta Berg"]
    assert (anna.external_id, anna.phone, anna.areas) == ("K-1", "+46701234567", ["skultuna"])
    assert (anna.legal_basis, anna.active) == ("samtycke 2026-01-10", True)
    assert (birgitta.external_id, birgitta.active) == (None, False)
    [event] = audit(engine)
    assert (event.action, event.actor) == ("recipients.imported", "registrator@vasteras.se")
    assert event.details == {"created": 3, "updated": 0, "unchanged": 0, "without_external_id": 1}


def test_bad_rows_are_listed_and_nothing_is_imported_even_when_confirmed(
    engine: Engine, library: ContentLibrary, areas: AreaMap
) -> None:
    bad = (
        "K-3;Cilla;070-123 45 68;;sv;;atlantis;;;\n"
        "K-4;Dan;070-123 45 69;;sv;;;;;kanske\n"
        "K-1;Eva;070-123 45 70;;sv;;;;;\n"
    )
    result = parse(HEADER + ROWS + bad, library, areas)
    report = run(engine, result, confirm=True)
    assert not report.written
    assert [str(e) for e in report.errors] == [
        "line 5: unknown area 'atlantis'",
        "line 6: active 'kanske' is neither yes nor no",
        "line 7: external_id 'K-1' is also on line 2",
    ]
    assert "3 bad rows; nothing was imported:" in report.lines()
    assert rows(engine) == {} and audit(engine) == []


def test_reimport_updates_by_external_id_and_reports_unchanged_rows(
    engine: Engine, library: ContentLibrary, areas: AreaMap
) -> None:
    run(engine, parse(HEADER + ROWS, library, areas), confirm=True)
    first_ids = {name: r.id for name, r in rows(engine).items()}
    changed = ROWS.replace("070-123 45 67;;sv;", "070-765 43 21;;fi|sv;")
    report = run(engine, parse(HEADER + changed, library, areas), confirm=True)
    assert report.created == []
    assert report.updated == [(2, ("phone", "languages"))]
    assert report.unchanged == [3, 4]
    assert "line 2: update phone, languages" in report.lines()
    anna = rows(engine)["Anna Andersson"]
    assert (anna.id, anna.phone, anna.languages) == (
        first_ids["Anna Andersson"],
        "+46707654321",
        ["fi", "sv"],
    )
    assert {name: r.id for name, r in rows(engine).items()} == first_ids
    assert audit(engine)[-1].details["updated"] == 1


def test_a_file_without_some_people_deletes_nobody(
    engine: Engine, library: ContentLibrary, areas: AreaMap
) -> None:
    run(engine, parse(HEADER + ROWS, library, areas), confirm=True)
    report = run(engine, parse(HEADER + ROWS.splitlines()[0] + "\n", library, areas), confirm=True)
    assert report.not_in_file == 2
    assert "2 recipients in the register are not in this file" in report.lines()
    assert len(rows(engine)) == 3


def test_export_then_import_changes_nothing(
    engine: Engine, library: ContentLibrary, areas: AreaMap
) -> None:
    tricky = (
        'K-9;"=Ödön Ängström, ""Åke""";00 44 20 7946 0958;;sv;;;care-staff-bjorkgarden;'
        '"a;b\r\nc";\n'
    )
    assert run(engine, parse(HEADER + ROWS + tricky, library, areas), confirm=True).written
    before = {
        n: (r.id, r.phone, r.email, r.areas, r.groups, r.legal_basis, r.active)
        for n, r in rows(engine).items()
    }
    with session_scope(engine) as session:
        exported = export_recipients(session)
    assert exported.startswith(b"\xef\xbb\xbf" + HEADER.rstrip("\n").encode() + b"\r\n")
    text = exported.decode("utf-8-sig")
    assert "070-123 45 67" in text and "'=Ödön" in text
    result = read_recipients(exported, library.languages, library.audiences, areas)
    assert result.errors == []
    report = run(engine, result, confirm=True)
    assert (report.created, report.updated, len(report.unchanged)) == ([], [], 4)
    after = {
        n: (r.id, r.phone, r.email, r.areas, r.groups, r.legal_basis, r.active)
        for n, r in rows(engine).items()
    }
    assert after == before
    assert before['=Ödön Ängström, "Åke"'][1] == "+442079460958"
    assert before['=Ödön Ängström, "Åke"'][5] == "a;b\r\nc"


def test_excel_file_with_bom_semicolons_crlf_and_swedish_characters(
    engine: Engine, library: ContentLibrary, areas: AreaMap
) -> None:
    text = (
        "Name;Phone;Postal_code;Legal_basis;Active\r\n"
        "Åsa Öberg-Ärlig;021-39 00 00;726 60;Samtycke via e-tjänst;SANT\r\n"
        "Göran Ståhl;070-111 22 33;72212;Socialtjänstlagen;FALSKT\r\n"
        ";;;;\r\n"
    )
    result = parse(text, library, areas)
    assert result.errors == []
    run(engine, result, confirm=True)
    stored = rows(engine)
    asa, goran = stored["Åsa Öberg-Ärlig"], stored["Göran Ståhl"]
    assert (asa.phone, asa.areas, asa.active) == ("+4621390000", ["skultuna"], True)
    assert (goran.areas, goran.active) == (["vasteras-centrum"], False)
    assert asa.legal_basis == "Samtycke via e-tjänst"


def test_rows_without_external_id_match_on_name_phone_and_email(
    engine: Engine, library: ContentLibrary, areas: AreaMap
) -> None:
    text = "name;email\nFia;fia@example.se\n"
    run(engine, parse(text, library, areas), confirm=True)
    again = run(engine, parse(text, library, areas), confirm=True)
    assert (again.created, again.unchanged, again.without_external_id) == ([], [2], 1)
    moved = run(engine, parse("name;email\nFia;fia@example.com\n", library, areas), confirm=True)
    assert moved.created == [2]
    assert any("a changed number makes a new entry" in line for line in moved.lines())
    dup = run(engine, parse(text + "Fia;fia@example.se\n", library, areas), confirm=True)
    assert [str(e) for e in dup.errors] == ["line 3: same name, phone and e-mail as line 2"]
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(RecipientRecord)) == 2


def test_a_change_committed_after_another_still_changes_the_reach_digest(
    postgres_url: str,
) -> None:
    """Approval binds to reach_digest: an edit made before it but committed after must show.

    (PostgreSQL: two writers at once. A change time cannot carry this, since the later commit
    carries the earlier time; the revision that every UPDATE raises does.)
    """
    from service.content import get_library
    from service.notices.schemas import Mode
    from service.recipients.service import reach_digest

    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    areas = get_library(Settings()).areas
    try:
        with session_scope(engine) as session:
            for n, phone in enumerate(("+46701740601", "+46701740602")):
                session.add(
                    RecipientRecord(
                        name=f"Person {n}", phone=phone, languages=["sv"], areas=["skultuna"]
                    )
                )

        def digest() -> str:
            with session_scope(engine) as session:
                return reach_digest(session, ["skultuna"], ["general-public"], Mode.actual, areas)

        first = engine.connect()
        slow = Session(bind=first)
        a = slow.scalars(sa.select(RecipientRecord).order_by(RecipientRecord.id)).first()
        assert a is not None
        a.phone = None  # now unreachable by SMS: flushed, not yet committed
        slow.flush()
        with session_scope(engine) as session:  # another edit commits first
            b = session.scalars(sa.select(RecipientRecord).order_by(RecipientRecord.id.desc()))
            b.first().name = "Person B"  # type: ignore[union-attr]
        approved = digest()
        slow.commit()
        slow.close()
        first.close()
        assert digest() != approved
        assert digest() == digest()  # and nothing else moves it
    finally:
        engine.dispose()
