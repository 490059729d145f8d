"""Firing schedules: restarts, the misfire policy, exactly once, pause and resume (both databases).

The clock stands still (frozen_clock) and each tick is given its `now`, so every decision is
made at a chosen instant; nothing here waits for real time.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from service.clock import FrozenClock
from service.config import Settings
from service.content import ContentLibrary
from service.delivery.models import Delivery
from service.exercises.firing import fire_due
from service.exercises.misfire import decide
from service.exercises.models import FiringRecord, ScheduleRecord
from service.exercises.schedules import (
    NewSchedule,
    ScheduleInvalid,
    add_schedule,
    pause_schedule,
    resume_schedule,
)
from service.notices.models import NoticeRecord
from service.store.database import make_engine, session_scope
from tests.exercises.conftest import canaries, person, quarterly_notice, register, schedule

STOCKHOLM = ZoneInfo("Europe/Stockholm")
FIRST_TEST = datetime(2026, 12, 7, 15, 0, tzinfo=STOCKHOLM)  # after the pinned 2026-11-23


def at(moment: datetime, **delta: float) -> datetime:
    return moment + timedelta(**delta)


def firings(engine: Engine) -> list[FiringRecord]:
    with session_scope(engine) as session:
        return list(session.scalars(sa.select(FiringRecord).order_by(FiringRecord.fire_time)))


def notices(engine: Engine) -> int:
    with session_scope(engine) as session:
        return session.scalar(sa.select(sa.func.count()).select_from(NoticeRecord)) or 0


def next_fire(engine: Engine, schedule_id: int) -> datetime | None:
    with session_scope(engine) as session:
        found = session.get(ScheduleRecord, schedule_id)
        assert found is not None
        moment = found.next_fire_at
    if moment is None:
        return None
    return moment.replace(tzinfo=ZoneInfo("UTC")) if moment.tzinfo is None else moment


def test_the_misfire_policy_as_a_function() -> None:
    times = [FIRST_TEST, at(FIRST_TEST, hours=1), at(FIRST_TEST, hours=2)]
    late = decide(times, at(FIRST_TEST, hours=2, minutes=30), 3600)
    assert late.run == times[-1] and [t for t, _ in late.missed] == times[:-1]
    assert all("was sent instead" in reason for _, reason in late.missed)
    gone = decide(times, at(FIRST_TEST, hours=4), 3600)
    assert gone.run is None and [t for t, _ in gone.missed] == times
    assert "beyond the grace time of 1 h 0 min" in gone.missed[-1][1]
    assert decide(times[:1], at(FIRST_TEST, seconds=0.4), 0).run == FIRST_TEST  # on time


def test_a_schedule_survives_a_restart_and_fires_once(
    database_url: str,
    engine: Engine,
    library: ContentLibrary,
    settings: Settings,
    frozen_clock: FrozenClock,
) -> None:
    register(engine, person("Övare", exercise=True, phone="+46701740601"))
    canaries(engine, library)
    now = frozen_clock.now()
    rule = schedule(engine, library, settings, "kvartalsprov", now=now, rule="vma-quarterly")
    once = schedule(engine, library, settings, "extraprov", now=now, run_at=at(FIRST_TEST, days=1))
    engine.dispose()  # the service stops; a new process starts with a new engine
    restarted = make_engine(database_url)
    try:
        assert (
            fire_due(restarted, settings, library, scheduler_id="b", now=at(FIRST_TEST, seconds=-1))
            == []
        )
        frozen_clock.set(at(FIRST_TEST, seconds=0.5))
        [view] = fire_due(restarted, settings, library, scheduler_id="b")
        assert (view.schedule, view.status, view.fire_time) == ("kvartalsprov", "sent", FIRST_TEST)
        assert view.late_seconds == pytest.approx(0.5) and view.code
        assert fire_due(restarted, settings, library, scheduler_id="b") == []
        assert next_fire(restarted, rule) == datetime(2027, 3, 1, 15, tzinfo=STOCKHOLM)
        frozen_clock.set(at(FIRST_TEST, days=1, seconds=2))
        [second] = fire_due(restarted, settings, library, scheduler_id="b")
        assert (second.schedule, second.status) == ("extraprov", "sent")
        assert next_fire(restarted, once) is None
        with session_scope(restarted) as session:
            planned = session.scalars(sa.select(Delivery.recipient_key)).all()
        # One person of the exercise group and both canaries, for each of the two tests.
        assert len(planned) == 6 and sum(k.startswith("canary:") for k in planned) == 4
    finally:
        restarted.dispose()
    assert notices(engine) == 2 and [f.status for f in firings(engine)] == ["sent", "sent"]


def test_a_missed_test_runs_once_within_the_grace_time(
    engine: Engine, library: ContentLibrary, settings: Settings, frozen_clock: FrozenClock
) -> None:
    schedule(
        engine, library, settings, "kvartalsprov", now=frozen_clock.now(), rule="vma-quarterly"
    )
    back = at(FIRST_TEST, minutes=40)  # the service was down at 15:00 and is back at 15:40
    frozen_clock.set(back)
    [view] = fire_due(engine, settings, library, scheduler_id="a")
    assert (view.status, view.fire_time, view.late_seconds) == ("sent", FIRST_TEST, 2400)
    assert fire_due(engine, settings, library, scheduler_id="a", now=at(back, minutes=5)) == []
    assert notices(engine) == 1
    [firing] = firings(engine)
    assert firing.late_seconds == 2400 and firing.notice_id is not None


def test_a_missed_test_outside_the_grace_time_is_recorded_as_missed(
    engine: Engine, library: ContentLibrary, settings: Settings, frozen_clock: FrozenClock
) -> None:
    added = schedule(
        engine, library, settings, "kvartalsprov", now=frozen_clock.now(), rule="vma-quarterly"
    )
    frozen_clock.set(at(FIRST_TEST, hours=2))
    [view] = fire_due(engine, settings, library, scheduler_id="a")
    assert view.status == "missed" and view.code is None
    assert "came back 2 h 0 min later, beyond the grace time of 1 h 0 min" in (view.reason or "")
    assert notices(engine) == 0
    assert next_fire(engine, added) == datetime(2027, 3, 1, 15, tzinfo=STOCKHOLM)
    assert fire_due(engine, settings, library, scheduler_id="a") == []
    assert [f.status for f in firings(engine)] == ["missed"]


def test_after_a_long_outage_only_the_latest_fire_time_runs(
    engine: Engine, library: ContentLibrary, settings: Settings, frozen_clock: FrozenClock
) -> None:
    schedule(
        engine,
        library,
        settings,
        "timprov",
        now=frozen_clock.now(),
        rule="0 * * * *",
        grace_seconds=3600,
    )
    frozen_clock.set(at(frozen_clock.now(), hours=3, minutes=30))  # 09:00, 10:00, 11:00 passed
    views = fire_due(engine, settings, library, scheduler_id="a")
    assert [v.status for v in views] == ["missed", "missed", "sent"]
    assert views[-1].late_seconds == 30 * 60
    assert notices(engine) == 1


def test_two_schedulers_at_once_fire_each_time_once(
    database_url: str,
    engine: Engine,
    library: ContentLibrary,
    settings: Settings,
    frozen_clock: FrozenClock,
) -> None:
    for number in range(6):
        schedule(
            engine,
            library,
            settings,
            f"prov-{number}",
            now=frozen_clock.now(),
            run_at=at(FIRST_TEST, minutes=number),
        )
    frozen_clock.set(at(FIRST_TEST, minutes=10))
    engines = [make_engine(database_url) for _ in range(2)]
    results: dict[str, int] = {}

    def run(name: str, own: Engine) -> None:
        results[name] = len(fire_due(own, settings, library, scheduler_id=name))

    threads = [threading.Thread(target=run, args=(f"s{i}", e)) for i, e in enumerate(engines)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for own in engines:
        own.dispose()
    assert sum(results.values()) == 6, results
    assert len(firings(engine)) == 6 and notices(engine) == 6


def test_the_firing_key_is_unique(
    engine: Engine, library: ContentLibrary, settings: Settings
) -> None:
    added = schedule(
        engine, library, settings, "prov", now=FIRST_TEST - timedelta(days=1), run_at=FIRST_TEST
    )
    row = {"schedule_id": added, "fire_time": FIRST_TEST, "status": "sent", "scheduler_id": "x"}
    with session_scope(engine) as session:
        session.add(FiringRecord(**row))
    with pytest.raises(sa.exc.IntegrityError), session_scope(engine) as session:
        session.add(FiringRecord(**row))


def test_pausing_skips_fire_times_and_resuming_picks_up_the_next(
    engine: Engine, library: ContentLibrary, settings: Settings, frozen_clock: FrozenClock
) -> None:
    added = schedule(
        engine, library, settings, "kvartalsprov", now=frozen_clock.now(), rule="vma-quarterly"
    )
    with session_scope(engine) as session:
        assert pause_schedule(session, session.get(ScheduleRecord, added), actor="t")
    frozen_clock.set(at(FIRST_TEST, minutes=5))
    assert fire_due(engine, settings, library, scheduler_id="a") == []
    with session_scope(engine) as session:
        found = session.get(ScheduleRecord, added)
        assert found is not None
        assert resume_schedule(session, found, settings, actor="t")
    assert next_fire(engine, added) == datetime(2027, 3, 1, 15, tzinfo=STOCKHOLM)
    assert fire_due(engine, settings, library, scheduler_id="a") == [] and firings(engine) == []


def test_a_test_that_fails_its_checks_when_it_fires_is_recorded_and_not_sent(
    engine: Engine, library: ContentLibrary, settings: Settings, frozen_clock: FrozenClock
) -> None:
    # Valid for December's test, no longer for March's: it expires in January.
    raw = quarterly_notice(expires_at="2027-01-15T00:00:00+01:00")
    schedule(
        engine,
        library,
        settings,
        "kvartalsprov",
        now=frozen_clock.now(),
        raw=raw,
        rule="vma-quarterly",
    )
    frozen_clock.set(at(FIRST_TEST, seconds=1))
    assert [v.status for v in fire_due(engine, settings, library, scheduler_id="a")] == ["sent"]
    frozen_clock.set(datetime(2027, 3, 1, 15, 0, 1, tzinfo=STOCKHOLM))
    [view] = fire_due(engine, settings, library, scheduler_id="a")
    assert view.status == "failed" and "expires_at: is before the notice is sent" in (
        view.reason or ""
    )
    assert notices(engine) == 1


def test_a_schedule_never_sends_an_actual_alert_and_names_every_problem(
    engine: Engine, library: ContentLibrary, settings: Settings, frozen_clock: FrozenClock
) -> None:
    schedule(
        engine, library, settings, "kvartalsprov", now=frozen_clock.now(), rule="vma-quarterly"
    )
    raw = quarterly_notice(mode="actual", areas=["nowhere"])
    with pytest.raises(ScheduleInvalid) as caught, session_scope(engine) as session:
        add_schedule(
            session,
            library,
            settings,
            NewSchedule("kvartalsprov", raw, rule="0 15 * *"),
            actor="t",
            now=frozen_clock.now(),
        )
    problems = "\n".join(caught.value.problems)
    assert "name: schedule 1 is already called 'kvartalsprov'" in problems
    assert "rule: '0 15 * *' has 4 fields" in problems
    assert (
        "notice.mode: is 'actual'; schedules and exercise scripts send only exercise or test"
        in problems
    )
    assert "notice.areas.0: unknown area 'nowhere'" in problems


def test_a_schedule_edited_into_an_actual_alert_is_refused_when_it_fires(
    engine: Engine, library: ContentLibrary, settings: Settings, frozen_clock: FrozenClock
) -> None:
    added = schedule(engine, library, settings, "prov", now=frozen_clock.now(), run_at=FIRST_TEST)
    with session_scope(engine) as session:
        found = session.get(ScheduleRecord, added)
        assert found is not None
        found.payload = {**found.payload, "mode": "actual"}  # behind the service's back
    frozen_clock.set(at(FIRST_TEST, seconds=1))
    [view] = fire_due(engine, settings, library, scheduler_id="a")
    assert view.status == "failed" and "mode: is 'actual'" in (view.reason or "")
    assert notices(engine) == 0
