"""`python -m bench.first_message`: `klarvarsel deliver` to 100,000 people on PostgreSQL.

A worker (`python -m service.delivery.worker_cli`) waits on an empty outbox and the local Twilio
server (tests/fakes/twilio_server.py) notes when the first message reaches it. Then, each time
on a fresh schema with 100,000 people in the register:
- warm: in a process that has already imported the service, loaded the content library and
  rendered and checked a notice once (templates, catalogs and the pronunciation dictionary
  loaded: a long-running web process that sends, as after its preview page): the time from the
  start of the command's work to the first message at the server;
- cold: `klarvarsel deliver` as a new process, from its start (Python, imports, templates and
  catalogs included);
- approved: the communicators' way, in a web process with its releaser running: a notice
  drafted by one person and approved by another, then sent; from the press of send (the
  approval checked again, released, planned) to the first message at the server.
The first two print the planning time `deliver` reports, and each the process's peak memory.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.dispatch import POSTGRES_URL, serve_fake
from bench.planning import COUNT, NOTICE, ROOT, prepare
from bench.sms_transport import free_port, wait_for


def warm_deliver(env: dict[str, str], notice: str) -> dict[str, Any]:
    """Run `deliver` in this (spawned) process after warming up; its start, output, memory."""
    os.environ.update(env)
    from typer.testing import CliRunner

    from service.cli import app
    from service.config import get_settings
    from service.content import get_library
    from service.notices.service import validate_notice
    from service.variants.service import render_notice

    library = get_library(get_settings())
    raw = json.loads(WARM_UP.read_text("utf-8"))  # another notice: what a warm process has done
    render_notice(validate_notice(raw, library), library)
    start = time.time()
    result = CliRunner().invoke(app, ["deliver", notice])
    return {
        "start": start,
        "end": time.time(),
        "output": result.output,
        "exit": result.exit_code,
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def approved_send(env: dict[str, str], notice: str) -> dict[str, Any]:
    """A web process: the notice drafted and approved by another person, then sent (timed)."""
    os.environ.update(env)
    import threading

    import sqlalchemy as sa

    from service.config import get_settings
    from service.content import get_library
    from service.notices.models import NoticeRecord
    from service.store.database import session_scope
    from service.workflow.approval import approve
    from service.workflow.drafts import create_draft
    from service.workflow.releaser import run_releaser
    from service.workflow.schemas import Actor
    from service.workflow.sending import RELEASED, send

    settings, library = get_settings(), get_library(get_settings())
    raw = json.loads(Path(notice).read_text("utf-8"))
    author, approver = Actor("author@bench", "web"), Actor("approver@bench", "web")
    with session_scope() as session:
        notice_id = create_draft(session, raw, library, author, complete=True).id
    with session_scope() as session:
        record = session.get(NoticeRecord, notice_id)
        assert record is not None
        approve(session, record, library, settings, approver)
    stop = threading.Event()
    releaser = threading.Thread(target=run_releaser, args=(settings, stop))
    releaser.start()
    time.sleep(1.0)  # the web process is idle, its releaser waiting
    start = time.time()
    with session_scope() as session:
        record = session.get(NoticeRecord, notice_id)
        assert record is not None
        send(session, record, library, settings, approver)
    clicked = time.time()
    planned = sa.select(NoticeRecord.planned_at).where(NoticeRecord.id == notice_id)
    while True:
        with session_scope() as session:
            if session.scalar(planned) is not None:
                break
        time.sleep(0.05)
    end = time.time()
    stop.set()
    RELEASED.set()
    releaser.join()
    return {
        "start": start,
        "end": end,
        "output": f"send answered after {clicked - start:.2f} s; planned after {end - start:.2f} s",
        "exit": 0,
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


WARM_UP = ROOT / "message_templates" / "water_outage" / "example.json"
# `klarvarsel deliver NOTICE` as the installed script runs it, reporting its peak memory at exit.
COLD = (
    "import atexit, resource, sys\n"
    "atexit.register(lambda: print('PEAK_RSS_KIB', resource.getrusage(resource.RUSAGE_SELF)"
    ".ru_maxrss, file=sys.stderr))\n"
    "sys.argv = ['klarvarsel', 'deliver', sys.argv[1]]\n"
    "from service.cli import app\n"
    "app()\n"
)


def cold_deliver(env: dict[str, str], notice: str) -> dict[str, Any]:
    """Run `klarvarsel deliver` as a new process; its start, output and peak memory."""
    start = time.time()
    process = subprocess.run(
        [sys.executable, "-c", COLD, notice],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    end = time.time()
    peak = re.search(r"PEAK_RSS_KIB (\d+)", process.stderr)
    return {
        "start": start,
        "end": end,
        "output": process.stdout + process.stderr,
        "exit": process.returncode,
        "rss": int(peak.group(1)) / 1024 if peak else float("nan"),
    }


def one_run(kind: str) -> dict[str, Any]:
    """A fresh schema with the register, a waiting worker and server, then `deliver`."""
    schema = f"kv_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    port = free_port()
    spawn = multiprocessing.get_context("spawn")
    parent, child = spawn.Pipe()
    server = spawn.Process(target=serve_fake, args=(port, 1, child), daemon=True)
    worker: subprocess.Popen[bytes] | None = None
    folder = tempfile.TemporaryDirectory()
    try:
        prepare(url, publish=False)
        server.start()
        assert parent.recv() == "ready"
        wait_for(port)
        env = {
            "KLARVARSEL_DATABASE_URL": url,
            "KLARVARSEL_VAR_DIR": folder.name,
            "KLARVARSEL_SMS_TRANSPORT": "twilio",
            "KLARVARSEL_TWILIO_ACCOUNT_SID": "AC" + "0123456789abcdef" * 2,
            "KLARVARSEL_TWILIO_AUTH_TOKEN": "fake-auth-token-0123456789abcdef",
            "KLARVARSEL_TWILIO_FROM": "Vasteras",
            "KLARVARSEL_TWILIO_BASE_URL": f"http://127.0.0.1:{port}",
        }
        log = Path(folder.name) / "worker.log"
        with log.open("wb") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "service.delivery.worker_cli"],
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while b" started" not in log.read_bytes():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start: {log.read_text()}")
            time.sleep(0.01)
        time.sleep(1.0)  # the worker is idle, polling an empty outbox
        load = os.getloadavg()[0]
        if kind in ("warm", "approved"):
            run = warm_deliver if kind == "warm" else approved_send
            with spawn.Pool(1) as pool:
                result = pool.apply(run, (env, str(NOTICE)))
        else:
            result = cold_deliver(env, str(NOTICE))
        first = parent.recv()[0] if parent.poll(120) else None
        result["first"] = first
        result["load"] = load
        return result
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        if server.is_alive():
            parent.send("stop")
            server.join(timeout=10)
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        folder.cleanup()


def main() -> None:
    """Both runs; prints the figures."""
    for kind in ("warm", "cold", "approved"):
        f = one_run(kind)
        if f["exit"] != 0:
            print(f"deliver ({kind}) failed:\n{f['output']}", file=sys.stderr)
            continue
        if kind == "approved":
            first = (f["first"] - f["start"]) * 1000 if f["first"] else float("nan")
            print(
                f"an approved notice sent to {COUNT:,} people from a web process (PostgreSQL, "
                f"load average {f['load']:.1f}): first message at the server {first:.0f} ms "
                f"after send was pressed ({'OK' if first < 1000 else 'OVER TARGET'}; target "
                f"< 1 s); {f['output']}"
            )
            continue
        planned = re.search(r"planned (\d+) deliveries in ([\d.]+) s", f["output"])
        first = (f["first"] - f["start"]) * 1000 if f["first"] else float("nan")
        target = "OK" if first < 1000 else "OVER TARGET"
        print(
            f"deliver to {COUNT:,} people on PostgreSQL ({kind}, load average {f['load']:.1f}): "
            f"first message at the server {first:.0f} ms after the start ({target}; target "
            f"< 1 s); command done after {f['end'] - f['start']:.1f} s, planning "
            f"{planned.group(2) if planned else '?'} s for {planned.group(1) if planned else '?'}"
            f" deliveries; peak memory {f['rss']:.0f} MiB (target < 300 MiB)"
        )


if __name__ == "__main__":
    main()
