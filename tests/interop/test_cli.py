from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import xmlschema
from typer.testing import CliRunner

from service.cli import app
from service.config import get_settings
from tests.conftest import ROOT, load_json
from tests.interop.conftest import CAP, CAP_DATA

runner = CliRunner()
STORM = ROOT / "message_templates" / "storm" / "example.json"


def test_export_prints_a_valid_alert_for_a_notice_file(
    var_dir: Path, xsd: xmlschema.XMLSchema
) -> None:
    result = runner.invoke(app, ["cap", "export", str(STORM)])
    assert result.exit_code == 0, result.stderr
    root = ET.fromstring(result.stdout.encode())
    xsd.validate(root)
    assert root.findtext(CAP + "msgType") == "Alert"
    assert len(root.findall(CAP + "info")) == len(load_json(STORM)["languages"])


def test_export_of_a_published_code_and_of_its_file_give_the_same_alert(var_dir: Path) -> None:
    delivered = runner.invoke(
        app, ["deliver", str(STORM), "--allow-no-recipients"], catch_exceptions=False
    )
    assert delivered.exit_code == 0, delivered.output
    code = next(line for line in delivered.output.split() if "/n/" in line).rsplit("/", 1)[-1]
    by_code = runner.invoke(app, ["cap", "export", code.lower()])
    by_file = runner.invoke(app, ["cap", "export", str(STORM)])
    assert by_code.exit_code == by_file.exit_code == 0
    assert by_code.stdout == by_file.stdout
    assert f"<identifier>vasteras.se.klarvarsel.{code}</identifier>" in by_code.stdout


def test_export_says_which_languages_it_left_out(var_dir: Path) -> None:
    raw = json.loads((ROOT / "message_templates" / "general" / "example.json").read_text("utf-8"))
    for name in ("headline", "message", "sms"):
        raw["fields"][name].pop("ar", None)  # nobody translated the communicator's text
    general = var_dir / "general.json"
    general.write_text(json.dumps(raw, ensure_ascii=False), "utf-8")
    result = runner.invoke(app, ["cap", "export", str(general)])
    assert result.exit_code == 0
    assert "left out ar: no ar text was written for headline, message" in result.stderr
    assert "<language>ar</language>" not in result.stdout


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("NOSUCH", "neither a notice file nor a published notice's code"),
        ("K7M3PX", "no file K7M3PX and no published notice with that code"),
    ],
)
def test_export_of_something_unknown_is_bad_input(
    argument: str, message: str, var_dir: Path
) -> None:
    result = runner.invoke(app, ["cap", "export", argument])
    assert result.exit_code == 2 and message in result.stderr and result.stdout == ""


def test_export_of_an_invalid_notice_is_bad_input(var_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "notice.json"
    path.write_text(json.dumps({**load_json(STORM), "areas": ["atlantis"]}), "utf-8")
    result = runner.invoke(app, ["cap", "export", str(path)])
    assert result.exit_code == 2 and "unknown area 'atlantis'" in result.stderr


def test_export_refuses_to_print_an_alert_that_fails_its_checks(
    var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A sender so long that identifiers pass 255 characters: the final check catches it.
    monkeypatch.setenv("KLARVARSEL_CAP_SENDER", "kris@" + "kommun." * 40 + "se")
    get_settings.cache_clear()
    result = runner.invoke(app, ["cap", "export", str(STORM)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "identifier is longer than 255 characters" in result.stderr


def test_import_prints_the_mapping_and_recognises_a_repeat(var_dir: Path) -> None:
    path = str(CAP_DATA / "smhi-wind-orange.xml")
    dry = runner.invoke(app, ["cap", "import", path, "--dry-run"])
    assert dry.exit_code == 0 and dry.stdout.startswith("dry run: nothing stored")
    first = runner.invoke(app, ["cap", "import", path])
    assert first.exit_code == 0
    assert first.stdout.startswith("imported as draft #1 (opendata@smhi.se ")
    assert "scenario storm: the alert's event or headline says" in first.stdout
    again = runner.invoke(app, ["cap", "import", path, "--json"])
    summary = json.loads(again.stdout)
    assert (summary["import_id"], summary["repeat"]) == (1, True)
    assert summary["notice"]["fields"]["warning_level"] == "orange"


def test_import_of_invalid_cap_lists_every_problem(var_dir: Path, tmp_path: Path) -> None:
    data = (CAP_DATA / "smhi-wind-orange.xml").read_bytes()
    data = data.replace(b"+01:00</sent>", b"Z</sent>").replace(b"2.49.0", b"2 49 0", 1)
    path = tmp_path / "bad.xml"
    path.write_bytes(data)
    result = runner.invoke(app, ["cap", "import", str(path)])
    assert result.exit_code == 2
    assert "is not valid CAP 1.2; nothing imported" in result.stderr
    assert "/alert/sent: is '2027-01-12T13:00:00Z'" in result.stderr
    assert "/alert/identifier: identifier '2 49 0" in result.stderr


def test_validate_says_valid_or_lists_problems(var_dir: Path, tmp_path: Path) -> None:
    good = runner.invoke(app, ["cap", "validate", str(CAP_DATA / "smhi-heat-yellow.xml")])
    assert good.exit_code == 0 and good.stdout.startswith("valid CAP 1.2: 2.49.0.1.752")
    bad_path = tmp_path / "bad.xml"
    bad_path.write_bytes(
        (CAP_DATA / "smhi-wind-red-update.xml")
        .read_bytes()
        .replace(b",2027-01-12T13:00:00+01:00", b"")
    )
    bad = runner.invoke(app, ["cap", "validate", str(bad_path)])
    assert bad.exit_code == 1 and "is not one sender,identifier,sent triple" in bad.stderr


def test_feed_prints_the_feed(var_dir: Path) -> None:
    result = runner.invoke(app, ["cap", "feed", "exercises", "--lang", "en"])
    assert result.exit_code == 0
    root = ET.fromstring(result.stdout.encode())
    assert root.findtext("{http://www.w3.org/2005/Atom}title") == "Västerås stad: EXERCISE"
    assert runner.invoke(app, ["cap", "feed", "drills"]).exit_code == 2
    assert runner.invoke(app, ["cap", "feed", "alerts", "--lang", "xx"]).exit_code == 2
