"""Tracking deliveries: progress, not reached, history, the CSV report and the live stream."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.api.deps import session_dependency
from service.channels.base import OutgoingMessage, SendResult
from service.channels.status import record_sent
from service.content import ContentLibrary
from service.delivery.models import POSSIBLE_DUPLICATE, Delivery
from service.delivery.tracking import not_reached, progress, recipient_history, report_csv
from service.delivery.views import router
from service.notices.models import NoticeRecord
from service.notices.publish import mark_planned
from service.recipients.areas import AreaMap, load_areas
from service.recipients.models import RecipientRecord
from service.store.database import make_engine, session_scope
from service.store.migrate import upgrade
from tests.accounts.support import api_key, bearer
from tests.conftest import ROOT
from tests.delivery.test_planning import notice_raw, person, plan, publish, register


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def areas() -> AreaMap:
    return load_areas(ROOT / "areas.toml")


PEOPLE = (
    person("Ali", phone="+46701000001", languages=["ar"], audiences=["other-languages"]),
    person("Anna", phone="+46701000002", audiences=["easy-read"]),
    person("Carl", phone="+46701000003", email="carl@example.se", audiences=["care-staff"]),
    person("=HYPERLINK(1)", phone="+46701000004", audiences=["easy-read"]),
    person("Dana", audiences=["hearing-impaired"]),  # no contact detail: unreachable
    person("Fia", phone="+46701000006", audiences=["relatives"]),
)


@pytest.fixture
def planned(
    engine: Engine, library: ContentLibrary, areas: AreaMap
) -> tuple[NoticeRecord, dict[str, int]]:
    """The care-home notice planned for PEOPLE; returns it and their register ids."""
    ids = register(engine, *PEOPLE)
    record, notice = publish(engine, library, notice_raw())
    plan(engine, record, notice, library, areas)
    return record, ids


def set_status(engine: Engine, recipient_id: int, status: str, error: str | None = None) -> None:
    with session_scope(engine) as session:
        session.execute(
            sa.update(Delivery)
            .where(Delivery.recipient_id == recipient_id)
            .values(status=status, last_error=error)
        )


def finish_all(engine: Engine, status: str = "delivered") -> None:
    with session_scope(engine) as session:
        session.execute(
            sa.update(Delivery)
            .where(Delivery.status.in_(["planned", "sending"]))
            .values(status=status)
        )


def test_progress_counts_by_status_channel_language_and_audience(
    engine: Engine, planned: tuple[NoticeRecord, dict[str, int]]
) -> None:
    record, ids = planned
    set_status(engine, ids["Ali"], "delivered")
    set_status(engine, ids["Anna"], "sending")
    set_status(engine, ids["Carl"], "sent")
    with session_scope(engine) as session:
        counts = progress(session, record.id)
    assert counts.total == 6 and counts.unreachable == 1 and not counts.done
    assert counts.overall == {
        "planned": 2,
        "sending": 1,
        "sent": 1,
        "delivered": 1,
        "failed": 1,
        "cancelled": 0,
    }
    assert counts.by_channel["sms"]["planned"] == 2
    assert counts.by_channel["none"]["failed"] == 1
    assert counts.by_language["ar"]["delivered"] == 1
    assert counts.by_audience["easy-read"] == {**counts.by_audience["easy-read"], "sending": 1}
    assert counts.to_dict()["by_audience"]["care-staff"]["total"] == 1
    finish_all(engine)
    with session_scope(engine) as session:
        assert progress(session, record.id).done


def test_a_notice_sent_but_not_yet_planned_is_not_done(
    engine: Engine, library: ContentLibrary, areas: AreaMap
) -> None:
    """Right after a send nothing is planned: 0 deliveries is "not started", not "all done"."""
    register(engine, *PEOPLE)
    record, notice = publish(engine, library, notice_raw())
    with session_scope(engine) as session:
        before = progress(session, record.id)
    assert before.total == 0 and not before.done and before.to_dict()["done"] is False
    plan(engine, record, notice, library, areas)
    with session_scope(engine) as session:
        mark_planned(session, record.id)
    finish_all(engine)
    with session_scope(engine) as session:
        assert progress(session, record.id).done


def test_not_reached_lists_people_whose_every_delivery_failed_with_contact_details(
    engine: Engine, planned: tuple[NoticeRecord, dict[str, int]]
) -> None:
    record, ids = planned
    set_status(engine, ids["Ali"], "failed", "21610: the recipient opted out")
    set_status(engine, ids["Carl"], "failed", "21211: invalid number")
    with session_scope(engine) as session:
        # Carl's e-mail fallback is still on its way: not (yet) on the list.
        sms = session.scalars(sa.select(Delivery).where(Delivery.recipient_id == ids["Carl"])).one()
        session.add(
            Delivery(
                notice_id=record.id,
                recipient_id=ids["Carl"],
                recipient_key=sms.recipient_key,
                channel="email",
                address="carl@example.se",
                language="sv",
                register="standard",
                role="staff",
                audience="care-staff",
                fallback_of_id=sms.id,
            )
        )
    with session_scope(engine) as session:
        people = {p.name: p for p in not_reached(session, record.id)}
    assert sorted(people) == ["Ali", "Dana"]
    assert (people["Ali"].phone, people["Ali"].reason) == (
        "+46701000001",
        "sms: 21610: the recipient opted out",
    )
    assert people["Dana"].phone is None and "no sms or email" in people["Dana"].reason
    # After a GDPR deletion the pseudonymous rows remain; the name does not.
    with session_scope(engine) as session:
        session.execute(
            sa.update(Delivery).where(Delivery.recipient_id == ids["Ali"]).values(recipient_id=None)
        )
        session.execute(sa.delete(RecipientRecord).where(RecipientRecord.id == ids["Ali"]))
    with session_scope(engine) as session:
        names = [p.name for p in not_reached(session, record.id)]
    assert names == ["(deleted from the register)", "Dana"]


def test_recipient_history_lists_every_notice_newest_first(
    engine: Engine,
    planned: tuple[NoticeRecord, dict[str, int]],
    library: ContentLibrary,
    areas: AreaMap,
) -> None:
    first, ids = planned
    second, notice = publish(engine, library, notice_raw(mode="exercise"))
    with session_scope(engine) as session:
        anna = session.get(RecipientRecord, ids["Anna"])
        assert anna is not None
        anna.groups = ["exercise-participants"]
    plan(engine, second, notice, library, areas)
    with session_scope(engine) as session:
        history = recipient_history(session, ids["Anna"])
    assert [(h.notice_code, h.mode, h.channel) for h in history] == [
        (second.code, "exercise", "sms"),
        (first.code, "actual", "sms"),
    ]


def test_the_csv_report_opens_in_swedish_excel(
    engine: Engine, planned: tuple[NoticeRecord, dict[str, int]]
) -> None:
    record, ids = planned
    set_status(engine, ids["Ali"], "failed", "21610: opted out")
    with session_scope(engine) as session:
        data = report_csv(session, record.id)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 6
    by_name = {r["name"]: r for r in rows}
    assert by_name["Ali"]["address"] == "'+4670***01"  # masked, and not a formula
    assert (by_name["Ali"]["status"], by_name["Ali"]["error"]) == ("failed", "21610: opted out")
    assert "'=HYPERLINK(1)" in by_name  # a name Excel would run is defused
    assert by_name["Dana"]["channel"] == "none" and by_name["Dana"]["address"] == ""
    assert by_name["Anna"]["created_at"][:2] == "20"  # local time, no offset


def client_for(engine: Engine) -> TestClient:
    """The delivery routes, called with a key that may read reports."""
    app = FastAPI()
    app.include_router(router)

    def session_for_test() -> Iterator[Session]:
        with session_scope(engine) as session:
            yield session

    app.dependency_overrides[session_dependency] = session_for_test
    return TestClient(app, headers=bearer(api_key(engine, "reports:read")))


def events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """Parse a server-sent event stream (every event here has one data line)."""
    result = []
    for block in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in lines:
            result.append((lines["event"], json.loads(lines["data"])))
    return result


def test_the_api_serves_progress_not_reached_and_the_report(
    engine: Engine, planned: tuple[NoticeRecord, dict[str, int]]
) -> None:
    record, _ids = planned
    client = client_for(engine)
    body = client.get(f"/api/v1/notices/{record.code.lower()}/progress").json()
    assert (body["code"], body["total"], body["done"]) == (record.code, 6, False)
    assert body["overall"]["planned"] == 5 and body["by_channel"]["none"]["failed"] == 1
    assert body["possible_duplicates"] == 0
    assert [p["name"] for p in client.get(f"/api/v1/notices/{record.code}/not-reached").json()] == [
        "Dana"
    ]
    report = client.get(f"/api/v1/notices/{record.code}/report.csv")
    assert report.headers["content-type"] == "text/csv; charset=utf-8"
    assert report.content.startswith(b"\xef\xbb\xbfdelivery_id;name;channel")
    assert client.get("/api/v1/notices/NOSUCH/progress").status_code == 404


def test_the_stream_sends_progress_until_every_delivery_is_final(
    engine: Engine, planned: tuple[NoticeRecord, dict[str, int]]
) -> None:
    record, _ids = planned
    client = client_for(engine)
    # The workers finish while the stream is open: the stream reports it, then ends.
    got: list[tuple[str, dict[str, Any]]] = []
    with client.stream("GET", f"/api/v1/notices/{record.code}/progress/stream") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        block = ""
        for line in response.iter_lines():
            block += line + "\n"
            if line == "" and block.strip():
                got += events(block + "\n")
                block = ""
                if len(got) == 1:
                    finish_all(engine)
    assert [name for name, _ in got] == ["progress", "progress", "done"]
    assert got[0][1]["overall"]["planned"] == 5 and not got[0][1]["done"]
    assert got[1][1]["overall"]["delivered"] == 5 and got[1][1]["done"]
    # Already final: one progress event, then done.
    again = events(client.get(f"/api/v1/notices/{record.code}/progress/stream").text)
    assert [name for name, _ in again] == ["progress", "done"]


def test_the_pdf_report_is_tagged_and_lists_who_to_phone(
    engine: Engine, planned: tuple[NoticeRecord, dict[str, int]], tmp_path: Path
) -> None:
    record, ids = planned
    set_status(engine, ids["Ali"], "failed", "21610: the recipient opted out")
    response = client_for(engine).get(f"/api/v1/notices/{record.code}/report.pdf")
    assert response.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(response.content)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert "Tagged:          yes" in info.stdout
    assert f"Leveransrapport {record.code}" in info.stdout
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Ej nådda (2)" in text and "Ali" in text and "Dana" in text
    assert "21610" in text
    assert "Scenario: Störning på vård- och omsorgsboende (care_home_disruption)" in " ".join(
        text.split()
    )  # its name first, the id after it


def hand_over(engine: Engine, recipient_id: int, transport: str, status: str = "sent") -> None:
    """Record the recipient's delivery as handed to `transport`, as a worker would."""
    with session_scope(engine) as session:
        delivery = session.scalars(
            sa.select(Delivery).where(Delivery.recipient_id == recipient_id)
        ).one()
        assert delivery.address is not None
        provider_id = f"{transport}-{delivery.id}"
        message = OutgoingMessage(delivery.channel, delivery.address, "text", f"d{delivery.id}")
        record_sent(session, message, SendResult(transport, provider_id, "sent"))
        delivery.provider_id, delivery.status = provider_id, status


def pdf_text(engine: Engine, code: str, tmp_path: Path) -> str:
    """The report PDF's text, its whitespace made single spaces (lines wrap anywhere)."""
    response = client_for(engine).get(f"/api/v1/notices/{code}/report.pdf")
    assert response.status_code == 200
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(response.content)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert "Tagged:          yes" in info.stdout
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return " ".join(text.split())


REACHABLE = (
    person("Ali", phone="+46701000001", languages=["ar"], audiences=["other-languages"]),
    person("Anna", phone="+46701000002", audiences=["easy-read"]),
    person("Fia", phone="+46701000006", audiences=["relatives"]),
    person("Eva", email="eva@example.se", audiences=["relatives"]),  # e-mail only
)


@pytest.fixture
def reachable(
    engine: Engine, library: ContentLibrary, areas: AreaMap
) -> tuple[NoticeRecord, dict[str, int]]:
    """The care-home notice planned for four people who all have a channel."""
    ids = register(engine, *REACHABLE)
    record, notice = publish(engine, library, notice_raw())
    plan(engine, record, notice, library, areas)
    return record, ids


def test_the_pdf_report_says_sent_is_not_delivered_and_never_claims_everyone_was_reached(
    engine: Engine, reachable: tuple[NoticeRecord, dict[str, int]], tmp_path: Path
) -> None:
    record, ids = reachable
    for name in ("Ali", "Anna", "Fia"):
        hand_over(engine, ids[name], "twilio")
    hand_over(engine, ids["Eva"], "smtp")
    text = pdf_text(engine, record.code, tmp_path)
    assert "4 skickade, varav 0 bekräftat levererade (av 4 leveranser)" in text
    assert "alla har nåtts" not in text.lower()
    assert "Skickade, inte bekräftade: 4." in text and "Ej nådda (0)" in text
    assert "Ingen att ringa just nu." in text
    assert "Skickade men inte bekräftade: 4. Väntar eller skickas fortfarande: 0." in text
    assert "Utskicket är avslutat" in text
    # What "sent" means per channel: SMS receipts come from the operator; e-mail has none.
    assert "SMS via twilio: 3 lämnade till operatören." in text
    assert "e-post via smtp: 1 lämnade till e-postservern." in text
    assert "ger ingen leveransbekräftelse" in text
    # Swedish column names throughout; no English status words.
    for word in ("kanal", "språk", "målgrupp", "planerade", "skickas", "skickade"):
        assert f" {word} " in text, word
    for word in ("levererade", "misslyckade", "stoppade", "totalt"):
        assert f" {word} " in text, word
    english = {"planned", "sending", "sent", "delivered", "failed", "cancelled", "total"}
    assert english.isdisjoint(text.split())
    assert "arabiska (ar)" in text and "Lättläst" in text  # names, not codes

    for name in ("Ali", "Anna", "Fia", "Eva"):
        set_status(engine, ids[name], "delivered")
    text = pdf_text(engine, record.code, tmp_path)
    assert "4 skickade, varav 4 bekräftat levererade" in text
    assert "Alla 4 leveranser är bekräftat levererade." in text
    assert "Ingen att ringa: alla har nåtts." in text


def test_the_pdf_report_says_what_is_still_open_and_what_the_outbox_never_sent(
    engine: Engine, reachable: tuple[NoticeRecord, dict[str, int]], tmp_path: Path
) -> None:
    record, ids = reachable
    hand_over(engine, ids["Ali"], "outbox")
    hand_over(engine, ids["Anna"], "twilio", status="delivered")
    with session_scope(engine) as session:  # a worker took Anna's delivery over
        session.execute(
            sa.update(Delivery)
            .where(Delivery.recipient_id == ids["Anna"])
            .values(last_error=POSSIBLE_DUPLICATE)
        )
    set_status(engine, ids["Fia"], "sending")
    set_status(engine, ids["Eva"], "cancelled")
    text = pdf_text(engine, record.code, tmp_path)
    assert "2 skickade, varav 1 bekräftat levererad (av 4 leveranser)" in text
    assert "Utskicket pågår: 0 väntar på att skickas och 1 skickas just nu." in text
    assert "Provläge: 1 meddelande skrevs bara till utkorgen (var/outbox)" in text
    assert "SMS via utkorgen: 1 meddelande skrevs som filer och skickades inte till någon." in text
    assert "Stoppade: 1." in text and "alla har nåtts" not in text.lower()
    assert "Kan ha skickats två gånger: 1." in text
    assert (
        "Skickade men inte bekräftade: 1. Väntar eller skickas fortfarande: 1. Stoppade: 1." in text
    )
