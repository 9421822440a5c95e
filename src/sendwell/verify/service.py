"""Verification and the database: history, storing results, lists, campaign policy.

* :func:`history_findings` — sendwell's own record: hard-bounce and complaint
  suppressions (kept by hash even after erasure) become ``hard_bounced``/``complained``;
* :func:`store_verifications` — upserts the latest result per address hash, linked to
  the subscriber with that hash when there is one;
* :func:`verify_list` — verifies every subscriber of a list in pages and stores the
  results; memory stays flat however long the list is;
* campaign policy — :func:`excluded_condition` is a SQL condition for the campaign's
  ``INSERT ... SELECT`` (no rows through Python), :func:`excluded_subscriber_ids` the
  same as a set, and :func:`audience_quality` the counts a preflight shows.

Limits: a subscriber never verified is not excluded (verification is advisory until run);
results do not expire by themselves — re-run ``sendwell verify --list`` to refresh.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    exists,
    false,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from sendwell.store.schema import (
    campaign_lists,
    subscribers,
    subscriptions,
    suppressions,
)
from sendwell.store.schema_verify import verifications
from sendwell.verify.bulk import Verifier
from sendwell.verify.records import VERDICTS, Finding, Reason, Verdict, Verification
from sendwell.verify.verdict import Policy, excluded_by_policy

__all__ = [
    "AudienceQuality",
    "DatabaseHistory",
    "ListResult",
    "ListSummary",
    "StoredVerification",
    "audience_quality",
    "excluded_condition",
    "excluded_subscriber_ids",
    "history_findings",
    "latest_verification",
    "list_members",
    "list_results",
    "store_verifications",
    "verdict_counts",
    "verify_list",
]

_HISTORY: dict[str, Finding] = {
    "hard_bounce": Finding(Reason.HARD_BOUNCED, "hard-bounced a previous sendwell message"),
    "complaint": Finding(Reason.COMPLAINED, "complained about a previous sendwell message"),
}
_PAGE = 2000
_IN_CHUNK = 500  # bound parameters per IN (...) query


def history_findings(conn: Connection, hashes: Iterable[str]) -> dict[str, list[Finding]]:
    """Findings from sendwell's own history for each of ``hashes`` that has any."""
    found: dict[str, list[Finding]] = {}
    unique = sorted(set(hashes))
    for start in range(0, len(unique), _IN_CHUNK):
        chunk = unique[start : start + _IN_CHUNK]
        rows = conn.execute(
            select(suppressions.c.email_hash, suppressions.c.reason).where(
                suppressions.c.email_hash.in_(chunk),
                suppressions.c.reason.in_(list(_HISTORY)),
            )
        )
        for email_hash, reason in rows:
            findings = found.setdefault(email_hash, [])
            if _HISTORY[reason] not in findings:
                findings.append(_HISTORY[reason])
    return found


class DatabaseHistory:
    """The :class:`~sendwell.verify.bulk.HistorySource` backed by the suppressions table."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def __call__(self, hashes: Sequence[str]) -> dict[str, list[Finding]]:
        with self._engine.connect() as conn:
            return history_findings(conn, hashes)


def _insert_for(conn: Connection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def store_verifications(conn: Connection, results: Sequence[Verification], *, now: datetime) -> int:
    """Upsert the syntax-valid results (the others have no hash); returns rows written."""
    rows: dict[str, dict[str, Any]] = {}
    hash_of: dict[str, str] = {}
    for r in results:
        if r.email_hash is None or r.normalized is None:
            continue
        hash_of[r.normalized] = r.email_hash
        rows[r.email_hash] = {
            "email_hash": r.email_hash,
            "domain": r.domain,
            "verdict": r.verdict,
            "score": r.score,
            "reasons": [{"code": f.code.value, "detail": f.detail} for f in r.findings],
            "reason_codes": "," + ",".join(r.reasons) + "," if r.reasons else "",
            "suggestion": r.suggestion,
            "disposable": r.disposable,
            "role": r.role,
            "free": r.free,
            "checks": ",".join(sorted(r.checks)),
            "checked_at": now,
        }
    if not rows:
        return 0
    # Owners are found by address (unique index); subscribers carry no index on the hash.
    addresses = list(hash_of)
    for start in range(0, len(addresses), _IN_CHUNK):
        chunk = addresses[start : start + _IN_CHUNK]
        owners = conn.execute(
            select(subscribers.c.email, subscribers.c.id).where(subscribers.c.email.in_(chunk))
        )
        for email, subscriber_id in owners:
            rows[hash_of[email]]["subscriber_id"] = subscriber_id
    values = [{"subscriber_id": None, **row} for row in rows.values()]
    stmt = _insert_for(conn)(verifications)
    updated = {c: stmt.excluded[c] for c in values[0] if c != "email_hash"}
    conn.execute(stmt.on_conflict_do_update(index_elements=["email_hash"], set_=updated), values)
    return len(values)


@dataclass(frozen=True)
class ListSummary:
    """What ``verify_list`` did: how many addresses and their verdicts."""

    total: int
    verdicts: dict[Verdict, int] = field(default_factory=dict)


async def verify_list(
    engine: Engine,
    verifier: Verifier,
    list_id: int,
    *,
    now: Callable[[], datetime],
    on_progress: Callable[[int], None] | None = None,
) -> ListSummary:
    """Verify every subscriber of ``list_id`` (any subscription status) and store results."""
    counts: dict[Verdict, int] = {v: 0 for v in VERDICTS}
    total = 0
    after = 0
    while True:
        with engine.connect() as conn:
            page = conn.execute(
                select(subscribers.c.id, subscribers.c.email)
                .join(subscriptions, subscriptions.c.subscriber_id == subscribers.c.id)
                .where(subscriptions.c.list_id == list_id, subscribers.c.id > after)
                .order_by(subscribers.c.id)
                .limit(_PAGE)
            ).all()
            if not page:
                break
            addresses = [row.email for row in page]
        results = await verifier.verify_many(addresses)
        with engine.begin() as conn:
            store_verifications(conn, results, now=now())
        for r in results:
            counts[r.verdict] += 1
        total += len(results)
        after = page[-1].id
        if on_progress is not None:
            on_progress(len(results))
    return ListSummary(total, counts)


# -- campaign policy ------------------------------------------------------------------


def excluded_condition(policy: Policy, email_hash: ColumnElement[str]) -> ColumnElement[bool]:
    """SQL: the address with hash ``email_hash`` has a verification the policy excludes.

    For the campaign's ``INSERT ... SELECT``, e.g.
    ``.where(not_(excluded_condition(policy, subscribers.c.email_hash)))``.
    """
    clauses: list[ColumnElement[bool]] = []
    if policy.verdicts:
        clauses.append(verifications.c.verdict.in_(sorted(policy.verdicts)))
    for reason in sorted(policy.reasons):
        clauses.append(verifications.c.reason_codes.like(f"%,{reason.value},%"))
    if not clauses:
        return false()
    return exists(
        select(literal(1)).where(and_(verifications.c.email_hash == email_hash, or_(*clauses)))
    )


def _audience(campaign_id: int) -> Any:
    """Distinct subscribers of the campaign's lists with a confirmed subscription."""
    return (
        select(subscribers.c.id, subscribers.c.email_hash)
        .join(subscriptions, subscriptions.c.subscriber_id == subscribers.c.id)
        .join(campaign_lists, campaign_lists.c.list_id == subscriptions.c.list_id)
        .where(campaign_lists.c.campaign_id == campaign_id, subscriptions.c.status == "confirmed")
        .distinct()
    )


def excluded_subscriber_ids(conn: Connection, campaign_id: int, policy: Policy) -> set[int]:
    """Ids of the campaign audience's subscribers that ``policy`` excludes."""
    audience = _audience(campaign_id).subquery()
    rows = conn.execute(
        select(audience.c.id).where(excluded_condition(policy, audience.c.email_hash))
    )
    return {int(r[0]) for r in rows}


@dataclass(frozen=True)
class AudienceQuality:
    """Preflight figures: verdict counts, never-verified people, how many are excluded."""

    total: int
    verdicts: Mapping[Verdict, int]
    unverified: int
    excluded: int
    risky: int


def audience_quality(conn: Connection, campaign_id: int, policy: Policy) -> AudienceQuality:
    """Counts over the campaign's confirmed audience, for the preflight report."""
    audience = _audience(campaign_id).subquery()
    rows = conn.execute(
        select(verifications.c.verdict, verifications.c.reason_codes, func.count())
        .select_from(
            audience.outerjoin(verifications, verifications.c.email_hash == audience.c.email_hash)
        )
        .group_by(verifications.c.verdict, verifications.c.reason_codes)
    ).all()
    verdicts: dict[Verdict, int] = {v: 0 for v in VERDICTS}
    unverified = excluded = total = 0
    for verdict, codes, count in rows:
        total += count
        if verdict is None:
            unverified += count
            continue
        verdicts[verdict] += count
        if excluded_by_policy(verdict, (codes or "").strip(",").split(","), policy):
            excluded += count
    return AudienceQuality(total, verdicts, unverified, excluded, verdicts["risky"])


@dataclass(frozen=True)
class StoredVerification:
    """The latest stored verification of one address, as the API and the UI show it."""

    verdict: str
    score: int
    reasons: tuple[str, ...]
    suggestion: str | None
    disposable: bool
    role: bool
    free: bool
    checked_at: datetime


def latest_verification(conn: Connection, email_hash: str) -> StoredVerification | None:
    """The stored result for one address (by its hash), or None if it was never verified."""
    row = conn.execute(
        select(verifications).where(verifications.c.email_hash == email_hash)
    ).first()
    return None if row is None else _stored(row)


def list_members(conn: Connection, list_id: int) -> int:
    """How many subscribers ``verify_list`` would check (every subscription status)."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(subscriptions)
            .where(subscriptions.c.list_id == list_id)
        ).scalar_one()
    )


@dataclass(frozen=True)
class ListResult:
    """One member of a list with the latest verification of their address (if any)."""

    subscriber_id: int
    email: str
    verification: StoredVerification | None


def list_results(
    conn: Connection,
    list_id: int,
    *,
    verdict: str | None = None,
    after: int = 0,
    limit: int = 50,
) -> list[ListResult]:
    """Members of a list by subscriber id with their stored verification; ``verdict``
    ``"unverified"`` gives those never verified."""
    query = (
        select(subscribers.c.id, subscribers.c.email, verifications)
        .join(subscriptions, subscriptions.c.subscriber_id == subscribers.c.id)
        .outerjoin(verifications, verifications.c.email_hash == subscribers.c.email_hash)
        .where(subscriptions.c.list_id == list_id, subscribers.c.id > after)
    )
    if verdict == "unverified":
        query = query.where(verifications.c.id.is_(None))
    elif verdict:
        query = query.where(verifications.c.verdict == verdict)
    rows = conn.execute(query.order_by(subscribers.c.id).limit(limit)).all()
    return [
        ListResult(
            subscriber_id=r[0],
            email=r[1],
            verification=None if r.verdict is None else _stored(r),
        )
        for r in rows
    ]


def _stored(row: Any) -> StoredVerification:
    return StoredVerification(
        verdict=row.verdict, score=row.score,
        reasons=tuple(code for code in row.reason_codes.split(",") if code),
        suggestion=row.suggestion, disposable=row.disposable, role=row.role, free=row.free,
        checked_at=row.checked_at,
    )  # fmt: skip


def verdict_counts(conn: Connection, list_id: int) -> dict[str, int]:
    """Members of a list by the verdict of their latest verification, and ``unverified``."""
    rows = conn.execute(
        select(verifications.c.verdict, func.count())
        .select_from(subscriptions)
        .join(subscribers, subscribers.c.id == subscriptions.c.subscriber_id)
        .outerjoin(verifications, verifications.c.email_hash == subscribers.c.email_hash)
        .where(subscriptions.c.list_id == list_id)
        .group_by(verifications.c.verdict)
    ).all()
    counts: dict[str, int] = {v: 0 for v in VERDICTS} | {"unverified": 0}
    for verdict, n in rows:
        counts[verdict or "unverified"] += int(n)
    return counts
