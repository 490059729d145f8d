from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from service.cli import app
from service.config import Settings
from service.content import ContentLibrary
from service.interop.imports import import_cap
from service.interop.models import CapImport
from service.interop.safe_xml import MAX_CAP_BYTES, UnsafeXml, parse_untrusted
from tests.interop.conftest import CAP_DATA, sample

runner = CliRunner()
HOSTILE = {
    "billion-laughs.xml": "entity expansion (the 'billion laughs' attack) is refused",
    "external-entity.xml": "declares an external entity",
    "doctype.xml": "contains a DTD (<!DOCTYPE>), which CAP never uses",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_documents_are_refused_before_anything_reads_them(
    name: str, session: Session, library: ContentLibrary, settings: Settings
) -> None:
    data = (CAP_DATA / "hostile" / name).read_bytes()
    started = time.perf_counter()
    with pytest.raises(UnsafeXml) as caught:
        import_cap(session, data, library, settings, actor="t", source="t")
    assert time.perf_counter() - started < 1.0  # nothing was expanded
    assert HOSTILE[name] in str(caught.value)
    assert "root:" not in str(caught.value)  # no line of /etc/passwd ever appears
    assert session.scalar(sa.select(sa.func.count()).select_from(CapImport)) == 0


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_the_command_refuses_them_as_bad_input(name: str, var_dir: Path) -> None:
    result = runner.invoke(app, ["cap", "import", str(CAP_DATA / "hostile" / name)])
    assert result.exit_code == 2
    assert HOSTILE[name] in result.stderr and "is refused" in result.stderr


def test_an_oversized_document_is_refused_by_its_size() -> None:
    padding = b"<!--" + b"x" * MAX_CAP_BYTES + b"-->"
    data = sample("smhi-wind-orange.xml").replace(b"<alert ", padding + b"<alert ", 1)
    with pytest.raises(UnsafeXml, match=r"at most 1,048,576 \(1 MiB\) are accepted"):
        parse_untrusted(data)


def test_an_oversized_file_is_refused_by_the_command_without_reading_it_all(
    tmp_path: Path, var_dir: Path
) -> None:
    path = tmp_path / "big.xml"
    path.write_bytes(b"<alert>" + b" " * (2 * MAX_CAP_BYTES) + b"</alert>")
    result = runner.invoke(app, ["cap", "validate", str(path)])
    assert result.exit_code == 2 and "larger than 1,048,576 bytes" in result.stderr


def test_deeply_nested_elements_are_refused() -> None:
    depth = 50_000
    data = b"<alert>" + b"<a>" * depth + b"</a>" * depth + b"</alert>"
    with pytest.raises(UnsafeXml, match="nested more than 16 deep"):
        parse_untrusted(data)


def test_too_many_elements_are_refused() -> None:
    data = b"<alert>" + b"<a/>" * 30_000 + b"</alert>"
    with pytest.raises(UnsafeXml, match="more than 20,000 elements"):
        parse_untrusted(data)


def test_xml_that_is_not_well_formed_says_where() -> None:
    with pytest.raises(UnsafeXml, match="not well-formed XML at line 2, column"):
        parse_untrusted(b"<alert>\n<identifier>x</alert>")


def test_an_empty_document_is_refused() -> None:
    with pytest.raises(UnsafeXml, match="empty"):
        parse_untrusted(b"  \n")
