"""Public Atom feeds of active alerts, after OASIS "Example Practices: CAP Feeds".

Two feeds: `alerts` (status Actual) and `exercises` (Exercise and Test, so an exercise never
shows up among real alerts), each in every language (`?lang=`; Swedish by default). One entry
per active thread: its latest message, titled with that message's CAP headline, linking to
its CAP alert (`application/cap+xml`) and its public page in the feed's language.

A thread is active until its latest message is an all-clear or a cancel, or that message
expires: at its `expires_at`, or `cap_feed_max_age_hours` (72 h) after it was sent when it has
none, so an alert nobody closed does not stay in the feeds for ever.
Feeds are public and cacheable: the ETag is a hash of the body, Last-Modified the last time
any thread entered or left the feed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from enum import StrEnum
from xml.etree import ElementTree as ET

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.clock import utcnow
from service.config import Settings
from service.content import ContentLibrary
from service.interop.capmodel import CAP_MIME_TYPE, cap_datetime
from service.interop.identity import cap_url, feed_url
from service.interop.stored import stored_sent_at
from service.interop.texts import InfoTexts, language_texts
from service.notices.links import notice_url
from service.notices.models import NoticeRecord, NoticeState
from service.notices.publish import load_stored_notice
from service.rendering.catalogs import UsageTracker, load_catalog

ATOM_NS = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ATOM_MIME_TYPE = "application/atom+xml"
DEFAULT_LANGUAGE = "sv"
ENDING_TYPES = ("all_clear", "cancel")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CACHE_SECONDS = 60


class FeedKind(StrEnum):
    """Which feed: real alerts, or exercises and tests."""

    alerts = "alerts"
    exercises = "exercises"


FEED_MODES = {FeedKind.alerts: ("actual",), FeedKind.exercises: ("exercise", "test")}


@dataclass(frozen=True)
class Thread:
    """A first notice and its followers, and whether the thread is still in the feed."""

    records: list[NoticeRecord]
    active: bool
    changed_at: datetime  # when it entered or (if over) left the feed


@dataclass(frozen=True)
class Feed:
    """A rendered feed with its cache validators."""

    body: bytes
    etag: str
    last_modified: datetime
    entries: int

    def headers(self) -> dict[str, str]:
        """Response headers: type, validators and public caching."""
        return {
            "Content-Type": f"{ATOM_MIME_TYPE}; charset=utf-8",
            "ETag": self.etag,
            "Last-Modified": format_datetime(self.last_modified.astimezone(UTC), usegmt=True),
            "Cache-Control": f"public, max-age={CACHE_SECONDS}",
        }

    def not_modified(self, if_none_match: str | None, if_modified_since: str | None) -> bool:
        """Whether a conditional GET may be answered 304 (RFC 9110: If-None-Match wins)."""
        if if_none_match is not None:
            tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
            return "*" in tags or self.etag in tags
        if if_modified_since is None:
            return False
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        return self.last_modified.replace(microsecond=0) <= since


def _expiry(record: NoticeRecord, sent: datetime, settings: Settings) -> datetime:
    expires = record.payload.get("expires_at")
    if isinstance(expires, str) and expires:
        value = datetime.fromisoformat(expires)
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return sent + timedelta(hours=settings.cap_feed_max_age_hours)


def feed_threads(
    session: Session, kind: FeedKind, settings: Settings, now: datetime
) -> list[Thread]:
    """Every thread of the feed's modes, active or not, oldest first."""
    records = session.scalars(
        sa.select(NoticeRecord)
        .where(NoticeRecord.mode.in_(FEED_MODES[kind]), NoticeRecord.status == NoticeState.sent)
        .order_by(NoticeRecord.created_at, NoticeRecord.id)
    ).all()
    grouped: dict[int, list[NoticeRecord]] = {}
    for record in records:
        grouped.setdefault(record.references_id or record.id, []).append(record)
    threads = []
    for members in grouped.values():
        latest = members[-1]
        sent = stored_sent_at(latest)
        ended: datetime | None = None
        if latest.message_type in ENDING_TYPES:
            ended = sent
        elif (expiry := _expiry(latest, sent, settings)) <= now:
            ended = expiry
        threads.append(Thread(members, ended is None, ended or sent))
    return threads


def _add(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, name, attrs)
    element.text = text
    return element


def _entry_texts(
    record: NoticeRecord, language: str, library: ContentLibrary, settings: Settings
) -> InfoTexts:
    notice = load_stored_notice(record, library)
    url = notice_url(settings, record.code)
    # As in the CAP alert and on the public page: the notice's own languages, really translated.
    texts: InfoTexts | str = "not one of the notice's languages"
    if language in notice.envelope.languages:
        texts = language_texts(notice, language, library, url)
    if isinstance(texts, str):  # the Swedish text, marked as Swedish
        texts = language_texts(notice, DEFAULT_LANGUAGE, library, url)
    if isinstance(texts, str):  # pragma: no cover - Swedish is complete for every scenario
        title = notice.scenario.title.get(DEFAULT_LANGUAGE, notice.scenario.cap_event)
        return InfoTexts(DEFAULT_LANGUAGE, title, title, "", "", url)
    return texts


def _entry(
    feed: ET.Element,
    thread: Thread,
    language: str,
    library: ContentLibrary,
    settings: Settings,
) -> None:
    latest = thread.records[-1]
    texts = _entry_texts(latest, language, library, settings)
    tz = library.timezone
    entry = _add(feed, "entry", **{XML_LANG: library.languages[texts.language].cap_language})
    _add(entry, "id", cap_url(settings, latest.code))
    _add(entry, "title", texts.headline)
    _add(entry, "updated", cap_datetime(stored_sent_at(latest), tz))
    _add(entry, "published", cap_datetime(stored_sent_at(thread.records[0]), tz))
    author = _add(entry, "author")
    _add(author, "name", library.municipality)
    _add(entry, "summary", texts.description)
    _add(entry, "category", term=texts.event)
    _add(entry, "link", rel="alternate", type=CAP_MIME_TYPE, href=cap_url(settings, latest.code))
    html = texts.web or notice_url(settings, latest.code)
    hreflang = library.languages[texts.language].cap_language
    _add(entry, "link", rel="alternate", type="text/html", hreflang=hreflang, href=html)


def _title(kind: FeedKind, language: str, library: ContentLibrary) -> str:
    if kind == FeedKind.alerts:
        return library.municipality
    # The exercise marker every exercise message carries, in the feed's language.
    marker = UsageTracker(load_catalog(library.locales_dir, language)).gettext("EXERCISE")
    return f"{library.municipality}: {marker}"


def build_feed(
    session: Session,
    kind: FeedKind,
    library: ContentLibrary,
    settings: Settings,
    *,
    language: str = DEFAULT_LANGUAGE,
    now: datetime | None = None,
) -> Feed:
    """The feed of active alerts (or exercises) in `language` (ValueError if unknown)."""
    if language not in library.languages:
        raise ValueError(f"unknown language {language!r}; known: {', '.join(library.languages)}")
    now = now or utcnow()
    threads = feed_threads(session, kind, settings, now)
    changes = [t.changed_at for t in threads if t.changed_at <= now]
    last_modified = max(changes, default=EPOCH).replace(microsecond=0)
    self_url = feed_url(settings, kind.value, None if language == DEFAULT_LANGUAGE else language)
    # Atom's attributes (rel, href) are unqualified, which ElementTree's default_namespace
    # refuses: the namespace is declared on the root instead, and tags stay plain.
    feed = ET.Element(
        "feed", {"xmlns": ATOM_NS, XML_LANG: library.languages[language].cap_language}
    )
    _add(feed, "id", self_url)
    _add(feed, "title", _title(kind, language, library))
    _add(feed, "updated", cap_datetime(last_modified, library.timezone))
    author = _add(feed, "author")
    _add(author, "name", library.municipality)
    _add(feed, "link", rel="self", type=ATOM_MIME_TYPE, href=self_url)
    _add(feed, "generator", "Klarvarsel")
    active = [t for t in threads if t.active]
    # Newest first, as feed readers show them.
    for thread in sorted(active, key=lambda t: stored_sent_at(t.records[-1]), reverse=True):
        _entry(feed, thread, language, library, settings)
    ET.indent(feed)
    body = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return Feed(body, etag, last_modified, len(active))
