"""One migrated database with the demo register and a running app per module (the API tests)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.api.ratelimit import BUCKETS
from service.cli import app as cli
from service.clock import ShiftedClock, set_clock
from service.config import get_settings
from service.main import app
from service.store.database import get_engine
from tests.accounts.support import api_key, bearer
from tests.conftest import TEST_NOW


@dataclass
class Api:
    """The running app and keys of each kind, in the module's database."""

    client: TestClient
    var_dir: Path
    author: dict[str, str]
    approver: dict[str, str]
    both: dict[str, str]  # writes and approves: four eyes refuses its own alerts
    admin: dict[str, str]
    test_key: dict[str, str]

    def key(self, *scopes: str, test: bool = False) -> dict[str, str]:
        """A new key with these scopes."""
        return bearer(api_key(get_engine(), *scopes, test=test))


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The app with its in-process worker and releaser, over SQLite with the demo register."""
    folder = tmp_path_factory.mktemp("api") / "var"
    set_clock(ShiftedClock(TEST_NOW))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KLARVARSEL_VAR_DIR", str(folder))
        env.setenv("KLARVARSEL_IN_PROCESS_SCHEDULER", "false")
        for name in ("DATABASE_URL", "PUBLIC_BASE_URL", "ALLOW_SELF_APPROVAL"):
            env.delenv(f"KLARVARSEL_{name}", raising=False)
        get_settings.cache_clear()
        get_engine.cache_clear()
        BUCKETS.clear()
        assert CliRunner().invoke(cli, ["demo-data"]).exit_code == 0
        engine = get_engine()
        write = ("notices:read", "notices:write")
        approve = ("notices:read", "notices:approve", "notices:send", "reports:read")
        every = [
            "notices:read", "notices:write", "notices:approve", "notices:send",
            "recipients:read", "recipients:write", "reports:read", "admin",
        ]  # fmt: skip
        with TestClient(app, raise_server_exceptions=False) as client:
            yield Api(
                client=client,
                var_dir=folder,
                author=bearer(api_key(engine, *write, name="author system")),
                approver=bearer(api_key(engine, *approve, name="approver system")),
                both=bearer(api_key(engine, *write, *approve, name="one-person system")),
                admin=bearer(api_key(engine, *every, name="admin system")),
                test_key=bearer(api_key(engine, *every, test=True, name="integrator test")),
            )
        get_engine().dispose()
        get_settings.cache_clear()
        get_engine.cache_clear()
    set_clock(None)
