"""`python -m bench.sms_transport`: SMS per second handed to a local Twilio server, beside Apprise.

Our Twilio transport (TwilioSmsTransport) sends from one process with bounded concurrency to
the fake Messages API (tests/fakes/twilio_server.py), which runs in a process of its own so that
its work is not counted against the sender. Then Apprise's Twilio plugin sends the same number
of messages to the same server in the same run (its fixed host pointed at the sink, its
built-in 0.2 s wait turned off, `concurrency` threads), and the two are printed as a ratio,
with the sender's CPU per message. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

from service.channels.base import OutgoingMessage
from service.channels.sms.twilio_transport import TwilioSmsTransport
from service.config import Settings
from tests.fakes.twilio_server import ACCOUNT_SID

# Apprise accepts only a token shaped like Twilio's (32 hexadecimal digits): both use this one.
AUTH_TOKEN = "0123456789abcdef" * 2

ROOT = Path(__file__).resolve().parent.parent
TEXT = (
    "ÖVNING: Vi stänger av vattnet i Skultuna måndag 23 november från kl. 10.00 till ungefär "
    "kl. 16.00. Fyll flaskor innan dess. Mer info: www.vasteras.se/kris /Västerås stad"
)


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(port: int, seconds: float = 15) -> None:
    """Return once something accepts connections on the port."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the fake Twilio server did not listen on port {port}")


async def send_many(settings: Settings, count: int, concurrency: int) -> tuple[float, list[float]]:
    """Send `count` messages, at most `concurrency` at a time; (seconds, per-message latencies)."""
    limit = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async with TwilioSmsTransport(settings) as transport:

        async def one(i: int) -> None:
            message = OutgoingMessage(
                channel="sms", to=f"+4670{i:07d}", text=TEXT, reference=f"bench-{i}"
            )
            async with limit:
                started = time.perf_counter()
                await transport.send(message)
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(one(i) for i in range(concurrency)))  # warm-up: connections
        latencies.clear()
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(count)))
        return time.perf_counter() - started, latencies


def main() -> None:
    """Print messages per second and latencies."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning)

    port = free_port()
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "tests.fakes.twilio_server"),
            *("--port", str(port), "--auth-token", AUTH_TOKEN),
        ],
        cwd=ROOT,
    )
    try:
        wait_for(port)
        settings = Settings(
            sms_transport="twilio",
            twilio_account_sid=ACCOUNT_SID,
            twilio_auth_token=AUTH_TOKEN,
            twilio_from="Vasteras",
            twilio_base_url=f"http://127.0.0.1:{port}",
        )
        cpu = time.process_time()
        seconds, latencies = asyncio.run(send_many(settings, args.messages, args.concurrency))
        cpu = time.process_time() - cpu
        peer_seconds, peer_cpu = apprise_many(port, args.messages, args.concurrency)
    finally:
        server.terminate()
        server.wait(timeout=10)
    rate = args.messages / seconds
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95)]
    print(
        f"{'SMS handed to the local Twilio server (target >= 500/s)':<58} {rate:8.0f} msg/s  "
        f"({args.messages} messages in {seconds:.2f} s, concurrency {args.concurrency})"
    )
    print(
        f"{'  latency per message':<58} median {statistics.median(latencies) * 1000:6.1f} ms, "
        f"p95 {p95 * 1000:.1f} ms"
    )
    print(f"{'  sender CPU per message (< 0.5 ms)':<58} {cpu / args.messages * 1000:8.3f} ms")
    peer_rate = args.messages / peer_seconds
    print(
        f"{'Apprise Twilio plugin, same sink, same run':<58} {peer_rate:8.0f} msg/s  "
        f"(CPU {peer_cpu / args.messages * 1000:.3f} ms/message, {args.concurrency} threads)"
    )
    print(f"{'  ours / Apprise (target >= 5)':<58} {rate / peer_rate:8.1f} x")


def apprise_many(port: int, count: int, concurrency: int) -> tuple[float, float]:
    """Apprise's Twilio plugin sends `count` SMS to the sink; (seconds, process CPU seconds)."""
    from concurrent.futures import ThreadPoolExecutor

    import apprise
    from apprise.plugins.twilio import NotifyTwilio

    # The plugin has no host option and waits 0.2 s between requests by default (DESIGN.md).
    NotifyTwilio.notify_sms_url = (
        f"http://127.0.0.1:{port}/2010-04-01/Accounts/{{sid}}/Messages.json"
    )
    NotifyTwilio.request_rate_per_sec = 0

    def one(i: int) -> None:
        sender = apprise.Apprise()
        sender.add(f"twilio://{ACCOUNT_SID}:{AUTH_TOKEN}@+46700000000/+4670{i:07d}")
        if not sender.notify(body=TEXT):
            raise RuntimeError("Apprise could not send to the sink")

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(concurrency)))  # warm-up, as for ours
        cpu, started = time.process_time(), time.perf_counter()
        list(pool.map(one, range(count)))
        return time.perf_counter() - started, time.process_time() - cpu


if __name__ == "__main__":
    main()
