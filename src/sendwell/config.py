"""Settings: one declarative table, read from ``SENDWELL_*`` variables and ``sendwell.toml``.

The table *is* the :class:`Settings` dataclass: each field is one setting, declared with
:func:`setting` giving its default and its help text. The same table feeds
``sendwell config show``, the settings reference in ``docs/settings.md`` (a test fails when
a setting is missing there or has no help) and the composition root, which passes the
values a component needs to that component — there is no global settings object.

Precedence, highest first: environment (``SENDWELL_DATA_DIR=...``), the TOML file (the
path in ``SENDWELL_CONFIG``, else ``./sendwell.toml`` if present), the default. Unknown
names in either source are errors, never silently ignored: a typo in a setting name would
otherwise send mail with the wrong limits.

Secrets are held in :class:`Secret`, whose ``str`` and ``repr`` are stars, so a secret does
not reach a log line, a traceback or ``config show`` by accident.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, get_type_hints

from sendwell.errors import ConfigError

ENV_PREFIX = "SENDWELL_"
CONFIG_ENV = "SENDWELL_CONFIG"
DEFAULT_CONFIG_FILE = "sendwell.toml"

Source = Literal["default", "file", "env", "override"]


class Secret:
    """A string that prints as stars; call :meth:`reveal` where the value is really needed."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __str__(self) -> str:
        return "**********" if self._value else ""

    def __repr__(self) -> str:
        return f"Secret({str(self)!r})"


def setting(default: Any, help: str) -> Any:
    """Declare one setting: its default and the sentence ``config show`` and the docs print."""
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    """Every setting sendwell reads. Field name = setting name (env: ``SENDWELL_<NAME>``)."""

    data_dir: Path = setting(
        Path("sendwell-data"),
        "Directory for the SQLite database, DKIM keys and exports. Created by `sendwell init`.",
    )
    database_url: Secret = setting(
        Secret(""),
        "SQLAlchemy URL of the database. Empty: SQLite file `sendwell.db` in the data "
        "directory. PostgreSQL: `postgresql+psycopg://user@host/db`.",
    )
    dns_resolver: str = setting(
        "",
        "DNS server used for MX lookups, as `host:port` or `host`. Empty: the system resolver.",
    )
    smtp_port: int = setting(
        25, "TCP port of destination mail servers for direct-to-MX delivery (25 on the internet)."
    )
    helo_name: str = setting(
        "",
        "Name sendwell announces in EHLO. Empty: this machine's fully qualified name.",
    )
    bounce_domain: str = setting(
        "",
        "Domain of the VERP return path (`b-<id>-<sig>@<domain>`). Empty: the From domain.",
    )
    secret_key: Secret = setting(
        Secret(""),
        "Key for signing return paths and links. Empty: generated once and kept in the "
        "data directory (`secret.key`).",
    )
    public_url: str = setting(
        "http://localhost:8000",
        "Base URL where recipients reach sendwell's public pages (unsubscribe links).",
    )
    worker_batch_size: int = setting(500, "Outbox rows a worker leases at a time.")
    worker_concurrency: int = setting(
        100, "Most SMTP sessions one worker keeps open at once, across all destinations."
    )
    site_connection_limit: int = setting(
        10,
        "Most simultaneous SMTP sessions to one destination site (a set of domains sharing "
        "MX hosts), the field's conservative default.",
    )
    max_deliveries_per_connection: int = setting(
        100, "Messages sent over one SMTP session before it is closed and a new one opened."
    )
    lease_seconds: int = setting(
        300,
        "How long leased outbox rows stay reserved for a worker; a crashed worker's rows "
        "return to the queue after this.",
    )
    smtp_timeout: float = setting(
        30.0, "Seconds to wait for any SMTP reply or network operation before deferring."
    )
    retry_base_seconds: float = setting(
        60.0, "Delay before the first retry of a temporarily failed delivery; doubles after."
    )
    retry_max_interval_seconds: float = setting(4 * 3600.0, "Longest delay between two retries.")
    retry_max_age_seconds: float = setting(
        3 * 86400.0, "A delivery still failing temporarily after this long ends `expired`."
    )
    poll_seconds: float = setting(1.0, "How often an idle worker looks for due outbox rows.")
    log_level: str = setting("INFO", "Logging level: DEBUG, INFO, WARNING or ERROR.")

    # -- delivery engine (shaping, warm-up, automation, scale-out) ------------------------

    # -- address verification -------------------------------------------------------------

    # -- feedback loop (bounces, complaints, inbound) ---------------------------------------

    # -- content and compliance (DKIM, sending domains, preflight) --------------------------

    # -- derived values ---------------------------------------------------------------

    def database_url_value(self) -> str:
        """The database URL, defaulting to the SQLite file in the data directory."""
        url = self.database_url.reveal()
        return url or f"sqlite:///{self.data_dir / 'sendwell.db'}"

    def dns_nameserver(self) -> tuple[str, int] | None:
        """``dns_resolver`` parsed as (host, port), or None for the system resolver."""
        return parse_host_port(self.dns_resolver, default_port=53, name="dns_resolver")

    def replace(self, **changes: Any) -> Settings:
        """A copy with some values changed (values are coerced like the environment's)."""
        coerced = {name: _coerce(name, value) for name, value in changes.items()}
        return dataclasses.replace(self, **coerced)


@dataclass(frozen=True)
class SettingInfo:
    """One row of the settings table, as documented and shown."""

    name: str
    type_name: str
    default: Any
    help: str
    secret: bool


def setting_table() -> list[SettingInfo]:
    """The declarative table: name, type, default and help of every setting."""
    hints = get_type_hints(Settings)
    rows = []
    for f in fields(Settings):
        typ = hints[f.name]
        rows.append(
            SettingInfo(
                name=f.name,
                type_name=getattr(typ, "__name__", str(typ)),
                default=f.default,
                help=str(f.metadata.get("help", "")),
                secret=typ is Secret,
            )
        )
    return rows


def parse_host_port(text: str, *, default_port: int, name: str) -> tuple[str, int] | None:
    """Parse ``host:port`` / ``host`` / ``[v6]:port``; empty text gives None."""
    text = text.strip()
    if not text:
        return None
    host, port = text, default_port
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest.startswith(":"):
            port = _port(rest[1:], name)
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        port = _port(port_text, name)
    return host, port


def _port(text: str, name: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise ConfigError(f"setting {name}: {text!r} is not a port number") from None
    if not 0 < port < 65536:
        raise ConfigError(f"setting {name}: port {port} is out of range")
    return port


def _coerce(name: str, raw: Any, origin: str = "") -> Any:
    """Turn a raw value (env string or TOML value) into the setting's declared type."""
    hints = get_type_hints(Settings)
    if name not in hints:
        raise ConfigError(f"unknown setting {name!r}{origin}")
    typ = hints[name]
    where = f"setting {name}{origin}"
    try:
        if typ is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        if typ is int:
            if isinstance(raw, bool):
                raise ValueError(raw)
            return int(raw)
        if typ is float:
            if isinstance(raw, bool):
                raise ValueError(raw)
            return float(raw)
        if typ is Path:
            return Path(str(raw)).expanduser()
        if typ is Secret:
            return raw if isinstance(raw, Secret) else Secret(str(raw))
        if not isinstance(raw, str):
            raise ValueError(raw)
        return raw
    except (TypeError, ValueError):
        raise ConfigError(
            f"{where}: {raw!r} is not a valid {getattr(typ, '__name__', typ)}"
        ) from None


def load_settings(
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
    cwd: Path | None = None,
) -> tuple[Settings, dict[str, Source]]:
    """Read settings from the TOML file and the environment.

    Returns the settings and, per setting name, where its value came from. Raises
    :class:`ConfigError` for unknown names, bad values and unreadable or malformed files.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    sources: dict[str, Source] = {f.name: "default" for f in fields(Settings)}

    path = config_file
    if path is None and env.get(CONFIG_ENV):
        path = Path(env[CONFIG_ENV])
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV} names {path}, which does not exist")
    if path is None:
        candidate = (cwd or Path.cwd()) / DEFAULT_CONFIG_FILE
        path = candidate if candidate.is_file() else None
    if path is not None:
        for name, raw in _read_toml(path).items():
            values[name] = _coerce(name, raw, f" in {path}")
            sources[name] = "file"

    for key, raw in env.items():
        if not key.startswith(ENV_PREFIX) or key == CONFIG_ENV:
            continue
        name = key[len(ENV_PREFIX) :].lower()
        values[name] = _coerce(name, raw, f" (environment variable {key})")
        sources[name] = "env"
    return Settings(**values), sources


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"malformed TOML in {path}: {exc}") from None
    # Settings may sit at the top level or under a [sendwell] table.
    table = data.get("sendwell", data) if set(data) <= {"sendwell"} else data
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [sendwell] must be a table")
    return table
