"""/docs: Swagger UI served from the installed swagger-ui-bundle-v2 package, never a CDN.

A municipality's crisis network may have no internet; FastAPI's own /docs loads Swagger UI from
a CDN and is blank there. The docs are public (like the schema they show).
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from swagger_ui_bundle import swagger_ui_path

from service.accounts.permissions import Public
from service.web.headers import CSP, docs_policy

router = APIRouter(tags=["docs"], include_in_schema=False)

ASSETS_PATH = "/docs/assets"
# Only the files the page uses (the package also holds a demo page pointing at the internet).
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}


@router.get("/docs", operation_id="api_docs", response_class=HTMLResponse)
def api_docs(request: Request, _open: Public) -> HTMLResponse:
    """Swagger UI for the REST API, working without internet access."""
    root = request.scope.get("root_path", "").rstrip("/")
    assets = root + ASSETS_PATH
    page = get_swagger_ui_html(
        openapi_url=root + (request.app.openapi_url or "/openapi.json"),
        title=f"{request.app.title} – API",
        swagger_js_url=f"{assets}/swagger-ui-bundle.js",
        swagger_css_url=f"{assets}/swagger-ui.css",
        swagger_favicon_url=f"{assets}/favicon-32x32.png",
        oauth2_redirect_url=None,
        # No badge from validator.swagger.io: it is on the internet.
        swagger_ui_parameters={"validatorUrl": None},
    )
    nonce = secrets.token_urlsafe(16)
    # The one inline <script> (Swagger UI's start-up) gets the nonce; <script src=...> do not.
    html = bytes(page.body).decode("utf-8").replace("<script>", f'<script nonce="{nonce}">')
    return HTMLResponse(html, headers={CSP: docs_policy(nonce), "Cache-Control": "no-store"})


@router.get(f"{ASSETS_PATH}/{{name}}", operation_id="api_docs_asset")
def api_docs_asset(name: Annotated[str, Path(max_length=40)], _open: Public) -> FileResponse:
    """One of Swagger UI's files, from the installed package."""
    if name not in ASSETS:
        raise HTTPException(404, f"no such file: {name}")
    return FileResponse(
        swagger_ui_path / name,
        media_type=ASSETS[name],
        headers={"Cache-Control": "public, max-age=86400"},
    )
