from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from sqlalchemy.orm import Session

from service.clock import FrozenClock
from service.config import Settings
from service.content import ContentLibrary
from service.interop.export import export_record
from service.interop.feeds import Feed, FeedKind, build_feed
from tests.conftest import ROOT, TEST_NOW, load_json
from tests.interop.conftest import CAP, publish

ATOM = "{http://www.w3.org/2005/Atom}"
LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def example(scenario: str, **changes: Any) -> dict[str, Any]:
    return {**load_json(ROOT / "message_templates" / scenario / "example.json"), **changes}


def feed(
    session: Session, kind: FeedKind, library: ContentLibrary, settings: Settings, lang: str = "sv"
) -> tuple[Feed, ET.Element]:
    built = build_feed(session, kind, library, settings, language=lang)
    return built, ET.fromstring(built.body)


def entry_codes(root: ET.Element) -> list[str]:
    # The entry id is the alert's public address, /feeds/cap/{code}.xml.
    ids = [e.findtext(ATOM + "id", "") for e in root.iter(ATOM + "entry")]
    return [i.rsplit("/", 1)[-1].removesuffix(".xml") for i in ids]


def test_real_alerts_and_exercises_are_in_separate_feeds(
    session: Session, library: ContentLibrary, settings: Settings
) -> None:
    storm = publish(session, example("storm"), library)
    drill = publish(session, example("heat_wave", mode="exercise"), library)
    test = publish(session, example("water_outage", mode="test"), library)
    _, alerts = feed(session, FeedKind.alerts, library, settings)
    _, exercises = feed(session, FeedKind.exercises, library, settings)
    assert entry_codes(alerts) == [storm.code]
    assert sorted(entry_codes(exercises)) == sorted([drill.code, test.code])
    assert alerts.findtext(ATOM + "title") == "Västerås stad"
    assert exercises.findtext(ATOM + "title") == "Västerås stad: ÖVNING"


def test_an_entry_links_its_cap_alert_and_its_page_in_the_feeds_language(
    session: Session, library: ContentLibrary, settings: Settings
) -> None:
    storm = publish(session, example("storm"), library)
    _, root = feed(session, FeedKind.alerts, library, settings, lang="ar")
    assert root.get(LANG) == "ar"
    entry = root.find(ATOM + "entry")
    assert entry is not None and entry.get(LANG) == "ar"
    links = {(link.get("type"), link.get("href")) for link in entry.iter(ATOM + "link")}
    assert links == {
        ("application/cap+xml", f"http://127.0.0.1:8000/feeds/cap/{storm.code}.xml"),
        ("text/html", f"http://127.0.0.1:8000/n/{storm.code}?lang=ar"),
    }
    # The entry says what the alert's Arabic <info> says.
    alert = ET.fromstring(export_record(session, storm, library, settings).xml)
    arabic = next(i for i in alert.iter(CAP + "info") if i.findtext(CAP + "language") == "ar")
    assert entry.findtext(ATOM + "title") == arabic.findtext(CAP + "headline")
    assert entry.findtext(ATOM + "summary") == arabic.findtext(CAP + "description")
    assert entry.findtext(ATOM + "updated") == "2026-11-23T08:00:00+01:00"


def test_an_untranslated_notice_appears_in_swedish_marked_as_swedish(
    session: Session, library: ContentLibrary, settings: Settings
) -> None:
    general = example("general")
    for name in ("headline", "message", "sms"):
        general["fields"][name] = {"sv": general["fields"][name]["sv"]}  # Swedish only
    publish(session, general, library)
    _, root = feed(session, FeedKind.alerts, library, settings, lang="ar")
    entry = root.find(ATOM + "entry")
    assert entry is not None and entry.get(LANG) == "sv-SE"
    assert entry.findtext(ATOM + "title") == "Stängd bro över Svartån"


def test_all_clear_cancel_and_expiry_take_a_thread_out_of_the_feed(
    session: Session, library: ContentLibrary, settings: Settings, frozen_clock: FrozenClock
) -> None:
    storm = publish(session, example("storm"), library)
    heat = publish(session, example("heat_wave"), library)
    expiring = example("water_outage", expires_at="2026-11-23T12:00:00+01:00")
    water = publish(session, expiring, library)
    general = publish(session, example("general"), library)
    _, root = feed(session, FeedKind.alerts, library, settings)
    assert len(entry_codes(root)) == 4
    frozen_clock.advance(timedelta(hours=1))
    update = publish(
        session,
        example("storm", message_type="update", references=storm.code, severity="extreme"),
        library,
    )
    publish(session, example("heat_wave", message_type="all_clear", references=heat.code), library)
    _, root = feed(session, FeedKind.alerts, library, settings)
    # The thread's latest message stands for it; the all-cleared heat wave is gone.
    assert sorted(entry_codes(root)) == sorted([update.code, water.code, general.code])
    frozen_clock.advance(timedelta(hours=4))  # 13.00: the water outage expired at 12.00
    _, root = feed(session, FeedKind.alerts, library, settings)
    assert sorted(entry_codes(root)) == sorted([update.code, general.code])
    publish(session, example("storm", message_type="cancel", references=storm.code), library)
    frozen_clock.advance(timedelta(hours=settings.cap_feed_max_age_hours))
    # Nobody closed the general notice: it leaves the feed 72 hours after it was sent.
    _, root = feed(session, FeedKind.alerts, library, settings)
    assert entry_codes(root) == []


def test_etag_and_last_modified_follow_the_data(
    session: Session, library: ContentLibrary, settings: Settings, frozen_clock: FrozenClock
) -> None:
    empty, _ = feed(session, FeedKind.alerts, library, settings)
    assert empty.last_modified.year == 1970 and empty.entries == 0
    publish(session, example("water_outage", expires_at="2026-11-23T12:00:00+01:00"), library)
    first, _ = feed(session, FeedKind.alerts, library, settings)
    frozen_clock.advance(timedelta(minutes=30))
    same, _ = feed(session, FeedKind.alerts, library, settings)
    assert same.etag == first.etag and same.body == first.body
    assert first.last_modified == TEST_NOW
    headers = first.headers()
    assert headers["Last-Modified"] == "Mon, 23 Nov 2026 07:00:00 GMT"
    assert headers["Cache-Control"] == "public, max-age=60"
    assert headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    frozen_clock.set(datetime.fromisoformat("2026-11-23T13:00:00+01:00"))
    expired, _ = feed(session, FeedKind.alerts, library, settings)
    assert expired.etag != first.etag and expired.entries == 0
    assert expired.last_modified == datetime.fromisoformat("2026-11-23T12:00:00+01:00")
    # Exercises do not change the real alerts' feed.
    publish(session, example("storm", mode="exercise"), library)
    assert feed(session, FeedKind.alerts, library, settings)[0].etag == expired.etag


def test_conditional_requests(
    session: Session, library: ContentLibrary, settings: Settings
) -> None:
    publish(session, example("storm"), library)
    built, _ = feed(session, FeedKind.alerts, library, settings)
    assert built.not_modified(built.etag, None)
    assert built.not_modified(f'"other", W/{built.etag}', None)
    assert not built.not_modified('"other"', None)
    assert built.not_modified(None, "Mon, 23 Nov 2026 07:00:00 GMT")
    assert built.not_modified(None, "Tue, 24 Nov 2026 07:00:00 GMT")
    assert not built.not_modified(None, "Mon, 23 Nov 2026 06:59:59 GMT")
    assert not built.not_modified(None, "not a date")
    # If-None-Match decides when both are sent (RFC 9110).
    assert not built.not_modified('"other"', "Tue, 24 Nov 2026 07:00:00 GMT")


def test_an_unknown_language_is_refused(
    session: Session, library: ContentLibrary, settings: Settings
) -> None:
    with pytest.raises(ValueError, match="unknown language 'xx'"):
        build_feed(session, FeedKind.alerts, library, settings, language="xx")
