"""Public links follow the running server when no public base URL is configured."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from service.cli import app
from service.config import get_settings
from service.notices.links import notice_url, public_base_url
from tests.conftest import SAMPLE_NOTICES

runner = CliRunner()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(var_dir: Path) -> Iterator[str]:
    """`klarvarsel serve` on a port other than 8000, as `make run PORT=...` starts it."""
    port = _free_port()
    env = dict(os.environ, KLARVARSEL_IN_PROCESS_WORKER="false")
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # Generous: a loaded 2-core machine can take a while to import and warm the content.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            process.kill()  # stop it first: reading a live process's output would block
            output, _ = process.communicate(timeout=15)
            pytest.fail(f"the server did not start: {output.decode()[-2000:]}")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_links_follow_the_port_the_server_listens_on(server: str, tmp_path: Path) -> None:
    get_settings.cache_clear()
    assert public_base_url(get_settings()) == server
    result = runner.invoke(
        app, ["deliver", str(SAMPLE_NOTICES / "water_outage_skultuna.json"), "--dry-run"]
    )
    assert f"will be published at {server}/n/" in result.output, result.output


def test_a_configured_public_base_url_wins(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLARVARSEL_PUBLIC_BASE_URL", "https://kris.vasteras.se/")
    get_settings.cache_clear()
    assert notice_url(get_settings(), "ABC234") == "https://kris.vasteras.se/n/ABC234"
