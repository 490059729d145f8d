"""The administration pages through HTTP: forms, permissions, CSRF, and what they change.

One deployment (SQLite under a temporary var/) for the module; each test signs in afresh.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from service.accounts.models import ApiKey, User
from service.accounts.roles import Role
from service.audit.models import AuditEvent
from service.channels.base import OutgoingMessage
from service.channels.sms.outbox_transport import SmsOutboxTransport
from service.main import app
from service.recipients.models import RecipientRecord
from service.store.database import session_scope
from tests.accounts.support import PASSWORD, api_key, sign_in
from tests.web.staff_site import StaffSite, email_of, staff_site, summary

GOOD_CSV = (
    "\ufeffexternal_id;name;phone;email;languages;audiences;groups\n"
    "hr-1;Anna Andersson;070-174 06 05;;sv;easy-read;exercise-participants\n"
    "hr-2;Ahmed Ali;070-174 06 06;ahmed.ali@example.se;ar sv;general-public;\n"
).encode()
BAD_CSV = (
    b"name;phone;email;languages\nAnna;070-174 06 05;;sv\nBo;123;;xx\nCecilia;;inte-en-adress;sv\n"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaffSite]:
    with staff_site(tmp_path_factory.mktemp("admin")) as made:
        yield made


def test_pages_need_a_person_with_the_role_and_the_token(site: StaffSite) -> None:
    anonymous = TestClient(app)
    assert anonymous.get("/admin/users").status_code == 401
    page = anonymous.get("/admin/users", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.headers["location"] == "/login?next=%2Fadmin%2Fusers"
    author, _csrf = site.client(Role.author, app)
    assert author.get("/admin/users").status_code == 403
    assert author.get("/admin/recipients").status_code == 403
    assert author.get("/admin/content").status_code == 200  # reading content is for everyone
    viewer, _csrf = site.client(Role.viewer, app)
    assert viewer.get("/exercises/schedules").status_code == 200  # viewers read reports
    assert viewer.get("/exercises/schedules/new").status_code == 403  # and do not schedule
    admin, _csrf = site.client(Role.admin, app)
    refused = admin.post("/admin/users", data={"email": "x@example.se", "roles": "viewer"})
    assert refused.status_code == 403 and "CSRF" in refused.text
    with session_scope(site.engine) as session:
        assert session.scalar(sa.select(User).where(User.email == "x@example.se")) is None
    upload = admin.post(
        "/admin/recipients/import",
        data={"mode": "import"},
        files={"file": ("r.csv", GOOD_CSV, "text/csv")},
    )
    assert upload.status_code == 403  # a file upload needs the token too
    page = admin.get("/admin/users")
    assert page.headers["cache-control"] == "no-store"
    assert "style-src 'self' 'sha256-" in page.headers["content-security-policy"]


def test_an_admin_adds_a_user_fixing_errors_changes_roles_and_disables_them(
    site: StaffSite,
) -> None:
    admin, csrf = site.client(Role.admin, app)
    wrong = admin.post(
        "/admin/users", data={"csrf_token": csrf, "email": "nej", "password": "kort"}
    )
    assert wrong.status_code == 400
    assert summary(wrong.text) == [
        "Skriv en e-postadress som namn@kommun.se",
        "Välj minst en roll",
        "Lösenordet är kortare än 12 tecken",
    ]
    assert 'id="email" name="email" value="nej"' in wrong.text
    assert 'aria-invalid="true" aria-describedby="email-error"' in wrong.text
    english = admin.post(
        "/admin/users?lang=en", data={"csrf_token": csrf, "email": email_of(Role.admin)}
    )
    assert summary(english.text) == [
        "A user with this e-mail address already exists",
        "Choose at least one role",
    ]
    admin.get("/admin/users?lang=sv")  # back to Swedish: the choice is kept, like on every page
    added = admin.post(
        "/admin/users",
        data={
            "csrf_token": csrf,
            "email": "Ny@Example.se",
            "roles": ["author", "viewer"],
            "password": PASSWORD,
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    assert "Användaren ny@example.se lades till." in admin.get(added.headers["location"]).text
    person = TestClient(app)
    sign_in(person, "ny@example.se")
    with session_scope(site.engine) as session:
        user_id = session.scalars(sa.select(User.id).where(User.email == "ny@example.se")).one()
    roles = admin.post(
        f"/admin/users/{user_id}/roles", data={"csrf_token": csrf, "roles": "approver"}
    )
    assert "Rollerna ändrades." in roles.text
    admin.post(f"/admin/users/{user_id}/disabled", data={"csrf_token": csrf, "disabled": "1"})
    assert person.get("/account").status_code == 401  # signed out everywhere at once
    with session_scope(site.engine) as session:
        actions = session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.subject_id == "ny@example.se")
        ).all()
    assert actions == ["user.created", "login.succeeded", "user.roles_changed", "user.disabled"]


def test_a_key_is_shown_once_works_as_a_bearer_key_and_is_refused_when_revoked(
    site: StaffSite,
) -> None:
    admin, csrf = site.client(Role.admin, app)
    missing = admin.post("/admin/keys", data={"csrf_token": csrf, "days": "0"})
    assert summary(missing.text) == [
        "Skriv ett namn på nyckeln, till exempel systemet som använder den",
        "Välj minst en behörighet",
        "Skriv antalet dagar som ett heltal från 1 till 3650, eller lämna fältet tomt",
    ]
    made = admin.post(
        "/admin/keys",
        data={
            "csrf_token": csrf,
            "name": "Larmcentralen",
            "scopes": ["notices:read"],
            "days": "30",
        },
    )
    secret = re.search(r'<p class="secret" id="new-key">(kv_live_[^<]+)</p>', made.text)
    assert made.status_code == 200 and secret
    key = secret.group(1)
    listing = admin.get("/admin/keys").text
    assert key not in listing and key[:16] in listing  # the prefix, never the key again
    me = TestClient(app).get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 200 and me.json()["scopes"] == ["notices:read"]
    listing = admin.get("/admin/keys").text
    assert "(testclient)" in listing  # the last use, and from where
    with session_scope(site.engine) as session:
        stored = session.scalars(sa.select(ApiKey).where(ApiKey.prefix == key[:16])).one()
        key_id, last_used = stored.id, stored.last_used_at
    assert last_used is not None
    revoked = admin.post(
        f"/admin/keys/{key_id}/revoke", data={"csrf_token": csrf}, follow_redirects=True
    )
    assert f"Nyckeln {key[:16]} är återkallad." in revoked.text
    refused = TestClient(app).get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 401


def test_a_csv_import_is_checked_line_by_line_then_imported_edited_and_forgotten(
    site: StaffSite,
) -> None:
    admin, csrf = site.client(Role.admin, app)
    bad = admin.post(
        "/admin/recipients/import",
        data={"csrf_token": csrf, "mode": "import"},
        files={"file": ("r.csv", BAD_CSV, "text/csv")},
    )
    assert bad.status_code == 400
    assert summary(bad.text) == [
        "Rad 3: phone '123' is not a valid number; unknown language 'xx'",
        "Rad 4: e-mail 'inte-en-adress' is not an e-mail address",
    ]
    assert "2 rader är fel. Ingenting importerades" in bad.text
    checked = admin.post(
        "/admin/recipients/import",
        data={"csrf_token": csrf},
        files={"file": ("r.csv", GOOD_CSV, "text/csv")},
    )
    assert checked.status_code == 200 and "2 mottagare skulle skapas" in checked.text
    with session_scope(site.engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(RecipientRecord)) == 0
    done = admin.post(
        "/admin/recipients/import",
        data={"csrf_token": csrf, "mode": "import"},
        files={"file": ("r.csv", GOOD_CSV, "text/csv")},
    )
    assert "Importen är klar" in done.text and "2 mottagare skapade" in done.text
    found = admin.get("/admin/recipients", params={"q": "0701740606"}).text
    assert "1 mottagare matchar." in found and "Ahmed Ali" in found
    group = admin.get("/admin/recipients", params={"group": "exercise-participants"}).text
    assert "Anna Andersson" in group and "Ahmed Ali" not in group
    recipient_id = int(re.search(r'href="/admin/recipients/(\d+)"', group).group(1))  # type: ignore[union-attr]
    page = f"/admin/recipients/{recipient_id}"
    wrong = admin.post(
        page, data={"csrf_token": csrf, "name": "", "phone": "12", "languages": "xx"}
    )
    assert summary(wrong.text) == [  # every problem at once, in the API's words
        "name: is empty",
        "phone: phone '12' is not a valid number",
        "languages.0: unknown language 'xx'",
    ]
    assert 'href="#languages"' in wrong.text
    saved = admin.post(
        page,
        data={
            "csrf_token": csrf,
            "name": "Anna Berg",
            "phone": "070-174 06 05",
            "languages": "sv fi",
            "audiences": "easy-read",
            "groups": "exercise-participants",
            "active": "yes",
        },
    )
    assert "Ändringarna sparades." in saved.text and "sv, fi" in saved.text
    data = admin.get(f"{page}/export.json").json()
    assert data["recipient"]["name"] == "Anna Berg" and data["deliveries"] == []
    assert admin.post(f"{page}/forget", data={"csrf_token": csrf}).status_code == 200
    with session_scope(site.engine) as session:
        assert session.get(RecipientRecord, recipient_id) is None
        actions = session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.subject_id == str(recipient_id))
        ).all()
    assert actions == ["recipient.updated", "recipient.exported", "recipient.forgotten"]


def test_the_audit_log_filters_and_the_outbox_page_shows_what_would_have_been_sent(
    site: StaffSite,
) -> None:
    admin, _csrf = site.client(Role.admin, app)
    api_key(site.engine, "notices:read", name="for the audit log")
    keys = admin.get("/admin/audit", params={"action": "key", "since": "1d"}).text
    assert "key.created" in keys and "user.created" not in keys
    wrong = admin.get("/admin/audit", params={"since": "i går"})
    assert wrong.status_code == 400 and summary(wrong.text) == [
        "Skriv en tid som 30m, 12h, 7d eller ett datum som 2026-11-23"
    ]
    sms = OutgoingMessage(
        channel="sms",
        to="+46701740605",
        text="ÖVNING: Vi provar.",
        language="sv",
        reference="test-1",
    )
    asyncio.run(SmsOutboxTransport(site.var_dir / "outbox").send(sms))
    outbox = admin.get("/admin/outbox").text
    assert "1 meddelande i utkorgen." in outbox
    assert "+46701740605" in outbox and "ÖVNING: Vi provar." in outbox and "GSM-7, 1 del" in outbox
    # When it was written, in Swedish local time (not the file's UTC stamp).
    written = re.search(r"<dt>Skrivet</dt><dd>([^<]+)</dd>", outbox)
    assert written is not None and "T" not in written.group(1), outbox[:2000]
    assert re.search(r"\d{1,2} \w+\.? \d{4}", written.group(1)), written.group(1)
    content = admin.get("/admin/content?lang=en").text
    assert (
        "water_outage" in content and "easy_read.sms" in content and "Audience profiles" in content
    )


def test_the_notices_and_the_administration_pages_link_to_each_other(site: StaffSite) -> None:
    """Each of the two navigations leads to the other, so nobody is stranded on one side."""
    admin, _csrf = site.client(Role.admin, app)
    assert 'href="/admin/users"' in admin.get("/notices").text
    for role in (Role.admin, Role.author):
        client, _csrf = site.client(role, app)
        content = client.get("/admin/content")
        assert content.status_code == 200
        assert 'href="/notices' in content.text and "Meddelanden" in content.text, role
