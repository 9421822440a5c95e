"""The web server for ``sendwell demo``: one call that starts it with a demo sign-in.

:func:`start_demo_web` creates the demo user (or resets its password, so a rerun on the
same data directory still signs in) and starts :class:`~sendwell.web.server.ServerThread`.
The caller prints ``web.admin_url`` and the credentials and calls ``web.server.stop()``
when the demo ends. The password is for a loopback demo only.
"""

from __future__ import annotations

from dataclasses import dataclass

from sendwell.accounts.users import create_user, set_password
from sendwell.app import App
from sendwell.errors import ConflictError
from sendwell.web.server import ServerThread

DEMO_EMAIL = "demo@sendwell.example"
DEMO_PASSWORD = "demo-password"  # noqa: S105 - printed to the person running the demo


@dataclass(frozen=True)
class DemoWeb:
    server: ServerThread
    email: str
    password: str

    @property
    def admin_url(self) -> str:
        return f"{self.server.url}/admin/"


def start_demo_web(
    app: App,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    email: str = DEMO_EMAIL,
    password: str = DEMO_PASSWORD,
) -> DemoWeb:
    """Ensure the demo user exists with ``password`` and serve the web UI on ``host:port``."""
    with app.engine.begin() as conn:
        try:
            create_user(conn, email, password, now=app.clock.now())
        except ConflictError:
            set_password(conn, email, password)
    return DemoWeb(ServerThread(app, host=host, port=port).start(), email, password)
