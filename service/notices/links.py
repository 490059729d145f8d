"""Links to a notice's public page: the one address SMS, e-mail, QR codes and print all carry.

The base address is `KLARVARSEL_PUBLIC_BASE_URL` when set (production: the municipality's own
https address). When it is not set it follows the running server: `klarvarsel serve` records
the address it listens on under var/, so a `deliver` in another terminal, the in-process worker
and the public page all print the same link, whatever PORT `make run` was given.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

from service.audiences.schemas import Register
from service.config import Settings
from service.rendering.schemas import VariantKey

SERVER_ADDRESS_FILE = "server-address.json"
FALLBACK_BASE_URL = "http://127.0.0.1:8000"


def record_server_address(settings: Settings, host: str, port: int) -> str:
    """Remember the address `serve` listens on (used while no public base URL is set)."""
    if host in ("0.0.0.0", "::", ""):
        host = socket.getfqdn()  # a wildcard bind is reached by the machine's name
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}"
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    (settings.var_dir / SERVER_ADDRESS_FILE).write_text(json.dumps({"url": url}), "utf-8")
    return url


def _recorded(path: Path) -> str | None:
    try:
        url = json.loads(path.read_text("utf-8")).get("url")
    except (OSError, ValueError):
        return None
    return url if isinstance(url, str) and url.startswith(("http://", "https://")) else None


def public_base_url(settings: Settings) -> str:
    """The base of every public link, without a trailing slash."""
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    return (_recorded(settings.var_dir / SERVER_ADDRESS_FILE) or FALLBACK_BASE_URL).rstrip("/")


def notice_url(settings: Settings, code: str) -> str:
    """The public page of the notice with this code."""
    return f"{public_base_url(settings)}/n/{code}"


def variant_url(url: str | None, key: VariantKey) -> str | None:
    """The public page in the variant's language and register, so a link opens the right text."""
    if url is None:
        return None
    query = [f"lang={key.language}"] if key.language != "sv" else []
    if key.register == Register.easy_read:
        query.append("easy=1")
    return url + ("?" + "&".join(query) if query else "")
