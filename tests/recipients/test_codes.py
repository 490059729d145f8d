"""The recipients' text twins (language_codes, ...) stay equal to their lists on every write.

Planning reads and filters only the twins, so a twin out of step would silently skip or wrongly
reach a person. Each way the register is written is checked on SQLite and PostgreSQL: the CSV
import (new and changed rows), the API's create and update, the web form, a Core bulk insert,
the migration's backfill of existing rows, and forgetting a person.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from service.clock import utcnow
from service.content import ContentLibrary
from service.notices.schemas import Mode
from service.recipients.areas import AreaMap, load_areas
from service.recipients.codes import TWINS, split_codes
from service.recipients.crud import RecipientIn, create_recipient, update_recipient
from service.recipients.csv_import import read_recipients
from service.recipients.editing import form_values, save_recipient
from service.recipients.models import RecipientRecord
from service.recipients.register import forget_person, import_recipients
from service.recipients.service import select_recipients
from service.store.database import make_engine, session_scope
from service.store.migrate import downgrade, upgrade
from tests.conftest import ROOT

CSV = (
    "external_id;name;phone;email;languages;audiences;areas;groups\n"
    "K-1;Anna Andersson;070-123 45 67;;sv;easy-read;skultuna;exercise-participants|brandkår\n"
    "K-2;Ahmed Ali;073-987 65 43;;ar|sv;general-public|relatives;barkaro|skultuna;\n"
)


@pytest.fixture(scope="module")
def areas() -> AreaMap:
    return load_areas(ROOT / "areas.toml")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def twins(engine: Engine) -> dict[str, dict[str, tuple[str, ...]]]:
    """Each person's lists as read back from the twins; asserts they equal the JSON lists."""
    found = {}
    with session_scope(engine) as session:
        for row in session.scalars(sa.select(RecipientRecord)):
            lists = {source: split_codes(getattr(row, twin)) for source, twin in TWINS.items()}
            assert lists == {s: tuple(getattr(row, s)) for s in TWINS}, row.name
            found[row.name] = lists
    return found


def import_csv(engine: Engine, text: str, library: ContentLibrary, areas: AreaMap) -> None:
    result = read_recipients(text.encode(), library.languages, library.audiences, areas)
    assert not result.errors
    with session_scope(engine) as session:
        import_recipients(session, result, confirm=True, actor="test")


def reached(engine: Engine, areas: AreaMap, target: str, audience: str) -> list[str]:
    with session_scope(engine) as session:
        found = select_recipients(session, [target], Mode.actual, areas, audiences=[audience])
        return sorted(r.name for _, r in found)


def test_import_api_web_and_forget_keep_the_twins_in_step(
    engine: Engine, library: ContentLibrary, areas: AreaMap
) -> None:
    import_csv(engine, CSV, library, areas)
    people = twins(engine)
    assert people["Ahmed Ali"]["languages"] == ("ar", "sv")
    assert people["Anna Andersson"]["groups"] == ("exercise-participants", "brandkår")
    assert reached(engine, areas, "barkaro", "relatives") == ["Ahmed Ali"]

    # A re-import that moves Ahmed and changes his audiences rewrites his twins.
    changed = CSV.replace("general-public|relatives;barkaro|skultuna", "easy-read;dingtuna")
    import_csv(engine, changed, library, areas)
    assert twins(engine)["Ahmed Ali"]["areas"] == ("dingtuna",)
    assert reached(engine, areas, "barkaro", "relatives") == []
    assert reached(engine, areas, "dingtuna", "easy-read") == ["Ahmed Ali"]

    with session_scope(engine) as session:  # the API
        data = RecipientIn(name="Eva Ek", phone="070-111 22 33", areas=["skultuna"])
        eva = create_recipient(session, data, library, actor="test", source="api").id
    assert twins(engine)["Eva Ek"]["audiences"] == ("general-public",)
    with session_scope(engine) as session:
        row = session.get(RecipientRecord, eva)
        assert row is not None
        data = RecipientIn(
            name="Eva Ek", phone="070-111 22 33", languages=["fi", "sv"], areas=["barkaro"]
        )
        update_recipient(session, row, data, library, actor="test", source="api")
    assert twins(engine)["Eva Ek"]["languages"] == ("fi", "sv")
    assert reached(engine, areas, "barkaro", "general-public") == ["Eva Ek"]

    with session_scope(engine) as session:  # the web form
        row = session.get(RecipientRecord, eva)
        assert row is not None
        fields = form_values(row) | {"audiences": "relatives easy-read", "active": "yes"}
        assert save_recipient(session, row, fields, library, actor="test", source="web") == []
    assert twins(engine)["Eva Ek"]["audiences"] == ("relatives", "easy-read")
    assert reached(engine, areas, "barkaro", "relatives") == ["Eva Ek"]

    with session_scope(engine) as session:
        forget_person(session, eva, actor="test")
    assert "Eva Ek" not in twins(engine)
    assert reached(engine, areas, "barkaro", "relatives") == []


def test_a_core_bulk_insert_fills_the_twins_from_the_lists(engine: Engine, areas: AreaMap) -> None:
    rows = [
        {
            "name": f"Bulk {i}",
            "phone": f"+4670000000{i}",
            "languages": ["so", "sv"][: i + 1],
            "audiences": ["general-public"],
            "areas": ["skultuna"],
            "groups": [],
            "legal_basis": "",
            "active": True,
        }
        for i in range(2)
    ]
    with engine.begin() as conn:
        conn.execute(sa.insert(RecipientRecord), rows)
    people = twins(engine)
    assert people["Bulk 1"]["languages"] == ("so", "sv")
    assert people["Bulk 0"]["groups"] == ()
    assert reached(engine, areas, "skultuna", "general-public") == ["Bulk 0", "Bulk 1"]


def test_the_migration_fills_the_twins_of_existing_rows(database_url: str, areas: AreaMap) -> None:
    upgrade(database_url, "0011")
    engine = make_engine(database_url)
    old = sa.table(
        "recipients",
        *(sa.column(n) for n in ("name", "legal_basis", "active")),
        *(sa.column(n, sa.DateTime(timezone=True)) for n in ("created_at", "updated_at")),
        *(sa.column(n, sa.JSON) for n in TWINS),
    )
    with engine.begin() as conn:
        conn.execute(
            old.insert(),
            [
                {
                    "name": "Före",
                    "legal_basis": "",
                    "active": True,
                    "created_at": utcnow(),
                    "updated_at": utcnow(),
                    "languages": ["ar", "sv"],
                    "audiences": ["easy-read", "relatives"],
                    "areas": ["skultuna"],
                    "groups": ["exercise-participants"],
                },
            ],
        )
    upgrade(database_url)
    assert twins(engine)["Före"]["audiences"] == ("easy-read", "relatives")
    assert reached(engine, areas, "skultuna", "relatives") == ["Före"]
    engine.dispose()
    downgrade(database_url, "0011")  # and back: the twins go, the lists stay
    engine = make_engine(database_url)
    columns = {c["name"] for c in sa.inspect(engine).get_columns("recipients")}
    assert not columns & set(TWINS.values()) and set(TWINS) <= columns
    engine.dispose()
