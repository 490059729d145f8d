"""The webhook administration pages over HTTP and in Chromium: who may open them, what they
show, stopping one.

One deployment (SQLite under a temporary var/) for the module. Subscriptions, events and
delivery attempts are made with the service's own functions (create_subscription, emit, and the
sender's claim and record, with the results a receiver's answers give).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from service.accounts.models import ApiKey
from service.accounts.roles import Role
from service.accounts.sessions import SESSION_COOKIE
from service.audit.models import AuditEvent
from service.clock import FrozenClock
from service.config import get_settings
from service.main import app
from service.store.database import session_scope
from service.webhooks.events import emit
from service.webhooks.models import WebhookDelivery, WebhookStatus, WebhookSubscription
from service.webhooks.overview import safe_url
from service.webhooks.sender import Result, claim, record
from service.webhooks.service import Owner, create_subscription
from tests.accessibility import WCAG_TAGS, chromium, describe
from tests.accounts.support import api_key
from tests.fakes import ServerThread
from tests.web.staff_site import StaffSite, email_of, staff_site

TOKEN = "tok-9f8e7d6c5b4a"
URL = f"https://8.8.8.8/klarvarsel/hook?token={TOKEN}#part"
HTML = {"Accept": "text/html"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaffSite]:
    with staff_site(tmp_path_factory.mktemp("webhook-pages")) as made:
        yield made


@dataclass(frozen=True)
class Made:
    """A subscription of the key "Larmcentralen" and what only its owner may ever see."""

    id: int
    secret: str
    sealed: str
    prefix: str


def _event(site: StaffSite, event_type: str) -> None:
    with session_scope(site.engine) as session:
        emit(session, event_type, {"code": "VMA-1"}, mode="exercise")


def _attempt(site: StaffSite, result: Result) -> None:
    """The sender claims what is due and records this answer for each claimed delivery."""
    settings = get_settings()
    with session_scope(site.engine) as session:
        for job in claim(session, "test-sender", settings):
            record(session, "test-sender", job, result, settings)


def _subscribe(site: StaffSite) -> Made:
    key = api_key(site.engine, "notices:read", "reports:read", name="Larmcentralen")
    with session_scope(site.engine) as session:
        found = next(k for k in session.scalars(sa.select(ApiKey)) if key.startswith(k.prefix))
        owner = Owner(f"key:{found.prefix}", found.id, False, True, "api 127.0.0.1")
        subscription, secret = create_subscription(
            session, owner, get_settings(), url=URL, events=["notice.*"]
        )
        return Made(subscription.id, secret, subscription.secret, found.prefix)


def _with_deliveries(site: StaffSite, clock: FrozenClock) -> Made:
    """8 days ago one delivered (outside the week); now one delivered, one failed, one queued."""
    made = _subscribe(site)
    now = clock.now()
    clock.set(now - timedelta(days=8))
    _event(site, "notice.submitted")
    _attempt(site, Result(200, None, 10))
    clock.set(now)
    _event(site, "notice.approved")
    _attempt(site, Result(204, None, 12))
    _event(site, "notice.scheduled")
    _attempt(site, Result(410, "HTTP 410: the receiver is gone", 30, permanent=True))
    _event(site, "notice.sent")  # queued, not yet attempted
    return made


def _stop_all(site: StaffSite) -> None:
    """Each test starts from no active subscription (they share the module's database)."""
    with session_scope(site.engine) as session:
        session.execute(sa.update(WebhookSubscription).values(active=False))


def test_only_admins_see_the_pages_and_an_empty_list_says_so(site: StaffSite) -> None:
    _stop_all(site)
    approver, csrf = site.client(Role.approver, app)
    refused = approver.get("/admin/webhooks", headers=HTML)
    assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
    assert approver.get("/admin/webhooks/1", headers=HTML).status_code == 403
    stopped = approver.post("/admin/webhooks/1/remove", data={"csrf_token": csrf})
    assert stopped.status_code == 403
    admin, _csrf = site.client(Role.admin, app)
    page = admin.get("/admin/webhooks")
    assert page.status_code == 200
    assert "Inget system prenumererar på händelser." in page.text
    assert 'href="/admin/webhooks" aria-current="page"' in page.text
    english = admin.get("/admin/webhooks?lang=en").text
    assert "No system subscribes to events." in english


def test_the_list_shows_owner_address_and_the_weeks_deliveries(
    site: StaffSite, frozen_clock: FrozenClock
) -> None:
    _stop_all(site)
    made = _with_deliveries(site, frozen_clock)
    admin, _csrf = site.client(Role.admin, app)
    page = admin.get("/admin/webhooks?lang=en")
    assert page.status_code == 200
    assert "1 active subscription" in page.text
    row = page.text.split(f'href="/admin/webhooks/{made.id}?lang=en"', 1)[1].split("</tr>", 1)[0]
    assert f"Larmcentralen (<code>{made.prefix}</code>)" in row
    assert "<code>https://8.8.8.8/klarvarsel/hook</code> (query hidden)" in row
    assert "notice.*" in row
    # The delivery eight days ago is outside the week; the last attempt was the refusal.
    assert "delivered: 1<br>waiting: 1<br>failed: 1" in row
    assert 'failed (HTTP 410): <span lang="en">HTTP 410: the receiver is gone</span>' in row
    swedish = admin.get("/admin/webhooks?lang=sv").text
    assert "levererade: 1<br>väntar: 1<br>misslyckade: 1" in swedish
    assert "(frågedelen dold)" in swedish
    for text in (page.text, swedish, admin.get(f"/admin/webhooks/{made.id}").text):
        assert TOKEN not in text and "#part" not in text
        assert made.secret not in text and made.sealed not in text and "whsec_" not in text


def test_the_log_lists_every_delivery_newest_first(
    site: StaffSite, frozen_clock: FrozenClock
) -> None:
    made = _with_deliveries(site, frozen_clock)
    admin, _csrf = site.client(Role.admin, app)
    page = admin.get(f"/admin/webhooks/{made.id}?lang=en")
    assert page.status_code == 200
    assert f"<h1>Subscription {made.id}</h1>" in page.text
    assert "4 deliveries, newest first" in page.text
    order = [page.text.index(f"<code>{t}</code>") for t in ("notice.sent", "notice.scheduled")]
    assert order == sorted(order)  # newest first
    order = [page.text.index(f"<code>{t}</code>") for t in ("notice.approved", "notice.submitted")]
    assert order == sorted(order)
    assert '<span lang="en">HTTP 410: the receiver is gone</span>' in page.text
    assert "(HTTP 410)" in page.text and "(HTTP 204)" in page.text
    swedish = admin.get(f"/admin/webhooks/{made.id}?lang=sv").text
    assert "4 leveranser, de senaste först" in swedish and "väntar" in swedish


def test_stopping_needs_the_token_then_drops_the_queue_and_names_the_admin(
    site: StaffSite, frozen_clock: FrozenClock
) -> None:
    made = _with_deliveries(site, frozen_clock)
    admin, csrf = site.client(Role.admin, app)
    refused = admin.post(f"/admin/webhooks/{made.id}/remove", follow_redirects=False)
    assert refused.status_code == 403 and "CSRF" in refused.text
    with session_scope(site.engine) as session:
        assert session.get(WebhookSubscription, made.id).active  # type: ignore[union-attr]
    stopped = admin.post(
        f"/admin/webhooks/{made.id}/remove?lang=en",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert stopped.status_code == 303
    assert stopped.headers["location"] == f"/admin/webhooks?done=removed&who={made.id}&lang=en"
    banner = admin.get(stopped.headers["location"]).text
    assert f"The subscription {made.id} was stopped." in banner
    with session_scope(site.engine) as session:
        subscription = session.get(WebhookSubscription, made.id)
        assert subscription is not None and not subscription.active
        assert subscription.removed_at is not None
        statuses = session.scalars(
            sa.select(WebhookDelivery.status).where(WebhookDelivery.subscription_id == made.id)
        ).all()
        assert WebhookStatus.pending.value not in statuses
        assert sorted(statuses) == ["delivered", "delivered", "failed", "failed"]
        event = session.scalars(
            sa.select(AuditEvent).where(
                AuditEvent.action == "webhook.unsubscribed",
                AuditEvent.subject_id == str(made.id),
            )
        ).one()
        assert event.actor == email_of(Role.admin)
        assert event.source.startswith("web ")
        assert event.details == {"owner": f"key:{made.prefix}"}
    assert f"/admin/webhooks/{made.id}?" not in admin.get("/admin/webhooks?lang=en").text


def test_an_unknown_or_stopped_subscription_is_a_404_page(
    site: StaffSite, frozen_clock: FrozenClock
) -> None:
    admin, csrf = site.client(Role.admin, app)
    missing = admin.get("/admin/webhooks/999999", headers=HTML)
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    made = _subscribe(site)
    gone = admin.post(f"/admin/webhooks/{made.id}/remove", data={"csrf_token": csrf})
    assert gone.status_code == 200  # followed to the list
    assert admin.get(f"/admin/webhooks/{made.id}", headers=HTML).status_code == 404
    again = admin.post(f"/admin/webhooks/{made.id}/remove", data={"csrf_token": csrf})
    assert again.status_code == 404
    assert admin.get("/admin/webhooks/99999999999", headers=HTML).status_code == 422


def test_a_shown_address_keeps_what_identifies_the_receiver_and_nothing_that_may_be_secret() -> (
    None
):
    assert safe_url("https://larm.example.se:8443/hook?x=1") == safe_url(
        "https://larm.example.se:8443/hook#frag"
    )
    assert safe_url("https://larm.example.se:8443/hook?x=1").text == (
        "https://larm.example.se:8443/hook"
    )
    assert safe_url("https://user:pass@larm.example.se/hook").text == "https://larm.example.se/hook"
    assert safe_url("https://[2001:db8::1]/a?").cut
    plain = safe_url("https://larm.example.se/hook")
    assert plain.text == "https://larm.example.se/hook" and not plain.cut


def test_an_admin_stops_a_subscription_in_the_browser_without_javascript(
    site: StaffSite, frozen_clock: FrozenClock
) -> None:
    made = _with_deliveries(site, frozen_clock)
    cookie, _csrf = site.session_cookie(Role.admin)
    with ServerThread(app) as server, chromium() as browser:
        context = browser.new_context(
            java_script_enabled=False, viewport={"width": 320, "height": 800}
        )
        context.set_default_timeout(90_000)  # a machine shared with other test runs can be slow
        context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": server.url}])
        page = context.new_page()
        page.goto(server.url + "/admin/webhooks?lang=sv")
        page.click(f"a[href='/admin/webhooks/{made.id}']")
        expect(page.locator("h1")).to_have_text(f"Prenumeration {made.id}")
        page.click("text=Stoppa prenumerationen >> nth=-1")
        expect(page.locator("main")).to_contain_text(f"Prenumeration {made.id} är stoppad.")
        assert page.url.endswith(f"/admin/webhooks?done=removed&who={made.id}")
        checker = browser.new_context().new_page()  # axe needs scripts; the page had none
        checker.set_content(
            page.content().replace("<head>", f'<head><base href="{server.url}/">', 1)
        )
        found = (
            Axe()
            .run(checker, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
            .response["violations"]
        )
        assert found == [], describe(found)
    with session_scope(site.engine) as session:
        assert not session.get(WebhookSubscription, made.id).active  # type: ignore[union-attr]
