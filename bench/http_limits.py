"""`python -m bench.http_limits`: /healthz while eight 5 MB notices arrive at once.

The service runs in its own process (uvicorn, as `make run` serves it, without the worker).
Eight client threads, in a process of their own, each post a water-outage notice whose note is
5 MB, once with a Content-Length and once chunked, in waves for at least five seconds, while
this process asks /healthz every 50 ms. Prints the answers, how long a wave waits for its last
answer, and /healthz's latency before and during the waves.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
NOTE_BYTES = 5 * 1024 * 1024
CONCURRENT = 8
MIN_SECONDS = 5.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_server(port: int, var_dir: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KLARVARSEL_VAR_DIR": var_dir, "KLARVARSEL_IN_PROCESS_WORKER": "false"}
    command = [sys.executable, "-m", "uvicorn", "service.main:app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the server did not start")


def _big_notice() -> bytes:
    notice = json.loads((ROOT / "demo" / "notices" / "water_outage_skultuna.json").read_text())
    notice["note"] = {"sv": "a" * NOTE_BYTES}
    return json.dumps(notice).encode()


def _chunks(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def _healthz_latencies(base: str, stop: threading.Event, out: list[float]) -> None:
    with httpx.Client(base_url=base, timeout=60) as client:
        while not stop.is_set():
            start = time.perf_counter()
            client.get("/healthz").raise_for_status()
            out.append((time.perf_counter() - start) * 1000)
            time.sleep(0.05)


def _wave(base: str, body: bytes, *, chunked: bool) -> tuple[list[int], float]:
    """Eight posts at once; their answers and the time until the last one came."""
    answers: list[int] = []

    def post() -> None:
        content = _chunks(body) if chunked else body
        headers = {"content-type": "application/json"}
        try:
            response = httpx.post(
                f"{base}/api/v1/notices/preview", content=content, headers=headers, timeout=120
            )
            answers.append(response.status_code)
        except httpx.TransportError as exc:  # the server may close before reading it all
            answers.append(-1)
            print(f"  transport error: {exc!r}")

    start = time.perf_counter()
    posts = [threading.Thread(target=post) for _ in range(CONCURRENT)]
    for thread in posts:
        thread.start()
    for thread in posts:
        thread.join()
    return answers, time.perf_counter() - start


def _round(base: str, body: bytes, *, chunked: bool) -> None:
    """Waves of eight for at least MIN_SECONDS while /healthz is asked every 50 ms."""
    latencies: list[float] = []
    stop = threading.Event()
    watcher = threading.Thread(target=_healthz_latencies, args=(base, stop, latencies))
    watcher.start()
    time.sleep(0.5)
    during_from = len(latencies)
    answers: set[int] = set()
    walls: list[float] = []
    start = time.perf_counter()
    # The uploads run in another process, so their work does not slow this one's /healthz calls.
    with ProcessPoolExecutor(max_workers=1) as uploader:
        while not walls or time.perf_counter() - start < MIN_SECONDS:
            codes, wall = uploader.submit(_wave, base, body, chunked=chunked).result()
            answers.update(codes)
            walls.append(wall * 1000)
    stop.set()
    watcher.join()
    before, during = latencies[:during_from], latencies[during_from:] or [float("nan")]
    during.sort()
    kind = "chunked" if chunked else "Content-Length"
    print(f"{CONCURRENT} x {len(body) / 1e6:.1f} MB ({kind}), {len(walls)} waves: {answers}")
    print(f"  last answer of a wave after: median {statistics.median(walls):6.0f} ms")
    print(
        f"  /healthz before: median {statistics.median(before):5.1f} ms; during: median "
        f"{statistics.median(during):5.1f} ms, p95 {during[int(0.95 * (len(during) - 1))]:6.1f}"
        f" ms, max {during[-1]:6.1f} ms (n={len(during)})"
    )


def main() -> None:
    """Print the figures recorded in bench/README.md."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as var_dir:
        server = _start_server(port, var_dir)
        try:
            base = f"http://127.0.0.1:{port}"
            body = _big_notice()
            _round(base, body, chunked=False)
            _round(base, body, chunked=True)
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
