"""The consent log: append-only evidence of every subscribe, confirm, unsubscribe, import
and erase.

Each entry records when (UTC), where from (form, API token, import batch, CLI), the IP and
user agent where known, the exact wording shown and its version, the method (checkbox,
double opt-in with its confirmation time, import), the lawful basis (``consent`` or
``soft_opt_in``) and, for implied consent, when it lapses. CASL's implied consent lasts
two years after a purchase and six months after an inquiry (s.10(10)); :func:`implied_expiry`
computes that.

An import's entries keep only what differs per row (time, address, list, the row's own
source and IP, implied-consent expiry) and reference the import's record for the evidence
the whole file shares (wording, version, lawful basis); :func:`history` puts the two back
together, so every entry reads the same whichever way it was stored.

Entries carry the address hash so that the ``erase`` entry survives erasure without the
address; they are looked up through the subscriber row (found by its address) while it
exists and by hash (a partial index) once it does not. Nothing here updates or deletes a
row except :func:`forget`, which only erasure calls.

Limit: month arithmetic for "6 months" clamps to the month's last day (31 Aug → 28 Feb).
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Connection, and_, delete, insert, or_, select

from sendwell.audience.addresses import Address
from sendwell.errors import InvalidInput
from sendwell.store.schema import subscribers
from sendwell.store.schema_audience import audience_imports, consent_events

Action = Literal["subscribe", "confirm", "unsubscribe", "import", "erase"]
LawfulBasis = Literal["consent", "soft_opt_in"]
ImpliedBy = Literal["purchase", "inquiry"]
BASES: tuple[LawfulBasis, ...] = ("consent", "soft_opt_in")


@dataclass(frozen=True)
class Evidence:
    """How consent (or its withdrawal) was obtained; shared by many entries of one batch."""

    source: str  # form | api | import | cli | feedback | admin
    source_ref: str = ""
    ip: str | None = None
    user_agent: str | None = None
    wording: str | None = None
    wording_version: str | None = None
    method: str | None = None  # checkbox | double_opt_in | import | link | manual
    lawful_basis: LawfulBasis | None = None
    implied_expires_at: datetime | None = None
    confirmed_at: datetime | None = None


@dataclass(frozen=True)
class ConsentEntry:
    """One row of the log, as read back."""

    id: int
    at: datetime
    action: str
    list_id: int | None
    evidence: Evidence

    def as_json(self) -> dict[str, Any]:
        data = {"id": self.id, "at": self.at.isoformat(), "action": self.action}
        data["list_id"] = self.list_id
        for key, value in asdict(self.evidence).items():
            data[key] = value.isoformat() if isinstance(value, datetime) else value
        return data


def _add_months(when: datetime, months: int) -> datetime:
    month0 = when.month - 1 + months
    year, month = when.year + month0 // 12, month0 % 12 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


def implied_expiry(implied_by: ImpliedBy, since: datetime) -> datetime:
    """When CASL implied consent lapses: 2 years after a purchase, 6 months after an inquiry."""
    if implied_by == "purchase":
        return _add_months(since, 24)
    if implied_by == "inquiry":
        return _add_months(since, 6)
    raise InvalidInput(f"implied consent comes from 'purchase' or 'inquiry', not {implied_by!r}")


def check_basis(basis: str) -> LawfulBasis:
    if basis not in BASES:
        raise InvalidInput(f"lawful basis must be one of {', '.join(BASES)}, not {basis!r}")
    return basis


def entry_row(
    *,
    at: datetime,
    email_hash: str,
    action: Action,
    evidence: Evidence,
    subscriber_id: int | None = None,
    list_id: int | None = None,
) -> dict[str, Any]:
    """The row :func:`record_many` inserts (built separately so imports can batch them)."""
    return {
        "at": at,
        "email_hash": email_hash,
        "subscriber_id": subscriber_id,
        "list_id": list_id,
        "action": action,
        **asdict(evidence),
    }


def record(
    conn: Connection,
    *,
    at: datetime,
    email_hash: str,
    action: Action,
    evidence: Evidence,
    subscriber_id: int | None = None,
    list_id: int | None = None,
) -> None:
    """Append one entry."""
    record_many(
        conn,
        [
            entry_row(
                at=at,
                email_hash=email_hash,
                action=action,
                evidence=evidence,
                subscriber_id=subscriber_id,
                list_id=list_id,
            )
        ],
    )


def record_many(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(consent_events), list(rows))


def _of(conn: Connection, person: Address) -> ColumnElement[bool]:
    """Entries of one address: through its subscriber row, or orphaned (after erasure)."""
    # By address, not by hash: subscribers carry no index on the hash (random keys make
    # such an index the most expensive part of a bulk import), and every caller knows the
    # address. The hash check keeps a reused subscriber id from picking up old entries.
    email_hash = person.hash
    orphan = and_(
        consent_events.c.subscriber_id.is_(None), consent_events.c.email_hash == email_hash
    )
    sid = conn.execute(select(subscribers.c.id).where(subscribers.c.email == person.email)).scalar()
    if sid is None:
        return orphan
    return or_(
        and_(consent_events.c.subscriber_id == sid, consent_events.c.email_hash == email_hash),
        orphan,
    )


def import_reference(import_id: int, file_name: str) -> str:
    """The ``source_ref`` of an import's entries: which import, from which file."""
    return f"import:{import_id} {file_name}"[:200]


_FIELDS = tuple(Evidence.__dataclass_fields__)


def _evidence(row: Any) -> Evidence:
    values = {f: row._mapping[f] for f in _FIELDS}
    if row.import_id is not None:
        # An import entry: the evidence every row of the file shares is the import's.
        values.update(
            source_ref=row.source_ref or import_reference(row.import_id, row.import_file),
            wording=row.import_wording,
            wording_version=row.import_wording_version,
            method="import",
            lawful_basis=row.import_basis,
        )
    return Evidence(**values)


def history(conn: Connection, person: Address) -> list[ConsentEntry]:
    """Every entry for one (normalized) address, oldest first."""
    rows = conn.execute(
        select(
            consent_events,
            audience_imports.c.file_name.label("import_file"),
            audience_imports.c.wording.label("import_wording"),
            audience_imports.c.wording_version.label("import_wording_version"),
            audience_imports.c.lawful_basis.label("import_basis"),
        )
        .select_from(
            consent_events.outerjoin(
                audience_imports, audience_imports.c.id == consent_events.c.import_id
            )
        )
        .where(_of(conn, person))
        .order_by(consent_events.c.at, consent_events.c.id)
    ).all()
    return [
        ConsentEntry(id=r.id, at=r.at, action=r.action, list_id=r.list_id, evidence=_evidence(r))
        for r in rows
    ]


def forget(conn: Connection, person: Address) -> int:
    """Delete an address's entries (erasure only: they hold IP and user agent)."""
    return int(conn.execute(delete(consent_events).where(_of(conn, person))).rowcount or 0)
