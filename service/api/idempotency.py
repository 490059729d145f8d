"""`Idempotency-Key` on every POST that creates or sends, kept in the database.

The first request with a key reserves it in a transaction of its own (committed at once, so
every process sees it); its work and its stored answer then commit together in the request's
transaction, so an answer is stored exactly when its effect is. Then:

- the same key with the same body (method, path and canonical JSON) gets the first answer
  again, marked `Idempotent-Replayed: true`;
- the same key with another body is a 422; while the first is still running, a 409 with
  Retry-After;
- a first request that failed (any non-2xx answer) frees its key: nothing was done, so a retry
  may do it.

Keys belong to the caller (two API keys may use the same value) and are kept for
`idempotency_hours`. A reservation whose request died mid-way (a crash) is taken over after
`RUNNING_LEASE`; the workflow's own steps are once-only anyway (sending is a conditional
update), so even then a notice is never sent twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from sqlalchemy import DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.accounts.principal import Principal
from service.api.errors import ProblemException
from service.clock import utcnow
from service.config import get_settings
from service.store.database import Base

KEY_MAX_LENGTH = 255
RUNNING_LEASE = timedelta(minutes=5)
REPLAYED_HEADER = "Idempotent-Replayed"
_KEPT_HEADERS = ("location", "content-type")


class IdempotencyRecord(Base):
    """One Idempotency-Key of one caller: its request's digest and, once done, its answer."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("owner", "key", name="uq_idempotency_keys_owner_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))  # key:<prefix> or a person's e-mail
    key: Mapped[str] = mapped_column(String(KEY_MAX_LENGTH))
    request_hash: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(16))  # running | done
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    response_headers: Mapped[str | None] = mapped_column(Text)  # JSON object
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def _conflict(status: int, kind: str, detail: str, retry_after: int | None = None) -> Exception:
    """409 (still running) or 422 (reused with another body), as a problem of its own kind."""
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return ProblemException(status, kind, detail, headers=headers)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def request_digest(method: str, path: str, body: bytes) -> str:
    """sha256 of method, path and body; a JSON body in canonical form (key order, spacing)."""
    try:
        canonical = json.dumps(
            json.loads(body), sort_keys=True, ensure_ascii=False, separators=(",", ":")
        ).encode("utf-8")
    except ValueError:
        canonical = body
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


@dataclass(frozen=True)
class IdempotentRequest:
    """The request's Idempotency-Key (or None) and the digest of what it asks."""

    key: str | None
    method: str
    path: str
    digest: str

    def run(self, session: Session, principal: Principal, work: Callable[[], Response]) -> Response:
        """Do `work` once per key: replay, refuse, or run it and store a 2xx answer with it."""
        if self.key is None:
            response = work()
            session.commit()
            return response
        engine = session.get_bind()
        reserved = _reserve(engine, principal.actor, self)
        if isinstance(reserved, Response):
            return reserved
        try:
            response = work()
        except BaseException:
            session.rollback()
            _release(engine, reserved)
            raise
        if not 200 <= response.status_code < 300:
            session.rollback()
            _release(engine, reserved)
            return response
        headers = {k: v for k, v in response.headers.items() if k in _KEPT_HEADERS}
        session.execute(
            sa.update(IdempotencyRecord)
            .where(IdempotencyRecord.id == reserved)
            .values(
                state="done",
                status_code=response.status_code,
                response_body=bytes(response.body).decode("utf-8"),
                response_headers=json.dumps(headers),
                locked_until=None,
            )
        )
        session.commit()  # the effect and its stored answer together
        return response


def _replay(row: IdempotencyRecord) -> Response:
    headers = json.loads(row.response_headers or "{}")
    media_type = headers.pop("content-type", "application/json")
    response = Response(
        (row.response_body or "").encode("utf-8"),
        status_code=row.status_code or 200,
        media_type=media_type,
        headers=headers,
    )
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _reserve(engine: Any, owner: str, request: IdempotentRequest) -> int | Response:
    """The id of a fresh reservation, or the answer for a key already used."""
    now = utcnow()
    kept = timedelta(hours=get_settings().idempotency_hours)
    with Session(engine) as db:
        db.execute(
            sa.delete(IdempotencyRecord).where(
                IdempotencyRecord.owner == owner, IdempotencyRecord.created_at < now - kept
            )
        )
        db.commit()
        row = IdempotencyRecord(
            owner=owner,
            key=request.key,
            request_hash=request.digest,
            method=request.method,
            path=request.path[:500],
            state="running",
            created_at=now,
            locked_until=now + RUNNING_LEASE,
        )
        db.add(row)
        try:
            db.commit()
            return row.id
        except IntegrityError:
            db.rollback()
        existing = db.scalar(
            sa.select(IdempotencyRecord).where(
                IdempotencyRecord.owner == owner, IdempotencyRecord.key == request.key
            )
        )
        if existing is None:  # freed by its request in between: this one may go
            return _reserve(engine, owner, request)
        if existing.request_hash != request.digest:
            raise _conflict(
                422,
                "idempotency-key-reused",
                f"the Idempotency-Key {request.key!r} was used for another request "
                f"({existing.method} {existing.path} with another body); use a new key for a "
                "new request",
            )
        if existing.state == "done":
            return _replay(existing)
        lease = _aware(existing.locked_until)
        if lease is not None and lease < now:
            # The first request died mid-way (nothing of it was committed): take it over.
            taken = db.execute(
                sa.update(IdempotencyRecord)
                .where(
                    IdempotencyRecord.id == existing.id,
                    IdempotencyRecord.state == "running",
                    IdempotencyRecord.locked_until == existing.locked_until,
                )
                .values(locked_until=now + RUNNING_LEASE)
            )
            db.commit()
            if taken.rowcount:  # type: ignore[attr-defined]
                return existing.id
        raise _conflict(
            409,
            "idempotency-key-in-use",
            f"a request with the Idempotency-Key {request.key!r} is still being processed; "
            "ask again shortly to get its answer",
            retry_after=1,
        )


def _release(engine: Any, reserved: int) -> None:
    with Session(engine) as db:
        db.execute(sa.delete(IdempotencyRecord).where(IdempotencyRecord.id == reserved))
        db.commit()


async def idempotent_request(
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=KEY_MAX_LENGTH,
            pattern=r"^[\x21-\x7e]+$",
            description="a unique value per request (a UUID): a retry with the same key gets "
            "the first answer and never repeats what it did (README 'REST API')",
            examples=["9b2c7e0a-3f1d-4c55-8f0e-2a6d1c0b7e11"],
        ),
    ] = None,
) -> IdempotentRequest:
    """The Idempotency-Key and the digest of the request it came with."""
    body = await request.body()
    return IdempotentRequest(
        idempotency_key,
        request.method,
        request.url.path,
        request_digest(request.method, request.url.path, body),
    )


Idempotent = Annotated[IdempotentRequest, Depends(idempotent_request)]


def json_response(content: Any, status: int = 200, location: str | None = None) -> JSONResponse:
    """A JSON answer (optionally with Location) that idempotency can store and replay."""
    headers = {"Location": location} if location else None
    return JSONResponse(jsonable_encoder(content), status_code=status, headers=headers)
