"""Discarding a draft asks first: the button sits beside "ask for approval"."""

from __future__ import annotations

import json
from pathlib import Path

from service.accounts.roles import Role
from service.content import get_library
from service.main import app
from service.notices.models import NoticeRecord, NoticeState
from service.store.database import session_scope
from service.workflow.drafts import create_draft
from service.workflow.schemas import Actor
from tests.conftest import ROOT
from tests.web.staff_site import email_of, staff_site


def test_discard_asks_first_and_only_a_yes_discards(tmp_path: Path) -> None:
    raw = json.loads((ROOT / "demo" / "notices" / "water_outage_skultuna.json").read_text())
    with staff_site(tmp_path) as staff:
        author = Actor(email_of(Role.author), "web")
        with session_scope(staff.engine) as session:
            code = create_draft(session, raw, get_library(), author, complete=True).code
        client, csrf = staff.client(Role.author, app)

        def status() -> str:
            with session_scope(staff.engine) as session:
                record = session.query(NoticeRecord).filter_by(code=code).one()
                return str(record.status)

        asked = client.post(
            f"/notices/{code}/discard", data={"csrf_token": csrf}, follow_redirects=False
        )
        assert asked.status_code == 200
        assert (
            f"Släng meddelandet {code}?" in asked.text
            and 'name="confirm" value="yes"' in asked.text
        )
        assert f'href="/notices/{code}"' in asked.text  # "Nej, behåll det"
        assert status() == NoticeState.draft  # nothing happened yet

        done = client.post(
            f"/notices/{code}/discard",
            data={"csrf_token": csrf, "confirm": "yes"},
            follow_redirects=False,
        )
        assert done.status_code == 303 and done.headers["location"].endswith("?done=discarded")
        assert status() == NoticeState.cancelled
        again = client.post(
            f"/notices/{code}/discard",
            data={"csrf_token": csrf, "confirm": "yes"},
            follow_redirects=False,
        )
        assert again.headers["location"].endswith("?done=not-discarded")
