"""``sendwell serve``: the web server (REST API, admin UI, public pages) with uvicorn."""

from __future__ import annotations

import typer

from sendwell.cli import context
from sendwell.cli.context import out


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", help="Address to listen on."),
        port: int = typer.Option(8000, help="TCP port to listen on."),
    ) -> None:
        """Serve the admin UI (/admin), the REST API (/api/v1) and public pages."""
        from sendwell.web.server import serve as run

        with context.opened() as a:
            context.setup_logging(a.settings.log_level)
            out.print(f"sendwell web on http://{host}:{port}/admin/ (Ctrl-C stops)")
            run(a, host=host, port=port)
