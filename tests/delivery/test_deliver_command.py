from __future__ import annotations

import json
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from service.channels.models import SentMessage
from service.cli import app
from service.config import get_settings
from service.notices.models import NoticeRecord
from service.store.database import get_engine, make_engine, session_scope
from tests.conftest import SAMPLE_NOTICES

runner = CliRunner()


@pytest.fixture
def var_dir(var_dir: Path) -> Path:
    """A fresh var/ with the demo register loaded."""
    assert runner.invoke(app, ["demo-data"]).exit_code == 0
    return var_dir


def test_dry_run_plans_nothing(var_dir: Path) -> None:
    notice = str(SAMPLE_NOTICES / "water_outage_skultuna.json")
    result = runner.invoke(app, ["deliver", notice, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "4 messages to 4 recipients" in result.output
    assert "by language: ar 1, sv 2, ti 1" in result.output
    assert not (var_dir / "outbox").exists()


def test_deliver_and_wait_sends_to_everyone_in_the_area(var_dir: Path) -> None:
    notice = str(SAMPLE_NOTICES / "water_outage_skultuna.json")
    result = runner.invoke(app, ["deliver", notice, "--wait"])
    assert result.exit_code == 0, result.output
    assert "progress: sent 4" in result.output
    sent = [json.loads(p.read_text("utf-8")) for p in (var_dir / "outbox" / "sms").glob("*.json")]
    assert sorted(m["language"] for m in sent) == ["ar", "sv", "sv", "ti"]


def test_exercise_reaches_only_exercise_participants(var_dir: Path) -> None:
    notice = str(SAMPLE_NOTICES / "heat_wave_exercise.json")
    result = runner.invoke(app, ["deliver", notice, "--wait"])
    assert result.exit_code == 0, result.output
    texts = [
        json.loads(p.read_text("utf-8"))["text"]
        for p in (var_dir / "outbox" / "sms").glob("*.json")
    ]
    # Five demo people are in the exercise group; the others must not get an exercise.
    assert texts and all(t.startswith(("ÖVNING", "EXERCISE")) for t in texts)
    assert len(texts) + len(list((var_dir / "outbox" / "email").glob("*.eml"))) <= 5


def test_stop_sending_cancels_what_was_not_sent(var_dir: Path) -> None:
    notice = str(SAMPLE_NOTICES / "water_outage_skultuna.json")
    planned = runner.invoke(app, ["deliver", notice])  # no worker runs: all stay planned
    code = planned.output.split("published as ")[1].split("/n/")[1].split(";")[0]
    result = runner.invoke(app, ["stop-sending", code])
    assert result.exit_code == 0, result.output
    assert f"cancelled 4 deliveries of {code}" in result.output
    waited = runner.invoke(app, ["worker", "--once"])
    assert waited.exit_code == 0
    assert not (var_dir / "outbox").exists()
    assert runner.invoke(app, ["stop-sending", "NOPE99"]).exit_code == 2


def test_retry_sends_again_what_gave_up_at_the_deadline(var_dir: Path) -> None:
    from service.delivery.models import Delivery

    notice = str(SAMPLE_NOTICES / "water_outage_skultuna.json")
    planned = runner.invoke(app, ["deliver", notice])  # no worker runs: all stay planned
    code = planned.output.split("published as ")[1].split("/n/")[1].split(";")[0]
    with session_scope() as session:  # as a ten-hour outage leaves them
        session.execute(
            sa.update(Delivery).values(
                status="failed", last_error="gave up at the deadline after 90 attempts; ..."
            )
        )
    result = runner.invoke(app, ["retry", code])
    assert result.exit_code == 0, result.output
    assert f"re-queued 4 failed deliveries of {code}" in result.output
    assert runner.invoke(app, ["worker", "--once"]).exit_code == 0
    with session_scope() as session:
        statuses = session.scalars(sa.select(Delivery.status)).all()
    assert statuses == ["sent"] * 4
    again = runner.invoke(app, ["retry", code])
    assert "nothing to retry" in again.output
    assert runner.invoke(app, ["retry", "NOPE99"]).exit_code == 2


def _notice_file(tmp_path: Path, name: str = "notice.json", **changes: object) -> str:
    raw = json.loads((SAMPLE_NOTICES / "water_outage_skultuna.json").read_text("utf-8"))
    raw.update(changes)
    path = tmp_path / name
    path.write_text(json.dumps(raw, ensure_ascii=False), "utf-8")
    return str(path)


def _published() -> int:
    with session_scope() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(NoticeRecord)) or 0


def test_an_unknown_area_is_refused_before_anything_is_published(
    var_dir: Path, tmp_path: Path
) -> None:
    notice = _notice_file(tmp_path, areas=["skultna"])
    for command in (["deliver", notice], ["deliver", notice, "--dry-run"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        assert "unknown area 'skultna'; did you mean skultuna" in result.output
    assert _published() == 0


def test_an_update_of_an_unknown_code_is_an_input_error_everywhere(
    var_dir: Path, tmp_path: Path
) -> None:
    notice = _notice_file(tmp_path, message_type="update", references="NOPE99")
    for command in (
        ["deliver", notice],
        ["deliver", notice, "--dry-run"],
        ["render", notice, "--out", str(tmp_path / "out")],
    ):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, (command, result.output)
        assert "references: no notice has the code 'NOPE99'" in result.output
        assert "Traceback" not in result.output
    assert _published() == 0


def test_the_same_notice_twice_is_refused_unless_asked_for_anew(
    var_dir: Path, tmp_path: Path
) -> None:
    notice = _notice_file(tmp_path)
    first = runner.invoke(app, ["deliver", notice])
    assert first.exit_code == 0, first.output
    code = first.output.split("published as ")[1].split("/n/")[1].split(";")[0]
    again = runner.invoke(app, ["deliver", notice])
    assert again.exit_code == 2
    assert f"already published as {code}" in again.output
    assert '"references": "' + code + '"' in again.output  # how to follow it up instead
    assert _published() == 1
    anew = runner.invoke(app, ["deliver", notice, "--new"])
    assert anew.exit_code == 0, anew.output
    assert code not in anew.output.split("published as ")[1]
    assert _published() == 2


def test_a_notice_that_reaches_nobody_needs_a_confirmation(var_dir: Path, tmp_path: Path) -> None:
    # Nobody with a visual impairment lives in Skultuna in the demo register.
    notice = _notice_file(tmp_path, audiences=["visually-impaired"])
    dry = runner.invoke(app, ["deliver", notice, "--dry-run"])
    assert "WARNING this notice reaches nobody" in dry.output
    refused = runner.invoke(app, ["deliver", notice])
    assert refused.exit_code == 1
    assert "nothing was sent" in refused.output and _published() == 0
    allowed = runner.invoke(app, ["deliver", notice, "--allow-no-recipients"])
    assert allowed.exit_code == 0, allowed.output
    assert _published() == 1


def test_the_preview_shows_exactly_the_sms_that_is_sent(var_dir: Path) -> None:
    from service.content import get_library
    from service.delivery.deliver_command import prepare
    from service.notices.service import validate_notice

    raw = json.loads((SAMPLE_NOTICES / "water_outage_skultuna.json").read_text("utf-8"))
    settings = get_settings()
    seen = prepare(validate_notice(raw, get_library()), raw, get_library(), settings)
    previewed = {
        (key.language, key.register.value): variant.text
        for key, variant in seen.report.variants.items()
        if key.channel.value == "sms"
    }
    result = runner.invoke(
        app, ["deliver", str(SAMPLE_NOTICES / "water_outage_skultuna.json"), "--wait"]
    )
    assert result.exit_code == 0, result.output
    assert f"published as {seen.url};" in result.output
    sent = [json.loads(p.read_text("utf-8")) for p in (var_dir / "outbox" / "sms").glob("*.json")]
    assert sent
    for message in sent:
        register = "easy_read" if "easy=1" in message["text"] else "standard"
        assert message["text"] == previewed[message["language"], register]
        assert f"/n/{seen.code}" in message["text"]


PEOPLE_CSV = (
    "\ufeffname;phone;email;languages;audiences;areas\n"
    "Anna Andersson;070-123 45 67;;sv;easy-read;skultuna\n"
    "Ahmed Ali;073-987 65 43;ahmed@example.se;ar|sv;other-languages;skultuna\n"
    "Birgitta Berg;;birgitta@example.se;sv;general-public;skultuna\n"
    "Eva Ek;;eva@example.se;sv;visually-impaired;skultuna\n"
    "Erik Ek;070-111 22 33;;sv;general-public;vasteras-centrum\n"
)


@pytest.fixture
def empty_var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private var/ with an empty register."""
    monkeypatch.setenv("KLARVARSEL_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("KLARVARSEL_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield tmp_path / "var"
    get_settings.cache_clear()
    get_engine.cache_clear()


def test_a_small_list_is_imported_and_delivered_as_the_readme_says(
    tmp_path: Path, empty_var_dir: Path
) -> None:
    people = tmp_path / "people.csv"
    people.write_text(PEOPLE_CSV, "utf-8")
    notice = str(SAMPLE_NOTICES / "water_outage_skultuna.json")
    checked = runner.invoke(app, ["recipients", "import", str(people)])
    assert checked.exit_code == 0, checked.output
    imported = runner.invoke(app, ["recipients", "import", str(people), "--confirm"])
    assert imported.exit_code == 0, imported.output
    preview = runner.invoke(app, ["deliver", notice, "--dry-run"])
    assert preview.exit_code == 0, preview.output
    assert "4 messages to 4 recipients" in preview.output
    assert not (empty_var_dir / "outbox").exists()

    result = runner.invoke(app, ["deliver", notice, "--wait"])
    assert result.exit_code == 0, result.output
    assert "progress: sent 4" in result.output and "failed" not in result.output
    sms = [
        json.loads(p.read_text("utf-8")) for p in (empty_var_dir / "outbox" / "sms").glob("*.json")
    ]
    assert sorted((m["to"], m["language"]) for m in sms) == [
        ("+46701234567", "sv"),
        ("+46739876543", "ar"),
    ]  # Erik lives outside the notice's area
    parsed = {
        str(m["To"]): m
        for m in (
            BytesParser(policy=policy.default).parsebytes(p.read_bytes())
            for p in (empty_var_dir / "outbox" / "email").glob("*.eml")
        )
    }
    assert sorted(parsed) == ["birgitta@example.se", "eva@example.se"]
    # Blind and low-vision readers get the large-print notice to print at home; others do not.
    printable = list(parsed["eva@example.se"].iter_attachments())
    assert [(a.get_content_type(), a.get_filename()) for a in printable] == [
        ("application/pdf", "water_outage-sv.pdf")
    ]
    assert printable[0].get_content().startswith(b"%PDF")
    assert list(parsed["birgitta@example.se"].iter_attachments()) == []
    engine = make_engine(f"sqlite:///{empty_var_dir / 'klarvarsel.sqlite3'}")
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(SentMessage)) == 4
    engine.dispose()


def test_the_removed_send_command_says_what_to_run_instead(
    tmp_path: Path, empty_var_dir: Path
) -> None:
    people = tmp_path / "people.csv"
    people.write_text(PEOPLE_CSV, "utf-8")
    notice = str(SAMPLE_NOTICES / "care_home_power_cut.json")
    result = runner.invoke(app, ["send", notice, "--recipients", str(people), "--dry-run"])
    assert result.exit_code == 2
    assert "`klarvarsel send` was removed and nothing was sent" in result.output
    assert "klarvarsel recipients import FILE.csv --confirm" in result.output
    assert "klarvarsel deliver NOTICE.json --wait" in result.output
    assert not empty_var_dir.exists()
    listed = runner.invoke(app, ["--help"]).output
    assert "│ deliver " in listed and "│ send " not in listed  # removed: not offered
