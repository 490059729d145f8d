"""Shared FastAPI dependencies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from service.content import ContentLibrary, get_library
from service.store.database import session_scope


def library_dependency() -> ContentLibrary:
    """The loaded content library."""
    return get_library()


LibraryDep = Annotated[ContentLibrary, Depends(library_dependency)]


def session_dependency() -> Iterator[Session]:
    """A database session per request; commits when the request succeeds."""
    with session_scope() as session:
        yield session


SessionDep = Annotated[Session, Depends(session_dependency)]
