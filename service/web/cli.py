"""`klarvarsel serve` and `klarvarsel openapi`: the web service and its REST contract."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
) -> None:
    """Start the web service (API and pages) with uvicorn."""
    import uvicorn

    from service.config import get_settings
    from service.notices.links import public_base_url, record_server_address

    settings = get_settings()
    if not settings.public_base_url:
        # Links in SMS, e-mail and print follow this server (see service.notices.links).
        record_server_address(settings, host, port)
    typer.echo(f"public pages and links: {public_base_url(settings)}/n/<code>")
    uvicorn.run("service.main:app", host=host, port=port, log_level="info")


@app.command()
def openapi() -> None:
    """Print the REST contract (openapi.yaml is this output, committed)."""
    import yaml

    from service.main import app as web_app

    typer.echo(yaml.safe_dump(web_app.openapi(), sort_keys=False, allow_unicode=True), nl=False)
