"""Turn a :class:`FeedbackReport` into store actions under the :class:`FeedbackPolicy`.

Actions, each also written as an event on the subscriber's history (``events``):

=============  ==================================================================
report         action
=============  ==================================================================
hard bounce    event ``bounce_hard``; global suppression (``hard_bounce``); ``suppressed``
soft bounce    event ``bounce_soft``; suppression once K of the last N attempted
               deliveries to the address bounced softly (``suppressed``, detail says so)
block          event ``bounce_block`` only — the sender's problem, nobody is suppressed
complaint      event ``complaint``; suppression (``complaint``); unsubscribed from all
               lists (``unsubscribe``)
unsubscribe    (mailto reply) unsubscribed from the campaign's lists (``unsubscribe``)
delayed,       nothing
autoreply,
unknown
=============  ==================================================================

Mail-borne reports act only on the outbox row named by a *signed* identifier, and on that
row's address (not the address quoted in the report, which anyone can write). Reports
without one change nothing. Authenticated provider webhooks may act on the addresses they
name (``trust_addresses=True``). The same report applied twice changes nothing the second
time: events are written once per (outbox row, kind).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, desc, exists, insert, select

from sendwell.audience.suppressions import suppress
from sendwell.audience.unsubscribe import unsubscribe
from sendwell.feedback.breakers import check_circuit_breakers
from sendwell.feedback.classify import classify, find_smtp_code, find_status
from sendwell.feedback.policy import FeedbackPolicy, soft_window_exceeded
from sendwell.feedback.records import FeedbackReport, RecipientResult
from sendwell.store.schema import campaign_lists, events, outbox

log = logging.getLogger(__name__)

_SEVERITY = {"hard": 3, "block": 2, "soft": 1}


@dataclass(frozen=True)
class Target:
    """Whom an action is about."""

    email: str
    outbox_id: int | None
    subscriber_id: int | None
    campaign_id: int | None


@dataclass(frozen=True)
class Action:
    """One thing that was done (for logs, the CLI and tests)."""

    kind: str  # the event kind written
    email: str
    outbox_id: int | None
    detail: str


def _target_for_row(conn: Connection, outbox_id: int) -> Target | None:
    row = conn.execute(
        select(outbox.c.email, outbox.c.subscriber_id, outbox.c.campaign_id).where(
            outbox.c.id == outbox_id
        )
    ).first()
    if row is None:
        return None
    return Target(row.email, outbox_id, row.subscriber_id, row.campaign_id)


def _target_for_address(conn: Connection, email: str) -> Target:
    row = conn.execute(
        select(outbox.c.id, outbox.c.email, outbox.c.subscriber_id, outbox.c.campaign_id)
        .where(outbox.c.email == email.strip().lower())
        .order_by(desc(outbox.c.id))
        .limit(1)
    ).first()
    if row is None:
        return Target(email.strip().lower(), None, None, None)
    return Target(row.email, row.id, row.subscriber_id, row.campaign_id)


def _event(
    conn: Connection, target: Target, kind: str, now: datetime, detail: str, code: int | None
) -> bool:
    """Write an event unless this row already has one of this kind. True if written."""
    if target.outbox_id is not None:
        seen = conn.execute(
            select(
                exists().where(and_(events.c.outbox_id == target.outbox_id, events.c.kind == kind))
            )
        ).scalar()
        if seen:
            return False
    conn.execute(
        insert(events).values(
            at=now,
            kind=kind,
            campaign_id=target.campaign_id,
            outbox_id=target.outbox_id,
            subscriber_id=target.subscriber_id,
            code=code,
            detail=detail[:2000],
        )
    )
    return True


def _recent_soft(conn: Connection, email: str, window: int) -> list[bool]:
    """Newest first: whether each of the last ``window`` attempted deliveries bounced softly."""
    soft = exists().where(and_(events.c.outbox_id == outbox.c.id, events.c.kind == "bounce_soft"))
    rows = conn.execute(
        select(soft.label("soft"))
        .where(and_(outbox.c.email == email, outbox.c.attempts > 0))
        .order_by(desc(outbox.c.id))
        .limit(window)
    ).all()
    return [bool(r.soft) for r in rows]


def _suppress(
    conn: Connection, target: Target, reason: str, now: datetime, detail: str
) -> list[Action]:
    assert reason in {"hard_bounce", "complaint"}
    if not suppress(conn, target.email, reason=reason, now=now, detail=detail[:500]):  # type: ignore[arg-type]
        return []
    _event(conn, target, "suppressed", now, f"{reason}: {detail}", None)
    return [Action("suppressed", target.email, target.outbox_id, f"{reason}: {detail}")]


def _bounce(
    conn: Connection,
    target: Target,
    result: RecipientResult,
    now: datetime,
    policy: FeedbackPolicy,
) -> list[Action]:
    detail = " ".join(x for x in (result.status, result.reason, result.diagnostic) if x)
    code = find_smtp_code(result.diagnostic)
    kind = {"hard": "bounce_hard", "soft": "bounce_soft", "block": "bounce_block"}[
        result.classification
    ]
    if not _event(conn, target, kind, now, detail, code):
        return []
    actions = [Action(kind, target.email, target.outbox_id, detail)]
    if result.classification == "hard":
        actions += _suppress(conn, target, "hard_bounce", now, detail)
    elif result.classification == "soft":
        recent = _recent_soft(conn, target.email, policy.soft_bounce_window)
        if soft_window_exceeded(recent, policy):
            why = (
                f"{sum(recent)} of the last {len(recent)} deliveries bounced softly "
                f"(limit {policy.soft_bounce_limit} of {policy.soft_bounce_window})"
            )
            actions += _suppress(conn, target, "hard_bounce", now, why)
    else:
        log.warning("sender problem reported for %s: %s", target.email, detail)
    return actions


def _worst(results: tuple[RecipientResult, ...], email: str) -> RecipientResult | None:
    failed = [r for r in results if r.classification in _SEVERITY]
    if not failed:
        return None
    mine = [r for r in failed if r.address.lower() == email.lower()]
    return max(mine or failed, key=lambda r: _SEVERITY[r.classification])


def apply_report(
    conn: Connection,
    report: FeedbackReport,
    *,
    now: datetime,
    policy: FeedbackPolicy,
    trust_addresses: bool = False,
) -> list[Action]:
    """Apply one report; returns what was done (empty when nothing applied)."""
    targets: list[tuple[Target, RecipientResult | None]] = []
    row = _target_for_row(conn, report.outbox_id) if report.outbox_id is not None else None
    if row is not None:
        targets.append((row, _worst(report.recipients, row.email)))
    elif trust_addresses:
        for r in report.recipients:
            if r.address:
                targets.append((_target_for_address(conn, r.address), r))
    if not targets:
        return []

    actions: list[Action] = []
    for target, result in targets:
        if report.kind == "bounce" and result is not None and result.classification in _SEVERITY:
            actions += _bounce(conn, target, result, now, policy)
        elif report.kind == "complaint":
            detail = f"feedback-type {report.feedback_type or 'abuse'} via {report.format}"
            if _event(conn, target, "complaint", now, detail, None):
                actions.append(Action("complaint", target.email, target.outbox_id, detail))
            actions += _suppress(conn, target, "complaint", now, detail)
            if target.subscriber_id is not None and unsubscribe(
                conn, target.subscriber_id, now=now
            ):
                _event(conn, target, "unsubscribe", now, "all lists (complaint)", None)
                actions.append(Action("unsubscribe", target.email, target.outbox_id, "all"))
        elif report.kind == "unsubscribe" and target.subscriber_id is not None:
            list_ids = list(
                conn.execute(
                    select(campaign_lists.c.list_id).where(
                        campaign_lists.c.campaign_id == target.campaign_id
                    )
                ).scalars()
            )
            if unsubscribe(conn, target.subscriber_id, now=now, list_ids=list_ids):
                detail = f"lists {','.join(map(str, list_ids))} ({report.format or 'mailto'})"
                _event(conn, target, "unsubscribe", now, detail, None)
                actions.append(Action("unsubscribe", target.email, target.outbox_id, detail))
    for campaign_id in {t.campaign_id for t, _ in targets if t.campaign_id is not None}:
        if any(a.kind in {"bounce_hard", "complaint"} for a in actions):
            trip = check_circuit_breakers(conn, campaign_id, now, policy)
            if trip is not None:
                actions.append(Action("campaign_paused", "", None, trip.reason))
    return actions


def record_session_bounce(
    conn: Connection,
    outbox_id: int,
    code: int,
    reply: str,
    *,
    now: datetime,
    policy: FeedbackPolicy,
) -> list[Action]:
    """A 5xx reply during our own SMTP session: classify it and apply the bounce policy.

    Called by the delivery engine's after-record hook for rows that ended ``bounced``.
    """
    diagnostic = f"{code} {reply}" if code and not reply.startswith(str(code)) else reply
    verdict = classify(find_status(diagnostic), diagnostic, "failed")
    target = _target_for_row(conn, outbox_id)
    if target is None:
        return []
    result = RecipientResult(
        address=target.email,
        action="failed",
        status=find_status(diagnostic),
        classification=verdict.classification,
        reason=verdict.reason,
        diagnostic=diagnostic,
    )
    report = FeedbackReport("bounce", (result,), outbox_id, "session", format="smtp")
    return apply_report(conn, report, now=now, policy=policy)
