"""The Jinja2 environment of the admin UI and public pages.

Autoescaping is on for every template (not only ``.html`` names), so a subscriber called
``<script>`` is shown as text everywhere; nothing is marked safe from user data.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from sendwell.web.sessions import Session

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "—"


def build_templates() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    return Jinja2Templates(env=env)


def render(
    request: Request, name: str, session: Session | None, status: int = 200, **context: Any
) -> Response:
    """Render a page; templates always get ``user`` and the session's ``csrf_token``."""
    templates: Jinja2Templates = request.app.state.templates
    context.setdefault("user", session.user_email if session else None)
    context.setdefault("csrf_token", session.csrf_token if session else "")
    return templates.TemplateResponse(request, name, context, status_code=status)
