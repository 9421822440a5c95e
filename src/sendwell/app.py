"""The composition root: builds stores, the engine and services from settings.

This is the one place that reads :class:`~sendwell.config.Settings` and hands each part
only the values it needs. Nothing below this module knows about settings.
"""

from __future__ import annotations

import os
import random
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from sendwell.campaigns.builder import CampaignMessageBuilder
from sendwell.campaigns.service import finish_if_done
from sendwell.clock import Clock, SystemClock
from sendwell.config import Settings
from sendwell.delivery.mx import MxResolver
from sendwell.delivery.outbox import OutboxStore
from sendwell.delivery.retry import RetryPolicy
from sendwell.delivery.worker import Worker, WorkerConfig
from sendwell.errors import ConfigError
from sendwell.store.engine import create_db_engine
from sendwell.store.migrate import upgrade

SECRET_FILE = "secret.key"  # noqa: S105 - a file name, not a secret


@dataclass
class App:
    """A connected, migrated sendwell instance."""

    settings: Settings
    engine: Engine
    clock: Clock

    def secret_key(self) -> bytes:
        """The signing key: the setting, else a key generated once into the data dir."""
        configured = self.settings.secret_key.reveal()
        if configured:
            return configured.encode()
        path = self.settings.data_dir / SECRET_FILE
        try:
            return path.read_bytes().strip()
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32).encode()
        # O_EXCL: two processes starting at once must not each write a different key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes().strip()
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        return key

    def helo_name(self) -> str:
        return self.settings.helo_name or socket.getfqdn() or "localhost"

    def worker_config(self, **overrides: object) -> WorkerConfig:
        s = self.settings
        config = WorkerConfig(
            smtp_port=s.smtp_port,
            helo_name=self.helo_name(),
            batch_size=s.worker_batch_size,
            concurrency=s.worker_concurrency,
            site_connection_limit=s.site_connection_limit,
            max_deliveries_per_connection=s.max_deliveries_per_connection,
            lease_seconds=s.lease_seconds,
            smtp_timeout=s.smtp_timeout,
            poll_seconds=s.poll_seconds,
            retry=RetryPolicy(
                base_seconds=s.retry_base_seconds,
                max_interval_seconds=s.retry_max_interval_seconds,
                max_age_seconds=s.retry_max_age_seconds,
            ),
        )
        if overrides:
            from dataclasses import replace

            config = replace(config, **overrides)  # type: ignore[arg-type]
        return config

    def resolver(self) -> MxResolver:
        return MxResolver(
            self.settings.dns_nameserver(),
            clock=self.clock,
            timeout=min(self.settings.smtp_timeout, 5.0),
        )

    def worker(self, *, rng: random.Random | None = None, **overrides: object) -> Worker:
        def finish() -> None:
            with self.engine.begin() as conn:
                finish_if_done(conn, now=self.clock.now())

        return Worker(
            self.worker_config(**overrides),
            store=OutboxStore(self.engine),
            builder=CampaignMessageBuilder(
                self.engine,
                clock=self.clock,
                secret_key=self.secret_key(),
                bounce_domain=self.settings.bounce_domain,
            ),
            resolver=self.resolver(),
            clock=self.clock,
            after_record=finish,
            rng=rng,
        )

    def close(self) -> None:
        self.engine.dispose()


def ensure_data_dir(settings: Settings, *, create: bool) -> Path:
    path = settings.data_dir
    if path.is_dir():
        return path
    if path.exists():
        raise ConfigError(f"data directory {path} exists but is not a directory")
    if not create:
        raise ConfigError(f"data directory {path} does not exist; run `sendwell init` first")
    path.mkdir(parents=True, exist_ok=True)
    return path


def open_app(settings: Settings, *, clock: Clock | None = None, create: bool = False) -> App:
    """Connect to the database and migrate it to the current schema.

    ``create`` makes the data directory when it is missing (``sendwell init``, the demo);
    other commands refuse to run against a data directory that does not exist, since a
    typo in ``SENDWELL_DATA_DIR`` should not silently start an empty installation.
    """
    if not settings.database_url.reveal():
        ensure_data_dir(settings, create=create)
    engine = create_db_engine(settings.database_url_value())
    upgrade(engine)
    return App(settings=settings, engine=engine, clock=clock or SystemClock())
