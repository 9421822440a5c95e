"""Run the web application with uvicorn: in the foreground, or in a background thread.

:func:`serve` is what ``sendwell serve`` runs. :class:`ServerThread` runs the same server
in a thread of the current process (for ``sendwell demo`` and for tests)::

    with ServerThread(app, port=0) as server:   # port 0: any free port
        print(server.url)                        # http://127.0.0.1:54321

Limits: one process; for several, run ``sendwell serve`` behind a reverse proxy per core.
Sockets are bound here (and handed to uvicorn) so that port 0 and "port in use" errors
are known before the thread starts.
"""

from __future__ import annotations

import gc
import socket
import threading
import time
from types import TracebackType

import uvicorn
from fastapi import FastAPI

from sendwell.app import App
from sendwell.errors import ConfigError
from sendwell.web.app import close_app, create_app


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _config(web: FastAPI, log_level: str) -> uvicorn.Config:
    # lifespan off: nothing needs starting, and the background job runner is closed
    # explicitly (close_app) once the server has stopped.
    return uvicorn.Config(
        web, log_level=log_level.lower(), access_log=False, lifespan="off",
        proxy_headers=False,
    )  # fmt: skip


def freeze_startup_objects() -> None:
    """Exclude every object alive now (modules, the app, its routes and tables) from
    future garbage collections.

    They live as long as the process, yet each full collection walked all of them:
    under load, full collections came about twice a second and stalled the event loop
    for 100-190 ms each, which set the tracking endpoints' 99th percentile latency.
    Called once, after start-up and before serving."""
    gc.collect()
    gc.freeze()


def serve(app: App, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve until interrupted (Ctrl-C / SIGTERM stop it cleanly)."""
    sock = _bind(host, port)
    web = create_app(app)
    server = uvicorn.Server(_config(web, app.settings.log_level))
    freeze_startup_objects()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        close_app(web)


class ServerThread:
    """The web server in a daemon thread; ``url`` is set once it accepts connections."""

    def __init__(self, app: App, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._sock = _bind(host, port)
        bound_host, bound_port = self._sock.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.url = f"http://{shown}:{bound_port}"
        self.web = create_app(app)
        self._server = uvicorn.Server(_config(self.web, "warning"))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True,
            name="sendwell-web",
        )  # fmt: skip

    def start(self, timeout: float = 10.0) -> ServerThread:
        self._thread.start()
        # uvicorn offers no start callback; its ``started`` flag is polled briefly.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._thread.is_alive():
            if self._server.started:
                return self
            time.sleep(0.01)
        self.stop()
        raise ConfigError("the web server did not start")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()
        close_app(self.web)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        self.stop()
