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
    shaping_file: str = setting(
        "",
        "Traffic shaping file (TOML): per-site limits, provider blocks, automation rules, "
        "sending sources and warm-up schedules. Empty: the shipped conservative file "
        "(docs/shaping.md).",
    )
    redis_url: Secret = setting(
        Secret(""),
        "Redis URL (`redis://127.0.0.1:6379/0`) for rate limits and connection caps shared "
        "by every worker. Empty: limits are kept in each worker process.",
    )
    redis_namespace: str = setting(
        "sendwell",
        "Prefix of every Redis key sendwell writes, so several installations can share "
        "one Redis server.",
    )
    worker_processes: int = setting(
        0,
        "Worker processes `sendwell worker` starts; 0 means one per CPU core (building and "
        "signing messages is CPU-bound).",
    )

    # -- address verification -------------------------------------------------------------
    verify_exclude_verdicts: str = setting(
        "invalid",
        "Verdicts that campaigns skip, comma-separated (valid, risky, invalid, unknown; "
        "'valid' is refused).",
    )
    verify_exclude_reasons: str = setting(
        "disposable",
        "Reason codes that make campaigns skip an address whatever its verdict, "
        "comma-separated (e.g. `disposable,role,catch_all`; see docs/verification.md).",
    )
    verify_dns_timeout: float = setting(
        5.0, "Seconds to wait for one DNS answer while verifying; a timeout gives `unknown`."
    )
    verify_concurrency: int = setting(
        50, "Most DNS lookups or mailbox probes one verification run has in flight at once."
    )
    verify_mx_allowed_networks: str = setting(
        "",
        "IP networks (CIDR, comma-separated) exempt from the rule that an MX on a "
        "loopback/private/reserved address is invalid; the sandbox needs `127.0.0.0/8`.",
    )
    verify_disposable_domains: str = setting(
        "", "Extra disposable domains (comma-separated), added to the packaged list."
    )
    verify_disposable_file: str = setting(
        "",
        "File of extra disposable domains, one per line (`#` comments), read at every run "
        "so it can be updated without upgrading sendwell.",
    )
    verify_allow_domains: str = setting(
        "",
        "Domains never treated as disposable (comma-separated), overriding every list.",
    )
    verify_role_accounts: str = setting(
        "",
        "Role local parts (comma-separated, e.g. `info,admin,noreply`) replacing the "
        "built-in list. Empty: the built-in list.",
    )
    verify_probe: bool = setting(
        False,
        "Run the SMTP mailbox probe (RCPT TO without sending) by default; off because it "
        "contacts other people's mail servers.",
    )
    verify_probe_sender: str = setting(
        "",
        "Envelope sender (MAIL FROM) of mailbox probes. Empty: postmaster@ the HELO name.",
    )
    verify_probe_interval: float = setting(
        2.0, "Least number of seconds between two mailbox probes to the same MX host."
    )
    verify_probe_skip_mx: str = setting(
        ".protection.outlook.com,.olc.protection.outlook.com,.mx.microsoft,.hotmail.com,"
        ".outlook.com,.yahoodns.net",
        "MX host name suffixes never probed (comma-separated): providers that penalize or "
        "defeat probing.",
    )

    # -- feedback loop (bounces, complaints, inbound) ---------------------------------------
    feedback_soft_bounce_limit: int = setting(
        3,
        "Soft bounces that suppress an address: this many of its last "
        "`feedback_soft_bounce_window` attempted deliveries bounced softly.",
    )
    feedback_soft_bounce_window: int = setting(
        5,
        "How many of an address's most recent attempted deliveries the soft-bounce rule looks at.",
    )
    feedback_max_hard_bounce_rate: float = setting(
        0.05,
        "A running campaign pauses itself when its hard bounces exceed this fraction of "
        "attempted deliveries (0.05 = 5 %).",
    )
    feedback_max_complaint_rate: float = setting(
        0.003,
        "A running campaign pauses itself when spam complaints exceed this fraction of "
        "delivered messages (0.003 = 0.3 %, Gmail's ceiling).",
    )
    feedback_breaker_min_sample: int = setting(
        200, "Attempted deliveries a campaign needs before its circuit breakers judge its rates."
    )
    inbound_listen: str = setting(
        "127.0.0.1:2526",
        "Address (`host:port`) where `sendwell inbound` accepts bounces, complaints and "
        "unsubscribe replies for the bounce domain.",
    )
    inbound_max_message_bytes: int = setting(
        10 * 1024 * 1024, "Largest message `sendwell inbound` accepts; bigger ones get 552."
    )
    imap_mailboxes: Secret = setting(
        Secret(""),
        "Mailboxes where bounces land, polled by `sendwell feedback poll-imap`: "
        "comma-separated `imaps://user:password@host:993/INBOX` URLs (`imap://` for plain).",
    )
    ses_topic_arns: str = setting(
        "", "Comma-separated SNS topic ARNs whose Amazon SES notifications are accepted."
    )
    sendgrid_webhook_public_key: str = setting(
        "", "SendGrid signed event webhook verification key (base64 DER ECDSA public key)."
    )
    mailgun_webhook_signing_key: Secret = setting(
        Secret(""), "Mailgun webhook signing key (HMAC-SHA256 of timestamp and token)."
    )
    postmark_webhook_credentials: Secret = setting(
        Secret(""), "`user:password` that Postmark webhooks must send as HTTP basic auth."
    )
    webhook_max_age_seconds: int = setting(
        600, "Signed webhook events older than this are refused as possible replays."
    )

    # -- content and compliance (DKIM, sending domains, preflight) --------------------------
    spf_sources: str = setting(
        "",
        "Comma-separated sources that send sendwell's mail: IPv4/IPv6 addresses or CIDR "
        "ranges, and relays as `include:relay.example`. `sendwell domains check` verifies "
        "each From domain's SPF record covers every one.",
    )
    sender_organization: str = setting(
        "",
        "Sender identity shown in every message (CAN-SPAM, CASL); templates use "
        "`{{ sender.organization }}`. A campaign may override it.",
    )
    sender_postal_address: str = setting(
        "",
        "Physical postal address required in every commercial message; templates use "
        "`{{ sender.postal_address }}`. A campaign without one does not start.",
    )
    feedback_id_sender: str = setting(
        "sendwell",
        "Sender id, the last field of the `Feedback-ID` header "
        "(`<campaign>:<list>:<stream>:<sender>`) that Gmail's feedback loop reports on.",
    )
    frequency_cap_count: int = setting(
        2,
        "Most campaigns one subscriber receives within `frequency_cap_days`; 0 disables "
        "the cap. A campaign may override it.",
    )
    frequency_cap_days: int = setting(30, "Length in days of the frequency cap's rolling window.")
    spamd_address: str = setting(
        "127.0.0.1:783",
        "SpamAssassin `spamd` (`host:port`) that preflight asks for a content score; when it "
        "does not answer, built-in heuristics are used. Empty: never ask spamd.",
    )
    spamd_timeout: float = setting(
        10.0, "Seconds one spamd check may take in all before preflight falls back to heuristics."
    )
    link_check_timeout: float = setting(
        10.0, "Seconds each link may take to answer in the optional preflight link check."
    )
    link_check_allowed_networks: str = setting(
        "",
        "IP networks (CIDR, comma-separated) the link check may fetch although they are not "
        "public (loopback, private); by default it fetches only public addresses.",
    )
    allow_http_one_click: bool = setting(
        False,
        "Accept an `http://` public_url for the one-click List-Unsubscribe URL (a warning "
        "instead of a blocker). For local tests against the sandbox only: RFC 8058 one-click "
        "needs https, and Gmail and Yahoo ignore anything else.",
    )
    preflight_mx_lookups: int = setting(
        200,
        "Recipient domains (the biggest first) whose MX preflight resolves to group them into "
        "destination sites for the delivery estimate; smaller ones count as sites of their own.",
    )

    # -- web (admin UI, REST API, public pages) ----------------------------------------------
    web_session_hours: float = setting(
        12.0, "How long an admin UI sign-in lasts before the user must sign in again."
    )
    web_login_max_failures: int = setting(
        5,
        "Failed sign-ins allowed per client IP and user within `web_login_window_seconds`; "
        "further attempts are refused (HTTP 429) until the window has passed.",
    )
    web_login_window_seconds: int = setting(
        900, "Window in seconds over which failed sign-ins are counted."
    )
    web_subscribe_max_per_hour: int = setting(
        20, "Subscribe-form submissions accepted per client IP per hour (spam protection)."
    )
    web_max_body_bytes: int = setting(
        10 * 1024 * 1024,
        "Largest HTTP request body except import uploads; bigger ones get 413.",
    )
    web_max_upload_bytes: int = setting(
        200 * 1024 * 1024,
        "Largest subscriber file accepted by an import upload (`POST /api/v1/imports`, the "
        "admin UI's import page); bigger ones get 413. Uploads are streamed to disk.",
    )
    web_background_jobs: int = setting(
        2,
        "Imports and list verifications one web process runs at once; further ones wait "
        "in line (state `queued`).",
    )

    # -- audience (consent, double opt-in, sunset, import) ------------------------------
    sunset_days: int = setting(
        180,
        "Subscribers with no open or click in this many days (and subscribed for longer) "
        "are left out of campaigns unless a campaign targets them for re-engagement; "
        "0 turns the sunset rule off.",
    )
    optin_link_days: int = setting(
        7, "Days a double opt-in confirmation link stays valid after it is sent."
    )
    import_batch_size: int = setting(20000, "Rows written per transaction by `subscribers import`.")

    # -- tracking (opens, clicks, unsubscribe pages, reports) --------------------------
    tracking_previous_keys: Secret = setting(
        Secret(""),
        "Retired signing keys, comma-separated, still accepted (never used to sign) for "
        "tracking, unsubscribe and preference links after `secret_key` is rotated. Keep "
        "each for at least a year so links in old messages keep working.",
    )
    tracking_scanner_window_seconds: float = setting(
        10.0,
        "Clicks within this many seconds of delivery are counted as security scanners, not people.",
    )
    tracking_scanner_networks: str = setting(
        "40.92.0.0/15,40.107.0.0/16,52.100.0.0/14,104.47.0.0/17",
        "Comma-separated networks (CIDR) of link-scanning security services; their clicks "
        "are counted as machine activity.",
    )
    tracking_batch_size: int = setting(
        1000, "Most open/click events written per transaction by the web process."
    )

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


@dataclass(frozen=True)
class EffectiveSetting:
    """One setting as in force: its value as text (secrets as stars) and its source."""

    name: str
    value: str
    source: Source
    help: str
    type_name: str
    secret: bool


def effective_settings(
    settings: Settings, sources: Mapping[str, Source] | None = None
) -> list[EffectiveSetting]:
    """Every setting's value and where it came from, for ``config show`` and the web UI.

    Without ``sources`` (settings built in code, not loaded), a value equal to the default
    is reported as ``default`` and any other as ``override``. Secrets are shown through
    :class:`Secret`'s ``str``, so they are always stars.
    """
    rows = []
    for info in setting_table():
        value = getattr(settings, info.name)
        if sources is not None and info.name in sources:
            source = sources[info.name]
        else:
            source = "default" if value == info.default else "override"
        kind = "secret" if info.secret else info.type_name
        rows.append(EffectiveSetting(info.name, str(value), source, info.help, kind, info.secret))
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
