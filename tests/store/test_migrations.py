from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from service.audit.models import AuditEvent
from service.audit.service import record
from service.notices.models import NoticeRecord
from service.store.database import make_engine, session_scope
from service.store.migrate import downgrade, upgrade, upgrade_and_describe


def test_migrations_create_the_schema_and_store_a_notice_with_its_audit_event(
    database_url: str,
) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    payload = {"scenario": "water_outage", "fields": {"area_name": "Skultuna"}}
    with session_scope(engine) as session:
        notice = NoticeRecord(
            code="AB12CD",
            scenario="water_outage",
            message_type="alert",
            mode="actual",
            status="draft",
            payload=payload,
            created_by="kommunikator@vasteras.se",
        )
        session.add(notice)
        session.flush()
        record(
            session,
            actor="kommunikator@vasteras.se",
            action="notice.created",
            subject_type="notice",
            subject_id=notice.id,
            source="test",
        )
    with session_scope(engine) as session:
        stored = session.scalars(sa.select(NoticeRecord)).one()
        assert stored.payload == payload
        assert stored.created_at.tzinfo is not None or engine.dialect.name == "sqlite"
        event = session.scalars(sa.select(AuditEvent)).one()
        assert (event.action, event.subject_id) == ("notice.created", str(stored.id))
    engine.dispose()


def _draft(code: str) -> NoticeRecord:
    return NoticeRecord(
        code=code,
        scenario="x",
        message_type="alert",
        mode="actual",
        status="draft",
        payload={},
        created_by="a",
    )


def test_notice_codes_are_unique(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        session.add(_draft("SAME"))
    with pytest.raises(sa.exc.IntegrityError), session_scope(engine) as session:
        session.add(_draft("SAME"))
    with session_scope(engine) as session:
        assert session.scalars(sa.select(NoticeRecord.code)).all() == ["SAME"]
    engine.dispose()


def test_downgrade_removes_the_tables(database_url: str) -> None:
    upgrade(database_url)
    downgrade(database_url, "base")
    engine = make_engine(database_url)
    tables = set(sa.inspect(engine).get_table_names())
    assert not tables & {
        "notices",
        "audit_events",
        "sent_messages",
        "recipients",
        "deliveries",
        "users",
        "user_roles",
        "web_sessions",
        "api_keys",
        "login_attempts",
        "oidc_requests",
    }
    engine.dispose()


def test_upgrade_says_what_it_did(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'var-not-made-yet' / 'fresh.sqlite3'}"
    assert upgrade_and_describe(url).startswith("created the database at revision ")
    assert upgrade_and_describe(url).startswith("the database was already at the newest revision")
    downgrade(url, "0003")
    assert upgrade_and_describe(url).startswith("migrated the database from revision 0003 to ")


def test_the_head_read_from_file_names_is_alembics_and_the_chain_is_linear() -> None:
    """upgrade() skips Alembic when the database is at head_revision(): it must be the head."""
    from alembic.script import ScriptDirectory

    from service.store.migrate import alembic_config, head_revision

    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert scripts.get_heads() == [head_revision()]
    for script in scripts.walk_revisions():
        assert Path(script.path).name.startswith(f"{script.revision}_")
        assert script.down_revision in (None, f"{int(script.revision) - 1:04d}")


def test_upgrade_at_the_head_does_not_run_alembic_and_a_lagging_database_is_migrated(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alembic import command

    from service.store.migrate import current_revision, head_revision

    upgrade(database_url, "0013")
    assert current_revision(database_url) == "0013"
    upgrade(database_url)  # not at the head: Alembic runs
    assert current_revision(database_url) == head_revision()

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("Alembic ran for a database already at the newest revision")

    monkeypatch.setattr(command, "upgrade", refuse)
    upgrade(database_url)
    assert current_revision(database_url) == head_revision()
