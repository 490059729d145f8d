"""`python -m bench.planning`: plan 100,000 recipients on PostgreSQL and SQLite; time and memory.

Each database gets a fresh store (a new PostgreSQL schema, a new SQLite file). Planning runs in
a fresh process of its own, so its peak resident memory is not the recipient generator's.

Then, on PostgreSQL, `klarvarsel deliver` itself (bench.first_message): the time from the start
of the command to the first message at the local Twilio server, with a worker waiting.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
NOTICE = ROOT / "message_templates" / "heat_wave" / "example.json"
POSTGRES = os.environ.get(
    "KLARVARSEL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
COUNT = int(os.environ.get("BENCH_RECIPIENTS", "100000"))
AREAS = ["vasteras-centrum", "skultuna", "barkaro", "dingtuna", "finnslatten"]
LANGUAGES = [["sv"], ["sv"], ["sv"], ["ar", "sv"], ["so"], ["fi", "sv"], ["uk"], ["fa"]]
AUDIENCES = [
    ["general-public"],
    ["general-public"],
    ["general-public"],
    ["easy-read"],
    ["other-languages"],
    ["older-people-living-alone"],
    ["visually-impaired"],
    ["general-public", "care-staff"],
    ["relatives"],
]


def recipients(count: int) -> Iterator[list[dict[str, Any]]]:
    """Register rows in batches of 5,000: a mix of languages, audiences, areas and contacts."""
    from service.clock import utcnow

    now = utcnow()
    batch: list[dict[str, Any]] = []
    for i in range(count):
        batch.append(
            {
                "external_id": f"b{i}",
                "name": f"Person {i}",
                "phone": f"+4670{i:07d}" if i % 10 else None,
                "email": f"p{i}@example.se" if i % 3 == 0 else None,
                "languages": LANGUAGES[i % len(LANGUAGES)],
                "audiences": AUDIENCES[i % len(AUDIENCES)],
                "areas": [AREAS[i % len(AREAS)]],
                "groups": ["exercise-participants"] if i % 50 == 0 else [],
                "legal_basis": "public task",
                "active": True,
                "created_at": now,
                "updated_at": now,
            }
        )
        if len(batch) == 5000:
            yield batch
            batch = []
    if batch:
        yield batch


def prepare(url: str, *, publish: bool = True) -> None:
    """Migrate, fill the register and (unless not `publish`) publish the notice."""
    from service.content import get_library
    from service.notices.publish import publish_notice
    from service.notices.service import validate_notice
    from service.recipients.models import RecipientRecord
    from service.store.database import make_engine, session_scope
    from service.store.migrate import upgrade

    upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        for batch in recipients(COUNT):
            conn.execute(sa.insert(RecipientRecord), batch)
    raw = json.loads(NOTICE.read_text("utf-8"))
    if not publish:
        engine.dispose()
        return
    with session_scope(engine) as session:
        publish_notice(
            session, validate_notice(raw, get_library()), raw, actor="bench", source="bench"
        )
    engine.dispose()


def plan(url: str) -> dict[str, float]:
    """Plan the notice (in its own process) and return the figures."""
    from sqlalchemy.orm import sessionmaker

    from service.config import get_settings
    from service.content import get_library
    from service.delivery.models import Delivery
    from service.delivery.planning import plan_deliveries
    from service.notices.models import NoticeRecord
    from service.notices.service import validate_notice
    from service.recipients.areas import load_areas
    from service.store.database import make_engine

    settings = get_settings()
    library = get_library()
    areas = load_areas(settings.areas_file)
    engine = make_engine(url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as session:
        record = session.scalars(sa.select(NoticeRecord)).one()
    notice = validate_notice(record.payload, library)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss_before = usage.ru_maxrss / 1024
    start = time.perf_counter()
    summary = plan_deliveries(factory, record, notice, library, areas, settings)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    again = time.perf_counter()
    replan = plan_deliveries(factory, record, notice, library, areas, settings)
    replan_seconds = time.perf_counter() - again
    with factory() as session:
        rows = session.scalar(sa.select(sa.func.count()).select_from(Delivery)) or 0
    engine.dispose()
    return {
        "seconds": seconds,
        "cpu": cpu,
        "first_batch": summary.first_batch_seconds or 0.0,
        "recipients": summary.recipients,
        "inserted": summary.inserted,
        "unreachable": summary.unreachable,
        "rows": rows,
        "replan_seconds": replan_seconds,
        "replan_inserted": replan.inserted,
        "rss_before": rss_before,
        "rss_peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run(label: str, url: str) -> None:
    """Prepare a store, plan in a fresh process, print the figures."""
    start = time.perf_counter()
    prepare(url)
    load = os.getloadavg()[0]
    print(
        f"{label}: {COUNT:,} recipients inserted in {time.perf_counter() - start:.1f} s "
        f"(load average {load:.1f} on {os.cpu_count()} cores)"
    )
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        f = pool.apply(plan, (url,))
    target = "OK" if f["seconds"] < 5 else "OVER TARGET"
    print(
        f"  plan_deliveries: {f['seconds']:.2f} s ({target}; target < 5 s; our process used "
        f"{f['cpu']:.2f} s of CPU, the rest is the database and other load), first batch "
        f"committed after {f['first_batch'] * 1000:.0f} ms; {f['recipients']:,.0f} recipients, "
        f"{f['inserted']:,.0f} deliveries inserted ({f['unreachable']:,.0f} unreachable rows)"
    )
    print(
        f"  re-planning: {f['replan_seconds']:.2f} s, {f['replan_inserted']:.0f} new rows "
        f"(total {f['rows']:,.0f})"
    )
    print(
        f"  peak resident memory of the planning process: {f['rss_peak']:.0f} MiB "
        f"({f['rss_before']:.0f} MiB before planning: interpreter, content, catalogs)"
    )


def main() -> None:
    """Both databases, each in a fresh store."""
    schema = f"kv_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        print(f"PostgreSQL: not reachable ({exc.orig}); skipped", file=sys.stderr)
    else:
        try:
            run("PostgreSQL", f"{POSTGRES}?options=-csearch_path%3D{schema}")
        finally:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()
    with tempfile.TemporaryDirectory() as folder:
        run("SQLite", f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
    from bench.first_message import main as first_message

    first_message()


if __name__ == "__main__":
    main()
