"""The project stands alone: nothing in it reads files from beside the clone."""

from __future__ import annotations

import re
import subprocess

from tests.conftest import ROOT

# A path that climbs out of the project into the team's shared folder.
OUTSIDE = re.compile(r"\.\./shared|parent\s*/\s*[\"']shared[\"']|parents\[\d\]")


def test_no_tracked_file_reaches_outside_the_project() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    offenders = []
    for name in filter(None, tracked):
        path = ROOT / name.decode()
        if path.suffix not in {".py", ".md", ".toml", ".cfg", ".sh", ".j2", ".html", ""}:
            continue
        if path.name == "DESIGN.md" or not path.is_file():
            continue  # the design notes describe the shared folder; they do not read it
        text = path.read_text("utf-8", errors="replace")
        offenders += [f"{name.decode()}: {m.group(0)}" for m in OUTSIDE.finditer(text)]
    assert offenders == []
