"""E-mail PDFs for a worker: rendered once per variant, in a thread of their own.

They are rendered beside dispatch, never in the claim thread, so the SMS claimed in the same
batch leave without waiting for WeasyPrint; only the e-mail lane waits for its attachment.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from service.channels.base import Attachment, OutgoingMessage
from service.delivery.dispatch import Outcome
from service.delivery.messages import Job, MessageBuilder, with_pdf

logger = logging.getLogger(__name__)

KEEP_RENDERS = 200  # variants remembered; a long-running worker forgets old notices


class PdfAttacher:
    """Attaches each e-mail's PDF, rendering every variant's PDF once."""

    def __init__(self, builder: MessageBuilder) -> None:
        self.builder = builder
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="kv-pdfs")
        self.renders: dict[tuple[int, object], asyncio.Future[Attachment]] = {}

    async def attach(self, job: Job) -> OutgoingMessage | Outcome:
        """The job's message with its PDF, or the permanent failure to build it."""
        wanted = job.pdf
        assert wanted is not None
        key = (wanted.notice_id, wanted.key)
        render = self.renders.get(key)
        if render is None:
            if len(self.renders) > KEEP_RENDERS:
                self.renders.clear()
            loop = asyncio.get_running_loop()
            render = loop.run_in_executor(self.pool, self.builder.pdf, wanted)
            self.renders[key] = render
        try:
            return with_pdf(job, await render)
        except Exception as exc:  # a PDF we cannot render can never be sent
            # Forgotten, so the next claim renders again: a passing failure (a full disk,
            # memory) must not fail every later e-mail of the variant for the worker's life.
            if self.renders.get(key) is render:
                del self.renders[key]
            reason = f"could not build the message: {type(exc).__name__}: {exc}"
            logger.warning("delivery %s: %s", job.id, reason)
            return Outcome(job, error=reason, permanent=True)

    def shutdown(self) -> None:
        """Stop rendering; renders not started are dropped (their claims are given back)."""
        self.pool.shutdown(cancel_futures=True)
