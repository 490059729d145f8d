"""`python -m bench.cap`: CAP export, checking, import mapping and feeds (medians, warm).

Runs on a fresh SQLite store in a temporary folder; the clock is pinned so the texts are
those of the example notices' future tense.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 20
THREADS = 20


def timed(label: str, func: Callable[[], object], runs: int = RUNS) -> float:
    """Run `func` `runs` times after one warm-up; print and return the median in ms."""
    func()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        samples.append((time.perf_counter() - start) * 1000)
    median = statistics.median(samples)
    print(f"{label}: {median:.1f} ms (median of {runs})")
    return median


def main() -> None:
    """Print the figures recorded in bench/README.md."""
    os.environ["KLARVARSEL_VAR_DIR"] = tempfile.mkdtemp(prefix="klarvarsel-bench-cap-")
    from service.clock import FrozenClock, set_clock
    from service.config import get_settings
    from service.content import get_library
    from service.interop.capmodel import read_alert
    from service.interop.export import build_alert
    from service.interop.feeds import FeedKind, build_feed
    from service.interop.imports import map_alert
    from service.interop.mapping import ResolvedReferences
    from service.interop.safe_xml import parse_untrusted
    from service.interop.validation import check_cap
    from service.notices.publish import publish_notice
    from service.notices.service import validate_notice
    from service.store.database import session_scope
    from service.store.migrate import upgrade

    set_clock(FrozenClock(datetime.fromisoformat("2026-11-23T08:00:00+01:00")))
    settings, library = get_settings(), get_library()
    upgrade(settings.effective_database_url)
    raw = json.loads((ROOT / "message_templates" / "storm" / "example.json").read_text("utf-8"))
    notice = validate_notice(raw, library)

    def export() -> bytes:
        return build_alert(
            notice, library, settings, code="K7M3PX", references=[], incident="x"
        ).xml

    xml = export()
    print(f"storm example: {len(notice.envelope.languages)} languages, {len(xml):,} bytes of CAP")
    timed("export one notice as CAP (render 10 languages, build, XSD + checks)", export)
    timed("XSD + extra checks of that alert", lambda: check_cap(xml))
    smhi = (ROOT / "tests" / "data" / "cap" / "smhi-wind-orange.xml").read_bytes()
    timed("parse safely and check an SMHI-style warning (sv + en)", lambda: check_cap(smhi))
    timed(
        "map it to a storm draft",
        lambda: map_alert(read_alert(parse_untrusted(smhi)), library, ResolvedReferences()),
    )
    with session_scope() as session:
        scenarios = ["storm", "heat_wave", "water_outage", "power_outage"]
        for number in range(THREADS):
            example = ROOT / "message_templates" / scenarios[number % 4] / "example.json"
            one = {**json.loads(example.read_text("utf-8")), "note": {"sv": f"Nr {number}."}}
            one["languages"] = ["sv"]
            publish_notice(session, validate_notice(one, library), one, actor="b", source="b")
        for language in ("sv", "ar"):
            timed(
                f"build the alerts feed with {THREADS} active threads in {language}",
                lambda lang=language: build_feed(
                    session, FeedKind.alerts, library, settings, language=lang
                ),
                runs=5,
            )
    set_clock(None)


if __name__ == "__main__":
    main()
