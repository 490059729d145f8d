"""Planning's SQL filters (areas, audiences, the exercise group) select exactly the right people.

The register is read as plain rows with areas, audiences and the exercise group filtered in SQL
(service.recipients.service); these tests compare that, on SQLite and PostgreSQL, with the
definition written out in Python over the JSON lists, for every combination of a tricky
register: nested areas, codes that differ only in letter case or that contain LIKE wildcards,
people with no audiences (the general public), inactive people and the exercise group.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from service.notices.schemas import Mode
from service.recipients.areas import AreaMap, load_areas
from service.recipients.models import RecipientRecord
from service.recipients.schemas import Recipient
from service.recipients.service import (
    DEFAULT_AUDIENCE,
    EXERCISE_GROUP,
    reaches_anybody,
    select_recipients,
    to_recipient,
)
from service.store.database import make_engine, session_scope
from service.store.migrate import upgrade

AREAS = """
[kommun]
[norr]
parent = "kommun"
[norr-by]
parent = "norr"
[NORR]
[syd]
parent = "kommun"
[n_rr]
["a%b"]
"""
# (areas, audiences, languages, groups, active)
PEOPLE: list[tuple[list[str], list[str], list[str], list[str], bool]] = [
    (["norr"], ["general-public"], ["sv"], [], True),
    (["norr-by"], ["easy-read"], ["ar", "sv"], [EXERCISE_GROUP], True),
    (["NORR"], ["general-public"], ["fi"], [], True),
    (["syd", "norr"], ["relatives", "easy-read"], ["so", "sv"], [], True),
    (["n_rr"], ["general-public"], ["sv"], [EXERCISE_GROUP, "brandkår"], True),
    (["a%b"], ["care-staff"], ["uk"], [], True),
    (["kommun"], [], [], [], True),  # no audiences: the general public; no language: sv
    (["syd"], ["general-public"], ["sv"], [EXERCISE_GROUP], False),  # inactive
    ([], ["general-public"], ["sv"], [], True),  # no area: reached by nothing
    (["okänt-område"], ["easy-read"], ["sv"], [], True),  # an area not in the file
    (["norr"], ["Easy-Read"], ["sv"], [], True),  # an audience differing in case
]
TARGETS = [["kommun"], ["norr"], ["NORR"], ["n_rr"], ["a%b"], ["syd", "NORR"], ["okänt-område"]]
AUDIENCES = [
    ["general-public"],
    ["easy-read"],
    ["easy-read", "relatives"],
    ["care-staff", "general-public"],
    ["Easy-Read"],
]


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        session.add_all(
            RecipientRecord(
                name=f"Person {i}",
                phone=f"+467000000{i:02d}",
                languages=langs,
                audiences=auds,
                areas=areas,
                groups=groups,
                legal_basis="test",
                active=active,
            )
            for i, (areas, auds, langs, groups, active) in enumerate(PEOPLE)
        )
    yield engine
    engine.dispose()


@pytest.fixture
def areas(tmp_path: Path) -> AreaMap:
    path = tmp_path / "areas.toml"
    path.write_text(AREAS, "utf-8")
    return load_areas(path)


def expected(
    engine: Engine, targets: list[str], audiences: list[str], mode: Mode, areas: AreaMap
) -> list[tuple[int, Recipient]]:
    """The definition, in Python over the JSON lists of full rows."""
    with session_scope(engine) as session:
        rows = session.scalars(sa.select(RecipientRecord).order_by(RecipientRecord.id)).all()
        found = []
        for row in rows:
            theirs = list(row.audiences) or [DEFAULT_AUDIENCE]
            if not row.active or not areas.covers(targets, list(row.areas)):
                continue
            if mode != Mode.actual and EXERCISE_GROUP not in row.groups:
                continue
            if set(theirs) & set(audiences):
                found.append((row.id, to_recipient(row)))
        return found


def test_the_sql_filters_select_exactly_the_people_the_definition_does(
    engine: Engine, areas: AreaMap
) -> None:
    checked = 0
    for targets, audiences, mode in itertools.product(TARGETS, AUDIENCES, list(Mode)):
        want = expected(engine, targets, audiences, mode, areas)
        with session_scope(engine) as session:
            got = list(select_recipients(session, targets, mode, areas, audiences=audiences))
            anybody = reaches_anybody(session, targets, audiences, mode, areas)
        assert got == want, (targets, audiences, mode)
        assert anybody == bool(want), (targets, audiences, mode)
        checked += bool(want)
    assert checked > 20  # the combinations reach people, not only nobody


def test_nested_areas_wildcards_and_letter_case_are_kept_apart(
    engine: Engine, areas: AreaMap
) -> None:
    def names(targets: list[str], audiences: list[str]) -> list[str]:
        with session_scope(engine) as session:
            found = select_recipients(session, targets, Mode.actual, areas, audiences=audiences)
            return [r.name for _, r in found]

    everyone = ["general-public", "easy-read", "relatives", "care-staff"]
    assert names(["norr"], everyone) == ["Person 0", "Person 1", "Person 3"]
    assert names(["NORR"], everyone) == ["Person 2"]
    assert names(["n_rr"], everyone) == ["Person 4"]  # not "norr": _ is no wildcard
    assert names(["a%b"], everyone) == ["Person 5"]
    assert names(["kommun"], ["general-public"]) == ["Person 0", "Person 6"]
    # Audiences are compared exactly too (SQLite's LIKE alone would ignore the case).
    assert names(["kommun"], ["Easy-Read"]) == ["Person 10"]
    assert names(["kommun"], ["easy-read"]) == ["Person 1", "Person 3"]


def test_languages_and_groups_come_back_in_their_stored_order(
    engine: Engine, areas: AreaMap
) -> None:
    with session_scope(engine) as session:
        found = dict(
            select_recipients(session, ["kommun", "n_rr"], Mode.exercise, areas, audiences=None)
        )
    people = {r.name: r for r in found.values()}
    assert sorted(people) == ["Person 1", "Person 4"]
    assert people["Person 1"].languages == ("ar", "sv")
    assert people["Person 4"].groups == (EXERCISE_GROUP, "brandkår")


def test_keys_made_in_bulk_equal_the_single_key() -> None:
    from service.recipients.service import recipient_key, recipient_keys

    keys = recipient_keys("test-secret")
    assert [keys(i) for i in (1, 2, 99_999)] == [
        recipient_key("test-secret", i) for i in (1, 2, 99_999)
    ]
