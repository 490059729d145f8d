"""`python -m bench.dispatch`: one dispatch worker on PostgreSQL against the local Twilio server.

Three processes, as in production: this one (plans deliveries into PostgreSQL, in batches of
1,000 as the planner commits them), the worker (`python -m service.delivery.worker_cli`, the
real entry point) and the fake Twilio Messages API (tests/fakes/twilio_server.py), which notes
when the first and the last message reached it. Only 127.0.0.1 is contacted; the benchmark
works in a schema of its own and drops it at the end.

Prints messages per second at the server, the worker's peak resident memory, the time from
the first planned batch to the first message at the server, and CPU per message: the workers'
own and PostgreSQL's (every postgres process on the machine, so other users of the same server
count too). `--workers N` runs N worker processes on the same outbox.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import subprocess
import sys
import time
import uuid
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.sms_transport import free_port, wait_for
from service.delivery.models import Delivery
from service.store.database import make_engine, session_scope
from service.store.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get(
    "KLARVARSEL_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PLAN_BATCH = 1000


def serve_fake(port: int, expected: int, conn: Connection) -> None:
    """The fake Twilio server; reports (first, last, count, distinct numbers) when done."""
    from tests.fakes.twilio_server import FakeTwilio

    times: list[float] = []

    class TimedFake(FakeTwilio):
        def _message(self, form: dict[str, str]) -> dict[str, Any]:
            times.append(time.time())
            return super()._message(form)

    fake = TimedFake(port=port).start()
    conn.send("ready")
    while len(times) < expected and not conn.poll(0.01):
        pass
    numbers = {m["to"] for m in list(fake.messages.values())}
    conn.send((times[0] if times else None, times[-1] if times else None, len(times), len(numbers)))
    fake.stop()


def seed(engine: sa.Engine, count: int) -> tuple[int, list[dict[str, Any]]]:
    """A notice and `count` recipients; returns the notice id and the delivery rows to plan."""
    from tests.delivery.test_worker import seed as seed_people

    notice_id = seed_people(engine, count, deliveries=False)
    rows = [
        {
            "notice_id": notice_id,
            "recipient_id": i,
            "recipient_key": f"key-{i}",
            "channel": "sms",
            "address": f"+4670{i:07d}",
            "language": "sv",
            "register": "standard",
            "role": "public",
            "audience": "general-public",
            "status": "planned",
            "attempts": 0,
        }
        for i in range(1, count + 1)
    ]
    return notice_id, rows


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu() -> float:
    """CPU used so far by every PostgreSQL process on this machine."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().startswith("postgres"):
                    total += cpu_seconds(int(entry.name))
            except OSError:
                continue
    return total


def peak_memory_mib(pid: int) -> float:
    """The process's peak resident set size (VmHWM) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500, help="KLARVARSEL_WORKER_BATCH_SIZE")
    parser.add_argument("--concurrency", type=int, default=100, help="messages in flight")
    parser.add_argument("--rate", type=float, default=50000, help="SMS segments per second")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    args = parser.parse_args()

    schema = f"kv_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    port = free_port()
    parent, child = multiprocessing.get_context("spawn").Pipe()
    server = multiprocessing.get_context("spawn").Process(
        target=serve_fake, args=(port, args.deliveries, child), daemon=True
    )
    workers: list[subprocess.Popen[bytes]] = []
    engine = make_engine(url)
    try:
        upgrade(url)
        _, rows = seed(engine, args.deliveries)
        server.start()
        assert parent.recv() == "ready"
        wait_for(port)
        env = {
            **os.environ,
            "KLARVARSEL_DATABASE_URL": url,
            "KLARVARSEL_SMS_TRANSPORT": "twilio",
            "KLARVARSEL_TWILIO_ACCOUNT_SID": "AC" + "0123456789abcdef" * 2,
            "KLARVARSEL_TWILIO_AUTH_TOKEN": "fake-auth-token-0123456789abcdef",
            "KLARVARSEL_TWILIO_FROM": "Vasteras",
            "KLARVARSEL_TWILIO_BASE_URL": f"http://127.0.0.1:{port}",
            "KLARVARSEL_WORKER_BATCH_SIZE": str(args.batch),
            "KLARVARSEL_WORKER_CONCURRENCY": str(args.concurrency),
            "KLARVARSEL_SMS_RATE_PER_SECOND": str(args.rate),
        }
        logs = [ROOT / "var" / f"bench-dispatch-worker-{n}.log" for n in range(args.workers)]
        logs[0].parent.mkdir(exist_ok=True)
        for log in logs:
            with log.open("wb") as out:
                workers.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "service.delivery.worker_cli"],
                        cwd=ROOT,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
        deadline = time.monotonic() + 60
        for worker, log in zip(workers, logs, strict=True):
            while b" started" not in log.read_bytes():
                if worker.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the worker did not start; see {log}")
                time.sleep(0.01)
        cpu_before = sum(cpu_seconds(w.pid) for w in workers)
        pg_before = postgres_cpu()
        sink_before = cpu_seconds(server.pid) if server.pid else 0.0
        planned_at = time.time()
        for start in range(0, len(rows), PLAN_BATCH):
            with session_scope(engine) as session:
                session.execute(sa.insert(Delivery), rows[start : start + PLAN_BATCH])
        planned_all = time.time()
        first, last, count, numbers = parent.recv()
        while True:
            with session_scope(engine) as session:
                sent = session.scalar(sa.select(sa.func.count()).where(Delivery.status == "sent"))
            if sent == args.deliveries:
                break
            time.sleep(0.01)
        recorded = time.time()
        worker_cpu = sum(cpu_seconds(w.pid) for w in workers) - cpu_before
        pg_cpu = postgres_cpu() - pg_before
        sink_cpu = (cpu_seconds(server.pid) if server.pid else 0.0) - sink_before
        memory = max(peak_memory_mib(w.pid) for w in workers)
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=30)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
        engine.dispose()
        if server.is_alive():
            parent.send("stop")
            server.join(timeout=10)
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    label = 58
    print(
        f"{f'dispatch: messages/s at the server, {args.workers} worker(s)':<{label}} "
        f"{count / (last - first):8.0f} msg/s  ({count} messages, {numbers} numbers, "
        f"batch {args.batch}, concurrency {args.concurrency}, rate limit {args.rate:g}/s)"
    )
    print(f"{'  per worker (>= 2000)':<{label}} {count / (last - first) / args.workers:8.0f} msg/s")
    print(
        f"{'  worker CPU per message (< 0.5 ms)':<{label}} "
        f"{worker_cpu / count * 1000:8.3f} ms  (PostgreSQL: {pg_cpu / count * 1000:.3f} ms, "
        f"{pg_cpu / (pg_cpu + worker_cpu) * 100:.0f} % of the two)"
    )
    # The sink shares the machine's cores: when it needs more CPU than the worker, the figure
    # above measures the sink as much as the worker.
    print(
        f"{'  the local Twilio server (sink) CPU per message':<{label}} "
        f"{sink_cpu / count * 1000:8.3f} ms"
    )
    print(
        f"{'  planned to all recorded as sent (end to end)':<{label}} "
        f"{args.deliveries / (recorded - planned_at):8.0f} msg/s  "
        f"(planning took {planned_all - planned_at:.2f} s of it)"
    )
    print(f"{'dispatch: worker peak resident memory (< 300 MiB)':<{label}} {memory:8.1f} MiB")
    print(
        f"{'dispatch: first batch planned to first message (< 1 s)':<{label}} "
        f"{(first - planned_at) * 1000:8.0f} ms"
    )


if __name__ == "__main__":
    main()
