"""The one exception tree of sendwell.

Every error sendwell raises on purpose derives from :class:`SendwellError`. Foreign
exceptions (socket errors, SQLAlchemy errors, TOML decode errors, DNS library errors) are
translated into this tree at the edge where the library is called, so callers above the
edge only ever catch these classes. The CLI prints ``str(error)`` as a one-line message and
exits non-zero; the web layer maps classes to HTTP status codes in one place.

    SendwellError
    ├── ConfigError              unknown setting, bad value, malformed sendwell.toml
    ├── StorageError             database unreachable, migration failed
    ├── NotFound                 a named object (list, campaign, subscriber) does not exist
    ├── InvalidInput             user data that cannot be accepted (bad address, bad CSV row)
    │   └── TemplateError        template syntax error or undefined name, with line number
    ├── ConflictError            an operation not allowed in the object's current state
    │   └── PreflightBlocked     a campaign start refused: each blocker with its fix
    ├── ServiceUnavailable       an outside helper (spamd) did not answer, or not sensibly
    ├── SandboxError             the simulated internet could not start (port in use, bad profile)
    └── DeliveryError            one SMTP transaction did not succeed
        ├── TemporaryFailure     4xx reply, connection refused/dropped, timeout: retry later
        └── PermanentFailure     5xx reply, null MX, no such domain: never retry
"""

from __future__ import annotations

from collections.abc import Sequence


class SendwellError(Exception):
    """Base of every error sendwell raises on purpose."""


class ConfigError(SendwellError):
    """A setting is unknown, has a bad value, or its file cannot be read."""


class StorageError(SendwellError):
    """The database cannot be reached, created or migrated."""


class NotFound(SendwellError):
    """A named object does not exist."""


class InvalidInput(SendwellError):
    """User-supplied data cannot be accepted as it is."""


class TemplateError(InvalidInput):
    """A template does not compile or render; the message names the line.

    ``problems`` holds ``(part, line, message)`` for each error the save-time check found
    (``part`` is subject, body or text; ``line`` may be None), so interfaces can point at
    each one; it is empty when the message describes a single failure.
    """

    def __init__(self, message: str, problems: Sequence[tuple[str, int | None, str]] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems)


class ConflictError(SendwellError):
    """The operation is not allowed in the object's current state."""


class PreflightBlocked(ConflictError):
    """A campaign did not start because preflight found blockers.

    ``blockers`` holds ``(code, problem, fix)`` for each; the message lists them all, so
    the CLI's one-line error and the API's error body both say what to do.
    """

    def __init__(self, campaign_id: int, blockers: list[tuple[str, str, str]]) -> None:
        lines = [f"campaign {campaign_id} cannot start: {len(blockers)} blocker(s)"]
        lines += [f"  - {code}: {problem} (fix: {fix})" for code, problem, fix in blockers]
        super().__init__("\n".join(lines))
        self.campaign_id = campaign_id
        self.blockers = blockers


class ServiceUnavailable(SendwellError):
    """An outside helper service (spamd) could not be asked or gave no usable answer."""


class SandboxError(SendwellError):
    """The simulated internet could not start or was misconfigured."""


class DeliveryError(SendwellError):
    """One SMTP attempt did not succeed.

    ``code`` is the SMTP reply code (0 when no reply was received, e.g. a dropped
    connection), ``reply`` the full reply text as the server sent it (or a description of
    the local failure).
    """

    def __init__(self, code: int, reply: str) -> None:
        super().__init__(f"{code} {reply}" if code else reply)
        self.code = code
        self.reply = reply


class TemporaryFailure(DeliveryError):
    """Worth retrying later: 4xx replies, network faults, timeouts."""


class PermanentFailure(DeliveryError):
    """Never worth retrying: 5xx replies, null MX, non-existent domain."""
