"""Approving with failed checks: the page lists them, and an unticked box brings the form back."""

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
from tests.web.notices.test_phrasebook import TEXT
from tests.web.staff_site import email_of, staff_site


def test_failed_checks_are_listed_and_an_unticked_box_returns_to_the_form(tmp_path: Path) -> None:
    raw = json.loads((ROOT / "demo" / "notices" / "water_outage_skultuna.json").read_text())
    raw["note"] = {"sv": TEXT}  # long sentences and formal words: checks fail
    with staff_site(tmp_path) as staff:
        author = Actor(email_of(Role.author), "web")
        with session_scope(staff.engine) as session:
            code = create_draft(session, raw, get_library(), author, complete=True).code
        client, csrf = staff.client(Role.approver, app)

        page = client.get(f"/notices/{code}/approve").text
        assert "Kontroller som inte klarades" in page
        listed = page[
            page.index('id="failed-checks"') : page.index("</ul>", page.index('id="failed-checks"'))
        ]
        assert "svenska" in listed and f"/notices/{code}/preview?audience=" in listed
        assert "over the audience" not in listed  # the reasons are said in Swedish

        refused = client.post(
            f"/notices/{code}/approve", data={"csrf_token": csrf}, follow_redirects=False
        )
        assert refused.status_code == 400
        assert "<title>Fel:" in refused.text and 'href="#accept_failed_checks"' in refused.text
        assert 'aria-invalid="true"' in refused.text
        with session_scope(staff.engine) as session:
            record = session.query(NoticeRecord).filter_by(code=code).one()
            assert record.status == NoticeState.draft  # nothing approved

        approved = client.post(
            f"/notices/{code}/approve",
            data={"csrf_token": csrf, "accept_failed_checks": "yes"},
            follow_redirects=False,
        )
        assert approved.status_code == 303 and approved.headers["location"].endswith("/send")
