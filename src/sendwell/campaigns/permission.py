"""Permission to mail: consent evidence per (subscriber, list), as SQL conditions.

A person may receive a campaign through one of its lists when, for that list:

* the subscription is ``confirmed`` and no suppression scoped to the list is in force;
* the consent log holds evidence for it — a ``subscribe``, ``import`` or ``confirm``
  entry for that list — whose implied consent (CASL's 2 years after a purchase, 6 months
  after an inquiry) has not lapsed;
* on a double opt-in list, the person confirmed: a ``confirm`` entry, or evidence that
  carries a confirmation time (imported double opt-in records).

:func:`permitted` is that condition for the outer ``subscribers`` row, used by the outbox
materialization (people without permission get an ``excluded`` row) and by preflight,
which turns each kind of gap into a blocker with :func:`permission_gaps`.

Limit: consent is judged per list as recorded; a global suppression is the outbox's
business (``suppressed`` rows), not this module's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    exists,
    func,
    not_,
    or_,
    select,
)

from sendwell.store.schema import lists, subscribers, subscriptions, suppressions
from sendwell.store.schema_audience import consent_events

EVIDENCE = ("subscribe", "import", "confirm")


@dataclass(frozen=True)
class PermissionGaps:
    """Would-be recipients without permission, by reason, with a few examples each."""

    no_consent: int = 0
    lapsed: int = 0
    unconfirmed: int = 0
    examples: dict[str, tuple[str, ...]] | None = None

    @property
    def total(self) -> int:
        return self.no_consent + self.lapsed + self.unconfirmed


def _evidence(list_id: ColumnElement[int], *, valid_at: datetime | None) -> ColumnElement[bool]:
    cond = [
        consent_events.c.subscriber_id == subscribers.c.id,
        consent_events.c.list_id == list_id,
        consent_events.c.action.in_(EVIDENCE),
    ]
    if valid_at is not None:
        cond.append(
            or_(
                consent_events.c.implied_expires_at.is_(None),
                consent_events.c.implied_expires_at > valid_at,
            )
        )
    return exists().where(and_(*cond)).correlate_except(consent_events)


def _confirmed(list_id: ColumnElement[int]) -> ColumnElement[bool]:
    return (
        exists()
        .where(
            consent_events.c.subscriber_id == subscribers.c.id,
            consent_events.c.list_id == list_id,
            or_(consent_events.c.action == "confirm", consent_events.c.confirmed_at.is_not(None)),
        )
        .correlate_except(consent_events)
    )


# A condition on one membership: (the list id column, the list's opt-in mode column).
Rule = Callable[[ColumnElement[int], ColumnElement[str]], ColumnElement[bool]]


def _through_list(list_ids: Sequence[int], now: datetime, rule: Rule) -> ColumnElement[bool]:
    """The outer subscriber has a confirmed, unsuppressed subscription to one of
    ``list_ids`` for which ``rule`` holds."""
    member = subscriptions.alias("permission_member")
    in_force = or_(suppressions.c.expires_at.is_(None), suppressions.c.expires_at > now)
    list_suppressed = (
        exists()
        .where(
            suppressions.c.email_hash == subscribers.c.email_hash,
            suppressions.c.list_id == member.c.list_id,
            in_force,
        )
        .correlate_except(suppressions)
    )
    optin = select(lists.c.optin).where(lists.c.id == member.c.list_id).scalar_subquery()
    return (
        exists()
        .where(
            member.c.subscriber_id == subscribers.c.id,
            member.c.list_id.in_(list_ids),
            member.c.status == "confirmed",
            not_(list_suppressed),
            rule(member.c.list_id, optin),
        )
        .correlate_except(member)
    )


def permitted(list_ids: Sequence[int], now: datetime) -> ColumnElement[bool]:
    """The outer ``subscribers`` row may be mailed through one of ``list_ids``."""
    return _through_list(
        list_ids,
        now,
        lambda lid, optin: and_(
            _evidence(lid, valid_at=now), or_(optin == "single", _confirmed(lid))
        ),
    )


def permission_gaps(
    conn: Connection, recipients: Select[tuple[int]], list_ids: Sequence[int], now: datetime
) -> PermissionGaps:
    """Count the ``recipients`` (a SELECT of subscriber ids) who lack permission.

    Each is counted once, under the first reason that applies: confirmed on a double
    opt-in list without confirmation, else consent recorded but lapsed, else no record.
    """
    ids = recipients.subquery()
    base = (
        select(subscribers.c.email)
        .where(subscribers.c.id.in_(select(ids.c[0])))
        .where(not_(permitted(list_ids, now)))
    )
    unconfirmed = _through_list(
        list_ids, now, lambda lid, optin: and_(optin == "double", not_(_confirmed(lid)))
    )
    any_record = _through_list(list_ids, now, lambda lid, _: _evidence(lid, valid_at=None))
    groups = {
        "unconfirmed": base.where(unconfirmed),
        "lapsed": base.where(not_(unconfirmed), any_record),
        "no_consent": base.where(not_(unconfirmed), not_(any_record)),
    }
    counts: dict[str, int] = {}
    examples: dict[str, tuple[str, ...]] = {}
    for name, query in groups.items():
        counts[name] = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        if counts[name]:
            rows = conn.execute(query.order_by(subscribers.c.email).limit(3)).scalars().all()
            examples[name] = tuple(rows)
    return PermissionGaps(**counts, examples=examples)
