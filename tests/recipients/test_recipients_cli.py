from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from service.audit.models import AuditEvent
from service.config import get_settings
from service.recipients.cli import recipients_app
from service.recipients.models import RecipientRecord
from service.store.database import get_engine, make_engine

runner = CliRunner()
GOOD = (
    "\ufeffexternal_id;name;phone;email;languages;audiences;postal_code;legal_basis\r\n"
    "K-1;Åsa Öberg;070-123 45 67;;sv;easy-read;726 60;samtycke\r\n"
    "K-2;Ahmed Ali;073-987 65 43;ahmed@example.se;ar|sv;general-public;72212;samtycke\r\n"
)


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private SQLite database for the commands, configured as a deployment would."""
    url = f"sqlite:///{tmp_path / 'var' / 'register.sqlite3'}"
    monkeypatch.setenv("KLARVARSEL_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("KLARVARSEL_DATABASE_URL", url)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield url
    get_engine().dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


def invoke(*args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(recipients_app, list(args), input=input)
    return result.exit_code, result.output


def names(url: str) -> list[str]:
    engine = make_engine(url)
    with engine.connect() as conn:
        found = list(conn.scalars(sa.select(RecipientRecord.name).order_by(RecipientRecord.id)))
    engine.dispose()
    return found


def test_import_is_a_dry_run_until_confirmed(tmp_path: Path, db_url: str) -> None:
    file = tmp_path / "mottagare.csv"
    file.write_text(GOOD, "utf-8")
    code, output = invoke("import", str(file))
    assert code == 0, output
    assert "2 would be created, 0 would be updated, 0 unchanged" in output
    assert "dry run: nothing was imported" in output
    assert names(db_url) == []
    code, output = invoke("import", str(file), "--confirm", "--actor", "reg@vasteras.se")
    assert code == 0, output
    assert "2 created, 0 updated, 0 unchanged" in output
    assert names(db_url) == ["Åsa Öberg", "Ahmed Ali"]
    code, output = invoke("import", str(file), "--confirm")
    assert "0 created, 0 updated, 2 unchanged" in output


def test_bad_rows_exit_2_with_line_numbers_and_import_nothing(tmp_path: Path, db_url: str) -> None:
    file = tmp_path / "bad.csv"
    file.write_text(GOOD + "K-3;Bo;12;;sv;;;\r\nK-4;Cilla;;c@example.se;sv;;999 99;\r\n", "utf-8")
    code, output = invoke("import", str(file), "--confirm")
    assert code == 2
    assert "line 4: phone '12' is not a valid number" in output
    assert "line 5: postal code '999 99' is in no area of the areas file" in output
    assert "2 bad rows; nothing was imported:" in output
    assert names(db_url) == []


def test_export_show_and_forget(tmp_path: Path, db_url: str) -> None:
    file = tmp_path / "mottagare.csv"
    file.write_text(GOOD, "utf-8")
    assert invoke("import", str(file), "--confirm")[0] == 0
    out = tmp_path / "export.csv"
    code, output = invoke("export", "--out", str(out))
    assert code == 0 and "2 recipients" in output
    exported = out.read_bytes().decode("utf-8-sig")
    assert exported.splitlines()[1] == (
        "K-1;Åsa Öberg;070-123 45 67;;sv;easy-read;skultuna;;samtycke;yes"
    )

    code, output = invoke("show", "1")
    assert code == 0, output
    person = json.loads(output)
    assert person["recipient"]["name"] == "Åsa Öberg" and person["deliveries"] == []

    code, output = invoke("forget", "1", input="n\n")
    assert code == 1 and names(db_url) == ["Åsa Öberg", "Ahmed Ali"]
    code, output = invoke("forget", "1", "--yes", "--actor", "dataskydd@vasteras.se")
    assert code == 0, output
    assert "recipient 1 deleted; 0 past deliveries kept without address" in output
    assert names(db_url) == ["Ahmed Ali"]
    assert invoke("show", "1")[0] == 2
    assert invoke("forget", "1", "--yes")[0] == 2

    engine = make_engine(db_url)
    with engine.connect() as conn:
        actions = list(conn.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))
    engine.dispose()
    assert actions == [
        "recipients.imported",
        "recipients.exported",
        "recipient.exported",
        "recipient.forgotten",
    ]


def test_demo_data_loads_once_into_an_empty_register(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.cli import app as main_app

    monkeypatch.setenv("KLARVARSEL_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("KLARVARSEL_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        first = CliRunner().invoke(main_app, ["demo-data"])
        second = CliRunner().invoke(main_app, ["demo-data"])
    finally:
        get_settings.cache_clear()
        get_engine.cache_clear()
    assert first.exit_code == 0 and "loaded 16 fictional demo recipients" in first.output
    assert "already has recipients" in second.output
