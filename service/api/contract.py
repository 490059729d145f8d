"""The served OpenAPI document: every API error response described as what it is, a problem.

FastAPI describes its validation errors as `HTTPValidationError` JSON and knows nothing of the
401/403/429/500 the dependencies and handlers answer. This rewrites each /api/ operation's error
responses to `application/problem+json` (RFC 9457) with one `Problem` schema, and adds the
errors every such operation can give, so clients and schemathesis see the real contract.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI

from service.api.problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_PREFIX

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details; `problems` lists every field that is wrong",
    "properties": {
        "type": {
            "type": "string",
            "description": f"a tag URI naming the kind, e.g. {PROBLEM_TYPE_PREFIX}invalid-notice",
        },
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "problems": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "location": {"type": "string", "description": "dotted field path"},
                    "message": {"type": "string"},
                },
                "required": ["location", "message"],
            },
        },
    },
    "required": ["type", "title", "status", "detail"],
}
DESCRIPTIONS = {
    "400": "the request cannot be read (application/problem+json)",
    "401": "no valid API key or session (see WWW-Authenticate)",
    "403": "the key or the person lacks the permission the detail names",
    "404": "nothing has this id or code",
    "409": "the step does not fit the notice's state, or the Idempotency-Key is still running",
    "413": "the body is over the size limit",
    "422": "invalid: `problems` names the path of every problem",
    "429": "the API key is over its rate limit; Retry-After says when to try again",
    "500": "something went wrong on our side; the detail names an incident id (no trace)",
}
RETRY_AFTER = {"schema": {"type": "integer"}, "description": "seconds to wait"}
_WRITES = {"post", "put", "patch", "delete"}


def _problem(response: dict[str, Any], status: str) -> dict[str, Any]:
    out = {"description": response.get("description") or DESCRIPTIONS.get(status, "error")}
    # Copies, so the YAML has no anchors (&id001) for readers to chase.
    out["content"] = {PROBLEM_MEDIA_TYPE: {"schema": dict(PROBLEM_REF)}}
    if status in ("429", "409") or "headers" in response:
        retry = copy.deepcopy(RETRY_AFTER)
        out["headers"] = {**response.get("headers", {}), "Retry-After": retry}
    return out


def _expected(path: str, method: str, operation: dict[str, Any]) -> set[str]:
    codes = {"500"}
    if operation.get("security"):
        codes |= {"401", "403", "429"}
    if operation.get("parameters") or "requestBody" in operation:
        codes.add("422")
    if "requestBody" in operation:
        codes |= {"400", "413"}
    if "{" in path:
        codes.add("404")
    names = {p.get("name") for p in operation.get("parameters", [])}
    if "Idempotency-Key" in names or (path.startswith("/api/v1/notices") and method in _WRITES):
        codes.add("409")
    return codes


def problem_contract(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with every /api/ operation's errors as problem+json (a new dict)."""
    schema = copy.deepcopy(schema)
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in sorted(_expected(path, method, operation) | set(responses)):
                if status.startswith(("4", "5")):
                    responses[status] = _problem(responses.get(status, {}), status)
            operation["responses"] = dict(sorted(responses.items()))
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    text = repr(schema["paths"])
    for unused in ("HTTPValidationError", "ValidationError"):
        if f"/{unused}'" not in text:
            components.pop(unused, None)
    schema["components"]["schemas"] = dict(sorted(components.items()))
    return schema


def install_contract(app: FastAPI) -> None:
    """Serve the problem-aware schema at /openapi.json (and to `klarvarsel openapi`)."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problem_contract(plain())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
