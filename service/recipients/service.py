"""Reading the register: which recipients a notice reaches, and their pseudonymous keys."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from service.clock import as_utc
from service.notices.schemas import Mode
from service.recipients.areas import AreaMap
from service.recipients.codes import SEPARATOR, split_codes
from service.recipients.models import RecipientRecord
from service.recipients.schemas import Recipient

EXERCISE_GROUP = "exercise-participants"
DEFAULT_AUDIENCE = "general-public"  # whom a row with no audiences counts as


def recipient_key(secret: str, recipient_id: int) -> str:
    """A pseudonymous, stable key for a recipient; it outlives a GDPR deletion of the row."""
    return hmac.new(
        secret.encode(), f"recipient:{recipient_id}".encode(), hashlib.sha256
    ).hexdigest()


def recipient_keys(secret: str) -> Callable[[int], str]:
    """recipient_key with the secret set up once: many keys, each the same as recipient_key's."""
    keyed = hmac.new(secret.encode(), digestmod=hashlib.sha256)

    def key(recipient_id: int) -> str:
        mac = keyed.copy()
        mac.update(f"recipient:{recipient_id}".encode())
        return mac.hexdigest()

    return key


def to_recipient(row: RecipientRecord) -> Recipient:
    """The register row as the delivery code sees a recipient."""
    return Recipient(
        name=row.name,
        phone=row.phone,
        email=row.email,
        languages=tuple(row.languages) or ("sv",),
        audiences=tuple(row.audiences) or ("general-public",),
        external_id=row.external_id or "",
        groups=tuple(row.groups),
    )


def holds_any(column: Any, codes: Iterable[str], dialect: str) -> sa.ColumnElement[bool]:
    """SQL: the text twin `column` holds at least one of `codes`.

    PostgreSQL compares arrays (`&&`), which the GIN indexes of migration 0012 serve; SQLite
    looks for each code between separators. Planning checks the result again in Python, so
    both databases give exactly the same answer (SQLite's LIKE ignores ASCII case).
    """
    wanted = sorted(set(codes))
    if not wanted:
        return sa.false()
    if dialect == "postgresql":
        array = sa.func.string_to_array(column, SEPARATOR)
        return array.op("&&")(sa.bindparam(None, wanted, type_=postgresql.ARRAY(sa.Text)))
    return sa.or_(*(column.contains(f"{SEPARATOR}{c}{SEPARATOR}", autoescape=True) for c in wanted))


def _reached(
    dialect: str, covered: frozenset[str], audiences: frozenset[str] | None, mode: Mode
) -> sa.ColumnElement[bool]:
    """The WHERE clause for a notice's recipients (a superset on SQLite; see holds_any)."""
    r = RecipientRecord
    clause = sa.and_(r.active.is_(True), holds_any(r.area_codes, covered, dialect))
    if audiences is not None:
        by_audience = holds_any(r.audience_codes, audiences, dialect)
        if DEFAULT_AUDIENCE in audiences:  # an empty list means the general public
            by_audience = sa.or_(by_audience, r.audience_codes == "")
        clause = sa.and_(clause, by_audience)
    if mode != Mode.actual:
        clause = sa.and_(clause, holds_any(r.group_codes, [EXERCISE_GROUP], dialect))
    return clause


def reaches_anybody(
    session: Session, targets: list[str], audiences: Iterable[str], mode: Mode, areas: AreaMap
) -> bool:
    """Whether any active recipient is in the areas with one of the audiences (one EXISTS).

    Exact as the planning pass is: the SQL filter can only over-match on SQLite's letter case,
    so candidates are confirmed in Python (at most a few rows are read).
    """
    for _ in select_recipients(session, targets, mode, areas, audiences=audiences, batch_size=50):
        return True
    return False


def reach_digest(
    session: Session, targets: list[str], audiences: Iterable[str], mode: Mode, areas: AreaMap
) -> str:
    """Who a notice would read from the register, as one aggregate (no row leaves the database).

    The count, the sum of the ids and of the revisions (every UPDATE raises a row's by one) of
    the rows planning would read, and the latest one added: a person added, removed, moved in or
    out, or changed in any way since changes it, whenever their transaction commits. Approval
    binds to it, so sending can tell without reading 100,000 rows again.
    """
    r = RecipientRecord
    dialect = session.get_bind().dialect.name
    clause = _reached(dialect, areas.covered(targets), frozenset(audiences), mode)
    count, ids, revisions, newest = session.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(r.id), 0),
            sa.func.coalesce(sa.func.sum(r.revision), 0),
            # SQLite may give a deleted row's id to the next one: its creation still shows.
            sa.func.max(r.created_at),
        ).where(clause)
    ).one()
    added = as_utc(newest).isoformat() if newest is not None else ""
    return f"{count}:{ids}:{revisions}:{added}"


def select_recipients(
    session: Session,
    targets: list[str],
    mode: Mode,
    areas: AreaMap,
    *,
    audiences: Iterable[str] | None = None,
    batch_size: int = 2000,
) -> Iterator[tuple[int, Recipient]]:
    """Active recipients in the targeted areas (with one of `audiences`), streamed in id order.

    One pass of plain rows: only the columns planning needs, the lists as text twins (no ORM
    objects, no JSON decoding), areas, audiences and the exercise group filtered in SQL.
    Exercise and test notices reach only the exercise group. Rows stream in batches, so
    100,000 recipients never sit in memory at once.
    """
    dialect = session.get_bind().dialect.name
    wanted = frozenset(audiences) if audiences is not None else None
    covered = areas.covered(targets)
    clause = _reached(dialect, covered, wanted, mode)
    r = RecipientRecord
    query = (
        sa.select(
            r.id,
            r.name,
            r.phone,
            r.email,
            r.external_id,
            r.language_codes,
            r.audience_codes,
            r.area_codes,
            r.group_codes,
        )
        .where(clause)
        .order_by(r.id)
        .execution_options(yield_per=batch_size)
    )
    exercise_only = mode != Mode.actual
    # On the session's connection, as Core: rows come back as plain tuples, no ORM loading.
    for row in session.connection().execute(query):
        rid, name, phone, email, external_id, langs, auds, row_areas, groups = row
        if covered.isdisjoint(split_codes(row_areas)):
            continue
        group_list = split_codes(groups)
        if exercise_only and EXERCISE_GROUP not in group_list:
            continue
        their_audiences = split_codes(auds) or (DEFAULT_AUDIENCE,)
        if wanted is not None and wanted.isdisjoint(their_audiences):
            continue
        yield (
            rid,
            Recipient(
                name=name,
                phone=phone,
                email=email,
                languages=split_codes(langs) or ("sv",),
                audiences=their_audiences,
                external_id=external_id or "",
                groups=group_list,
            ),
        )
