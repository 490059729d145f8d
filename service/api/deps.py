"""Shared FastAPI dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from service.content import ContentLibrary, get_library


def library_dependency() -> ContentLibrary:
    """The loaded content library."""
    return get_library()


LibraryDep = Annotated[ContentLibrary, Depends(library_dependency)]
