"""The releaser: sends scheduled notices when they fall due and plans every sent notice.

It runs in each web process (`KLARVARSEL_IN_PROCESS_RELEASER`, default on). Several of them
are safe: releasing is one conditional UPDATE, and a notice is planned under a lease (a
`planning_lease` time) that another releaser takes over if the first died; planning itself is
idempotent (service.delivery.planning), so a takeover completes the plan without duplicates.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from service.clock import utcnow
from service.config import Settings
from service.content import ContentLibrary, get_library
from service.delivery.planning import plan_deliveries
from service.notices.models import NoticeRecord, NoticeState
from service.notices.publish import load_stored_notice
from service.store.database import get_engine, session_scope
from service.workflow.sending import RELEASED, release_due

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 0.5
PLANNING_LEASE = timedelta(minutes=2)


def _waiting() -> sa.ColumnElement[bool]:
    return sa.and_(
        NoticeRecord.status == NoticeState.sent,
        NoticeRecord.planned_at.is_(None),
    )


def plan_sent(library: ContentLibrary, settings: Settings) -> list[str]:
    """Plan the deliveries of every sent notice not planned yet; codes of those planned."""
    factory = sessionmaker(bind=get_engine(), expire_on_commit=False)
    planned = []
    with session_scope() as session:
        ids = list(session.scalars(sa.select(NoticeRecord.id).where(_waiting()).limit(20)))
    for notice_id in ids:
        now = utcnow()
        with session_scope() as session:
            taken = session.execute(
                sa.update(NoticeRecord)
                .where(
                    NoticeRecord.id == notice_id,
                    _waiting(),
                    sa.or_(
                        NoticeRecord.planning_lease.is_(None), NoticeRecord.planning_lease < now
                    ),
                )
                .values(planning_lease=now + PLANNING_LEASE)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
        if not taken:
            continue  # another releaser has it
        with session_scope() as session:
            record = session.get(NoticeRecord, notice_id)
            assert record is not None
            session.expunge(record)
        notice = load_stored_notice(record, library)
        plan_deliveries(
            factory,
            record,
            notice,
            library,
            library.areas,
            settings,
            actor=record.sent_by or record.created_by,
            source="releaser",
        )
        with session_scope() as session:
            session.execute(
                sa.update(NoticeRecord)
                .where(NoticeRecord.id == notice_id)
                .values(planned_at=utcnow(), planning_lease=None)
            )
        planned.append(record.code)
    return planned


def release_once(library: ContentLibrary, settings: Settings) -> tuple[list[str], list[str]]:
    """One round: release what is due, then plan what was sent; (released, planned) codes."""
    with session_scope() as session:
        released = release_due(session, library, settings, utcnow())
    return released, plan_sent(library, settings)


def run_releaser(settings: Settings, stop_event: threading.Event) -> None:
    """Release and plan until `stop_event` is set; errors are logged and retried."""
    library = get_library(settings)
    while not stop_event.is_set():
        RELEASED.clear()  # before the round: a release committed during it wakes the next
        try:
            released, planned = release_once(library, settings)
            if released or planned:
                logger.info("released %s; planned %s", released, planned)
        except Exception:  # a database hiccup must not stop scheduled alerts for good
            logger.exception("the releaser failed a round; it tries again")
        _nap(stop_event)


def _nap(stop_event: threading.Event) -> None:
    """Until the next round, a release in this process (at once) or a stop (within 0.1 s)."""
    deadline = time.monotonic() + INTERVAL_SECONDS
    while not stop_event.is_set() and (left := deadline - time.monotonic()) > 0:
        if RELEASED.wait(min(left, 0.1)):
            return
