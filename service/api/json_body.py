"""JSON bodies with a nesting limit, refused with a problem that says where they go too deep.

Python's parser gives up near 1,000 levels with a RecursionError that FastAPI reports as "There
was an error parsing the body"; a little less deep parses, and then any recursive walk over it
(validation, error messages) can fail instead. No request needs that: a notice nests three
levels (notice, fields, a text per language). Routers that take JSON use `LimitedJSONRoute`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute

from service.api.problems import problem_response

MAX_JSON_DEPTH = 16  # objects and arrays inside one another, the body itself counting as 1


def too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> list[str] | None:
    """The path of the first object or array nested deeper than `limit`, or None (no recursion)."""
    stack: list[tuple[Any, list[str]]] = [(value, [])]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            children = [(str(key), child) for key, child in item.items()]
        elif isinstance(item, list):
            children = [(str(index), child) for index, child in enumerate(item)]
        else:
            continue
        if len(path) >= limit:
            return path
        stack += [(child, [*path, key]) for key, child in reversed(children)]
    return None


class JSONTooDeep(HTTPException):
    """A body nested deeper than MAX_JSON_DEPTH (FastAPI passes HTTPExceptions through)."""

    def __init__(self, path: list[str] | None) -> None:
        self.path = path
        super().__init__(422, "JSON nested too deeply")


class _LimitedJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            try:
                value = json.loads(await self.body())
            except RecursionError:
                raise JSONTooDeep(None) from None
            path = too_deep(value)
            if path is not None:
                raise JSONTooDeep(path)
            self._json = value
        return self._json


def _problem(exc: JSONTooDeep) -> Response:
    if exc.path is None:
        where, detail = "", "the body is nested hundreds of levels deep"
    else:
        where = ".".join(exc.path)
        detail = f"the value at {where or 'the top'} is nested deeper than {MAX_JSON_DEPTH} levels"
    return problem_response(
        422,
        "json-too-deep",
        "JSON nested too deeply",
        f"{detail}; objects and arrays may nest at most {MAX_JSON_DEPTH} levels (a notice: 3)",
        location=where,
        max_depth=MAX_JSON_DEPTH,
    )


class LimitedJSONRoute(APIRoute):
    """An APIRoute whose JSON body may nest at most MAX_JSON_DEPTH levels (422 problem beyond)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The usual handler, given a request whose json() enforces the nesting limit."""
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            try:
                return await handler(_LimitedJSONRequest(request.scope, request.receive))
            except JSONTooDeep as exc:
                return _problem(exc)

        return limited
