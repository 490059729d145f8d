"""`make bench`: print the content engine's figures (record them in bench/README.md)."""

from __future__ import annotations

import json
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from service.content import get_library
from service.notices.service import validate_notice
from service.readability.service import check_text
from service.variants.service import render_notice

ROOT = Path(__file__).resolve().parent.parent
HEAT_WAVE = ROOT / "demo" / "notices" / "heat_wave_exercise.json"
SMS_TEXT = (
    "ÖVNING: Vi stänger av vattnet i Skultuna måndag 23 november från kl. 10.00 till ungefär "
    "kl. 16.00. Fyll flaskor innan dess. Vatten finns vid Skultuna skola, Kyrkvägen 1 och "
    "Idrottsplatsen, Bruksvägen 12. Koka vattnet när det kommer tillbaka. "
    "Mer info: www.vasteras.se/kris /Västerås stad"
)


def timed(label: str, func: Callable[[], object], runs: int) -> float:
    """Run `func` `runs` times after one warm-up; print and return the median in ms."""
    func()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        samples.append((time.perf_counter() - start) * 1000)
    median = statistics.median(samples)
    print(f"{label:<58} median {median:8.3f} ms  (min {min(samples):.3f}, n={runs})")
    return median


def main() -> None:
    """Print every benchmark figure."""
    start = time.perf_counter()
    library = get_library()
    raw = json.loads(HEAT_WAVE.read_text("utf-8"))
    notice = validate_notice(raw, library)
    report = render_notice(notice, library)
    cold = (time.perf_counter() - start) * 1000
    print(f"{'first render in a fresh process (loads templates, catalogs)':<58} {cold:8.1f} ms")
    print(
        f"heat_wave_exercise.json: {len(report.variants)} variants, "
        f"{len(report.checks)} audience checks (10 languages, 6 audiences, 4 channels)"
    )
    timed(
        "render + check all variants (no PDFs; target < 1000 ms)",
        lambda: render_notice(validate_notice(raw, library), library),
        runs=10,
    )
    timed(
        "check an SMS-sized Swedish text (target < 2 ms)",
        lambda: check_text(SMS_TEXT, "sv"),
        runs=500,
    )
    tracemalloc.start()
    render_notice(validate_notice(raw, library), library)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(
        f"{'Python memory allocated by one warm render (tracemalloc)':<58} {peak / 2**20:8.1f} MiB"
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'peak resident memory of the whole benchmark process':<58} {rss:8.1f} MiB")


if __name__ == "__main__":
    main()
