"""The dated tests pass whatever the machine's date: run them again with its clock a year ahead.

The service reads time only through service.clock, which the tests pin; libfaketime moves the
machine's own clock for the child process, so anything that still read the real date (a stray
datetime.now(), a date in a fixture) would turn its test red here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

DATED_TESTS = [
    "tests/rendering/test_tense.py",
    "tests/rendering/test_render_variants.py",
    "tests/api/test_app.py",
    "tests/notices",
    "tests/variants/test_render_command.py",
    "tests/web/test_public_page.py",
    "tests/delivery/test_deliver_command.py",
    "tests/delivery/test_planning.py",
    "tests/interop/test_feeds.py",
    "tests/exercises/test_rules.py",
    "tests/exercises/test_firing.py",
]


# Chromium does not start under libfaketime, and the accessibility audit reads no date.
NOT_DATED = ["tests/web/test_public_page.py::test_pages_pass_axe_wcag_22_aa"]


def test_dated_tests_pass_with_the_machine_clock_a_year_ahead() -> None:
    faketime = shutil.which("faketime")
    if faketime is None:
        message = "faketime is not installed (Debian package faketime; make test installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    env = dict(os.environ, DONT_FAKE_MONOTONIC="1", PYTHONDONTWRITEBYTECODE="1")
    result = subprocess.run(
        [
            faketime,
            "-f",
            "+365d",
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *DATED_TESTS,
            *(f"--deselect={test}" for test in NOT_DATED),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
