"""CAP and the feeds over HTTP: export every demo notice, import SMHI and hostile samples, 304s."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import sqlalchemy as sa
import xmlschema
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.content import ContentLibrary
from service.interop.models import CapImport
from service.main import app
from service.notices.models import NoticeRecord
from service.notices.publish import find_by_code
from service.store.database import get_engine, session_scope
from tests.accounts.support import api_key, bearer
from tests.conftest import SAMPLE_NOTICES, load_json
from tests.interop.conftest import CAP, CAP_DATA, publish, sample

CAP_TYPE = {"Content-Type": "application/cap+xml"}
MSG_TYPE = {"alert": "Alert", "update": "Update", "all_clear": "Update", "cancel": "Cancel"}


@pytest.fixture
def client(var_dir: Path) -> Iterator[TestClient]:
    yield TestClient(app)


def key(*scopes: str, test: bool = False) -> dict[str, str]:
    return bearer(api_key(get_engine(), *scopes, test=test))


@pytest.mark.parametrize("path", sorted(SAMPLE_NOTICES.glob("*.json")), ids=lambda p: p.stem)
def test_every_demo_notice_in_every_mode_and_type_exports_valid_cap_through_the_route(
    path: Path,
    client: TestClient,
    session: Session,
    library: ContentLibrary,
    xsd: xmlschema.XMLSchema,
) -> None:
    reader = key("notices:read")
    example = load_json(path)
    for mode, status in (("actual", "Actual"), ("exercise", "Exercise"), ("test", "Test")):
        first = publish(session, {**example, "mode": mode, "message_type": "alert"}, library)
        records = [first]
        for kind in ("update", "all_clear", "cancel"):
            raw = {**example, "mode": mode, "message_type": kind, "references": first.code}
            records.append(publish(session, raw, library))
        session.commit()  # the route reads in its own session
        for record in records:
            got = client.get(f"/api/v1/notices/{record.code}/cap.xml", headers=reader)
            assert got.status_code == 200, got.text
            assert got.headers["content-type"] == "application/cap+xml"
            root = ET.fromstring(got.content)
            xsd.validate(root)
            assert root.findtext(CAP + "status") == status
            assert root.findtext(CAP + "msgType") == MSG_TYPE[record.message_type]
            # The public copy the feeds link to is the same alert.
            assert client.get(f"/feeds/cap/{record.code}.xml").content == got.content


def test_a_draft_has_no_cap_alert_and_a_test_key_sees_no_actual_one(
    client: TestClient, session: Session, library: ContentLibrary
) -> None:
    water = load_json(SAMPLE_NOTICES / "water_outage_skultuna.json")
    sent = publish(session, water, library)
    session.add(
        NoticeRecord(
            code="DRAFT2", scenario="water_outage", message_type="alert", mode="actual",
            status="draft", payload=water, created_by="test",
        )
    )  # fmt: skip
    session.commit()
    draft = client.get("/api/v1/notices/DRAFT2/cap.xml", headers=key("notices:read"))
    assert draft.status_code == 404
    assert draft.headers["content-type"] == "application/problem+json"
    assert "only a sent notice has a CAP alert" in draft.json()["detail"]
    assert client.get("/feeds/cap/DRAFT2.xml").status_code == 404
    refused = client.get(
        f"/api/v1/notices/{sent.code}/cap.xml", headers=key("notices:read", test=True)
    )
    assert refused.status_code == 403


def _post(client: TestClient, data: bytes, headers: dict[str, str]) -> Any:
    return client.post("/api/v1/cap", content=data, headers={**headers, **CAP_TYPE})


def test_an_smhi_warning_becomes_a_draft_once_and_its_update_follows_it(
    client: TestClient, var_dir: Path
) -> None:
    writer = key("notices:write")
    first = _post(client, sample("smhi-wind-orange.xml"), writer)
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["repeat"], body["scenario"], body["notice_status"]) == (False, "storm", "draft")
    assert first.headers["location"] == f"/api/v1/notices/{body['notice_code']}"
    again = _post(client, sample("smhi-wind-orange.xml"), writer)
    assert again.status_code == 200
    assert again.json()["repeat"] is True
    assert again.json()["notice_code"] == body["notice_code"]
    update = _post(client, sample("smhi-wind-red-update.xml"), writer)
    assert update.status_code == 201, update.text
    assert update.json()["references_import_id"] == body["import_id"]
    with session_scope() as session:
        drafts = session.scalars(sa.select(NoticeRecord).order_by(NoticeRecord.id)).all()
        assert [(d.status, d.source) for d in drafts] == [("draft", "cap"), ("draft", "cap")]
        assert drafts[1].references_id == drafts[0].id  # the update is in the alert's thread
        original = session.scalars(sa.select(CapImport).order_by(CapImport.id)).first()
        assert original is not None and original.original_xml == sample("smhi-wind-orange.xml")
        assert find_by_code(session, body["notice_code"]) is not None
    changed = sample("smhi-wind-orange.xml").replace(b"Orange varning", b"Orange VARNING")
    conflict = _post(client, changed, writer)
    assert conflict.status_code == 409
    assert conflict.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("name", "says"),
    [("billion-laughs.xml", "entity expansion"), ("external-entity.xml", "external entity")],
)
def test_hostile_xml_is_refused_with_a_problem(client: TestClient, name: str, says: str) -> None:
    got = _post(client, (CAP_DATA / "hostile" / name).read_bytes(), key("notices:write"))
    assert got.status_code == 400
    assert got.headers["content-type"] == "application/problem+json"
    assert says in got.json()["detail"]
    with session_scope() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(CapImport)) == 0


def test_cap_posts_are_refused_when_too_large_not_xml_or_invalid(client: TestClient) -> None:
    writer = key("notices:write")
    large = _post(client, b"<alert>" + b" " * (600 * 1024) + b"</alert>", writer)
    assert large.status_code == 413
    assert large.headers["content-type"] == "application/problem+json"
    typed = client.post(
        "/api/v1/cap",
        content=sample("smhi-wind-orange.xml"),
        headers={**writer, "Content-Type": "application/json"},
    )
    assert typed.status_code == 415
    invalid = _post(client, b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>', writer)
    assert invalid.status_code == 422
    assert invalid.json()["problems"]
    test_key = _post(client, sample("smhi-wind-orange.xml"), key("notices:write", test=True))
    assert test_key.status_code == 403  # an actual warning: not for a test key


def test_feeds_answer_304_to_their_etag_and_date(
    client: TestClient, session: Session, library: ContentLibrary
) -> None:
    water = load_json(SAMPLE_NOTICES / "water_outage_skultuna.json")
    sent = publish(session, water, library)
    session.commit()
    feed = client.get("/feeds/alerts.atom")
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("application/atom+xml")
    assert "public" in feed.headers["cache-control"]
    assert f"/feeds/cap/{sent.code}.xml" in feed.text
    etag, modified = feed.headers["etag"], feed.headers["last-modified"]
    assert client.get("/feeds/alerts.atom", headers={"If-None-Match": etag}).status_code == 304
    since = client.get("/feeds/alerts.atom", headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    assert since.headers["etag"] == etag
    other = client.get("/feeds/alerts.atom", headers={"If-None-Match": '"other"'})
    assert other.status_code == 200
    english = client.get("/feeds/alerts.atom?lang=en")
    assert english.status_code == 200 and english.headers["etag"] != etag
    assert sent.code not in client.get("/feeds/exercises.atom").text
    assert client.get("/feeds/alerts.atom?lang=xx").status_code == 404
    assert client.get("/feeds/other.atom").status_code == 422
