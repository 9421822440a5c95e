"""Campaign lifecycle: create, start (materialize the outbox), pause, resume, cancel.

Starting a campaign writes one outbox row per recipient in a single ``INSERT ... SELECT``:
the database does the deduplication (a person on two of the campaign's lists is one
row, and the unique ``(campaign, subscriber)`` key makes a second start a no-op) and the
suppression check, so a million recipients never pass through Python. Suppressed
recipients get a row too, with status ``suppressed``, so "why did X not get it?" has an
answer.

Audience (issue #4): a campaign may narrow its lists with a saved segment, leave out the
people of other segments, and is subject to the sunset rule (people with no open or
click in ``sunset_days`` are ``skipped``) unless it is a re-engagement campaign. Per-list
transactional campaigns (``kind`` confirmation/welcome, see ``audience.optin``) are never
started, listed or finished here.

State machine::

    draft ──start──► running ──pause──► paused ──resume──► running
      │                 │ (all rows final)                    │
      └──cancel──► cancelled ◄──cancel── running/paused       ▼
                                                          finished
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    Connection,
    Select,
    and_,
    case,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from sendwell.audience.addresses import normalize
from sendwell.audience.segments import compile_segment, engaged_since, find_segment
from sendwell.campaigns.compliance import frequency_capped
from sendwell.campaigns.permission import permitted
from sendwell.campaigns.records import OUTBOX_STATUSES, Campaign, CampaignState, CampaignStatus
from sendwell.campaigns.sender import SenderDefaults, campaign_sender
from sendwell.content.templates import compile_template
from sendwell.errors import ConflictError, InvalidInput, NotFound
from sendwell.store.schema import (
    campaign_lists,
    campaigns,
    lists,
    outbox,
    subscribers,
    subscriptions,
    suppressions,
)
from sendwell.store.schema_audience import campaign_audience
from sendwell.verify.service import excluded_condition
from sendwell.verify.verdict import Policy


def create_campaign(
    conn: Connection,
    *,
    name: str,
    subject: str,
    from_email: str,
    from_name: str,
    html_template: str,
    text_template: str | None,
    list_ids: list[int],
    now: datetime,
    pool: str = "default",
    tracking: bool = True,
    segment_id: int | None = None,
    exclude_segment_ids: Sequence[int] = (),
    reengage: bool = False,
) -> Campaign:
    """Create a draft; templates are compiled now so syntax errors surface at once.

    ``segment_id`` narrows the lists' confirmed subscribers to a saved segment,
    ``exclude_segment_ids`` leave out whoever matches any of those segments, and
    ``reengage`` targets people the sunset rule would otherwise skip.
    """
    if not list_ids:
        raise InvalidInput("a campaign needs at least one list")
    if not subject.strip():
        raise InvalidInput("a campaign needs a subject")
    sender = normalize(from_email)
    compile_template(subject, html_template, text_template)
    campaign_id = conn.execute(
        insert(campaigns).values(
            name=name or subject,
            subject=subject,
            from_name=from_name,
            from_email=sender.email,
            html_template=html_template,
            text_template=text_template,
            state="draft",
            pool=pool,
            tracking=tracking,
            created_at=now,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    conn.execute(
        insert(campaign_lists),
        [{"campaign_id": campaign_id, "list_id": lid} for lid in dict.fromkeys(list_ids)],
    )
    if segment_id is not None or exclude_segment_ids or reengage:
        set_campaign_audience(
            conn,
            int(campaign_id),
            segment_id=segment_id,
            exclude_segment_ids=exclude_segment_ids,
            reengage=reengage,
        )
    return get_campaign(conn, int(campaign_id))


def update_draft(
    conn: Connection,
    campaign_id: int,
    *,
    name: str | None = None,
    from_email: str | None = None,
    from_name: str | None = None,
    list_ids: Sequence[int] | None = None,
    pool: str | None = None,
    tracking: bool | None = None,
) -> Campaign:
    """Change a draft's sender, lists, pool or tracking (None keeps a value); content
    changes through ``campaigns.content``, the audience through :func:`set_campaign_audience`."""
    campaign = get_campaign(conn, campaign_id)
    if campaign.state != "draft":
        raise ConflictError(f"campaign {campaign_id} is {campaign.state}; only drafts change")
    values: dict[str, object] = {}
    if name is not None:
        if not name.strip():
            raise InvalidInput("a campaign name cannot be empty")
        values["name"] = name
    if from_email is not None:
        values["from_email"] = normalize(from_email).email
    if from_name is not None:
        values["from_name"] = from_name
    if pool is not None:
        values["pool"] = pool
    if tracking is not None:
        values["tracking"] = tracking
    if values:
        conn.execute(update(campaigns).where(campaigns.c.id == campaign_id).values(**values))
    if list_ids is not None:
        if not list_ids:
            raise InvalidInput("a campaign needs at least one list")
        wanted = set(list_ids)
        found = set(conn.execute(select(lists.c.id).where(lists.c.id.in_(wanted))).scalars())
        if wanted - found:
            raise NotFound(f"no list with id {min(wanted - found)}")
        conn.execute(delete(campaign_lists).where(campaign_lists.c.campaign_id == campaign_id))
        conn.execute(
            insert(campaign_lists),
            [{"campaign_id": campaign_id, "list_id": lid} for lid in dict.fromkeys(list_ids)],
        )
    return get_campaign(conn, campaign_id)


@dataclass(frozen=True)
class CampaignAudience:
    """A campaign's segment, excluded segments and re-engagement flag."""

    segment_id: int | None = None
    exclude_segment_ids: tuple[int, ...] = ()
    reengage: bool = False


def set_campaign_audience(
    conn: Connection,
    campaign_id: int,
    *,
    segment_id: int | None,
    exclude_segment_ids: Sequence[int] = (),
    reengage: bool = False,
) -> CampaignAudience:
    """Set a draft's segment, exclusions and re-engagement flag (replacing earlier ones)."""
    campaign = get_campaign(conn, campaign_id)
    if campaign.state != "draft":
        raise ConflictError(f"campaign {campaign_id} is {campaign.state}; only drafts change")
    for sid in [segment_id, *exclude_segment_ids]:
        if sid is not None:
            find_segment(conn, str(sid))
    conn.execute(delete(campaign_audience).where(campaign_audience.c.campaign_id == campaign_id))
    conn.execute(
        insert(campaign_audience).values(
            campaign_id=campaign_id,
            segment_id=segment_id,
            exclude_segment_ids=[int(i) for i in dict.fromkeys(exclude_segment_ids)],
            reengage=reengage,
        )
    )
    return campaign_audience_of(conn, campaign_id)


def campaign_audience_of(conn: Connection, campaign_id: int) -> CampaignAudience:
    row = conn.execute(
        select(campaign_audience).where(campaign_audience.c.campaign_id == campaign_id)
    ).first()
    if row is None:
        return CampaignAudience()
    return CampaignAudience(
        row.segment_id, tuple(int(i) for i in row.exclude_segment_ids or ()), bool(row.reengage)
    )


def campaign_kind(conn: Connection, campaign_id: int) -> str:
    """ "campaign", or a list's transactional "confirmation" / "welcome" stream."""
    kind = conn.execute(select(campaigns.c.kind).where(campaigns.c.id == campaign_id)).scalar()
    if kind is None:
        raise NotFound(f"no campaign with id {campaign_id}")
    return str(kind)


def get_campaign(conn: Connection, campaign_id: int) -> Campaign:
    row = conn.execute(select(campaigns).where(campaigns.c.id == campaign_id)).first()
    if row is None:
        raise NotFound(f"no campaign with id {campaign_id}")
    m = row._mapping
    list_ids = (
        conn.execute(
            select(campaign_lists.c.list_id)
            .where(campaign_lists.c.campaign_id == campaign_id)
            .order_by(campaign_lists.c.list_id)
        )
        .scalars()
        .all()
    )
    return Campaign(
        id=m["id"],
        name=m["name"],
        subject=m["subject"],
        from_name=m["from_name"],
        from_email=m["from_email"],
        html_template=m["html_template"],
        text_template=m["text_template"],
        state=m["state"],
        pool=m["pool"],
        list_ids=tuple(list_ids),
        created_at=m["created_at"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        tracking=bool(m["tracking"]),
    )


def all_campaigns(conn: Connection) -> list[Campaign]:
    """Every campaign, without the lists' transactional confirmation/welcome streams."""
    ids = (
        conn.execute(
            select(campaigns.c.id).where(campaigns.c.kind == "campaign").order_by(campaigns.c.id)
        )
        .scalars()
        .all()
    )
    return [get_campaign(conn, i) for i in ids]


def _set_state(
    conn: Connection,
    campaign_id: int,
    allowed: tuple[CampaignState, ...],
    new: CampaignState,
    **values: object,
) -> Campaign:
    campaign = get_campaign(conn, campaign_id)
    if campaign.state not in allowed:
        raise ConflictError(
            f"campaign {campaign_id} is {campaign.state}; it must be "
            f"{' or '.join(allowed)} to become {new}"
        )
    conn.execute(update(campaigns).where(campaigns.c.id == campaign_id).values(state=new, **values))
    return get_campaign(conn, campaign_id)


def start_campaign(
    conn: Connection,
    campaign_id: int,
    *,
    now: datetime,
    defaults: SenderDefaults | None = None,
    policy: Policy | None = None,
    sunset_days: int = 180,
    require_permission: bool = False,
) -> CampaignStatus:
    """Materialize the outbox and set the campaign running — unchecked.

    This is the mechanism; people and programs start campaigns through
    :meth:`sendwell.app.App.start_campaign`, which runs preflight first and refuses a
    campaign with blockers (and passes ``require_permission``, so nobody without consent
    evidence gets a ``queued`` row).

    ``defaults`` supply the frequency cap for campaigns without their own settings (the
    field's rule of thumb, 2 campaigns per 30 days, when not given). ``policy`` says which
    verification results keep an address out (default: invalid and disposable).
    ``sunset_days`` is the sunset rule's window (0 turns it off).
    """
    campaign = get_campaign(conn, campaign_id)
    if campaign_kind(conn, campaign_id) != "campaign":
        raise ConflictError(f"campaign {campaign_id} is a list's transactional message")
    if campaign.state != "draft":
        raise ConflictError(f"campaign {campaign_id} is {campaign.state}, not a draft")
    compile_template(campaign.subject, campaign.html_template, campaign.text_template)
    cap = campaign_sender(conn, campaign_id, defaults or SenderDefaults())
    materialize_outbox(
        conn,
        campaign,
        now=now,
        cap_count=cap.frequency_cap_count,
        cap_days=cap.frequency_cap_days,
        policy=policy or Policy(),
        sunset_days=sunset_days,
        require_permission=require_permission,
    )
    _set_state(conn, campaign_id, ("draft",), "running", started_at=now)
    finish_if_done(conn, campaign_id, now=now)
    return campaign_status(conn, campaign_id)


def recipient_statuses(
    conn: Connection,
    campaign: Campaign,
    *,
    now: datetime,
    cap_count: int = 0,
    cap_days: int = 30,
    policy: Policy | None = None,
    sunset_days: int = 180,
    require_permission: bool = False,
) -> Select[tuple[int, str, str, str]]:
    """Each person in the campaign's audience with the outbox status they would get.

    Columns: ``subscriber_id``, ``email``, ``domain``, ``status``. This one query is what
    :func:`materialize_outbox` inserts and what preflight counts, so the report and the
    outbox can never disagree about who is mailed.
    """
    audience = campaign_audience_of(conn, campaign.id)
    in_audience = []
    if audience.segment_id is not None:
        in_audience.append(
            compile_segment(find_segment(conn, str(audience.segment_id))[2], now=now)
        )
    for excluded_id in audience.exclude_segment_ids:
        in_audience.append(not_(compile_segment(find_segment(conn, str(excluded_id))[2], now=now)))
    if sunset_days > 0 and not audience.reengage:
        since = now - timedelta(days=sunset_days)
        sunset = and_(subscribers.c.created_at < since, not_(engaged_since(since)))
    else:
        sunset = false()
    in_force = or_(suppressions.c.expires_at.is_(None), suppressions.c.expires_at > now)
    member = subscriptions.alias("member")
    globally_suppressed = exists().where(
        and_(
            suppressions.c.email_hash == subscribers.c.email_hash,
            suppressions.c.list_id.is_(None),
            in_force,
        )
    )
    # Reachable through at least one of the campaign's lists that does not suppress them.
    reachable = exists().where(
        and_(
            member.c.subscriber_id == subscribers.c.id,
            member.c.list_id.in_(campaign.list_ids),
            member.c.status == "confirmed",
            # Nested two levels deep: correlate explicitly, or SQLAlchemy would add
            # "subscribers" to this subquery's FROM list instead of using the outer row.
            not_(
                exists()
                .where(
                    and_(
                        suppressions.c.email_hash == subscribers.c.email_hash,
                        suppressions.c.list_id == member.c.list_id,
                        in_force,
                    )
                )
                .correlate_except(suppressions)
            ),
        )
    )
    subscribed = exists().where(
        and_(
            subscriptions.c.subscriber_id == subscribers.c.id,
            subscriptions.c.list_id.in_(campaign.list_ids),
            subscriptions.c.status == "confirmed",
        )
    )
    capped = frequency_capped(
        campaign.id, campaign.list_ids, now=now, count=cap_count, days=cap_days
    )
    # Without consent evidence for any list that reaches them: never mailed (the start
    # gate refuses such a campaign; this catches anyone added after the check).
    unpermitted = not_(permitted(campaign.list_ids, now)) if require_permission else false()
    status = case(
        (or_(globally_suppressed, not_(reachable)), "suppressed"),
        (
            or_(
                excluded_condition(
                    policy or Policy(frozenset(), frozenset()), subscribers.c.email_hash
                ),
                unpermitted,
            ),
            "excluded",
        ),
        (sunset, "skipped"),
        (subscribers.c.id.in_(capped), "skipped"),
        else_="queued",
    )
    return select(
        subscribers.c.id.label("subscriber_id"),
        subscribers.c.email,
        subscribers.c.domain,
        status.label("status"),
    ).where(and_(subscribers.c.status == "active", subscribed, *in_audience))


def materialize_outbox(
    conn: Connection,
    campaign: Campaign,
    *,
    now: datetime,
    cap_count: int = 0,
    cap_days: int = 30,
    policy: Policy | None = None,
    sunset_days: int = 180,
    require_permission: bool = False,
) -> int:
    """Insert one outbox row per distinct eligible recipient; returns rows inserted.

    Suppressed recipients get a ``suppressed`` row; addresses whose verification the
    ``policy`` excludes (invalid, disposable ...) an ``excluded`` row, as do people
    without consent evidence when ``require_permission``; those who already received
    ``cap_count`` campaigns in the last ``cap_days`` days a ``skipped`` row (the
    frequency cap; 0 turns it off) or, unless the campaign re-engages, who were
    subscribed before and have not opened or clicked within the last ``sunset_days``
    (the sunset rule; 0 turns it off). None of these is ever sent. People outside the
    campaign's segment, or inside an excluded segment, get no row at all: they are not
    in its audience.
    """
    people = recipient_statuses(
        conn, campaign, now=now, cap_count=cap_count, cap_days=cap_days, policy=policy,
        sunset_days=sunset_days, require_permission=require_permission,
    ).subquery()  # fmt: skip
    source = select(
        literal(campaign.id),
        people.c.subscriber_id,
        people.c.email,
        people.c.domain,
        people.c.status,
        literal(0),
        literal(now, outbox.c.next_attempt_at.type),
        literal(now, outbox.c.updated_at.type),
    ).where(true())  # SQLite needs a WHERE before ON CONFLICT in INSERT ... SELECT
    insert_fn = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert_fn(outbox)
        .from_select(
            [
                "campaign_id",
                "subscriber_id",
                "email",
                "domain",
                "status",
                "attempts",
                "next_attempt_at",
                "updated_at",
            ],
            source,
        )
        .on_conflict_do_nothing(index_elements=["campaign_id", "subscriber_id"])
    )
    return conn.execute(stmt).rowcount


def pause_campaign(conn: Connection, campaign_id: int) -> Campaign:
    return _set_state(conn, campaign_id, ("running",), "paused")


def resume_campaign(conn: Connection, campaign_id: int, *, now: datetime) -> Campaign:
    campaign = _set_state(conn, campaign_id, ("paused",), "running")
    finish_if_done(conn, campaign_id, now=now)
    return campaign


def cancel_campaign(conn: Connection, campaign_id: int, *, now: datetime) -> Campaign:
    """Stop for good: rows not yet delivered become ``cancelled``.

    Leases are left alone: a message already on the wire when the campaign is cancelled
    may still be accepted, and the worker holding its lease must be able to record it as
    delivered rather than leave a false ``cancelled``.
    """
    campaign = _set_state(
        conn, campaign_id, ("draft", "running", "paused"), "cancelled", finished_at=now
    )
    conn.execute(
        update(outbox)
        .where(
            and_(outbox.c.campaign_id == campaign_id, outbox.c.status.in_(("queued", "deferred")))
        )
        .values(status="cancelled", updated_at=now, done_at=now)
    )
    return campaign


def finish_if_done(conn: Connection, campaign_id: int | None = None, *, now: datetime) -> None:
    """Mark running campaigns whose every row is final as finished."""
    pending = exists().where(
        and_(outbox.c.campaign_id == campaigns.c.id, outbox.c.status.in_(("queued", "deferred")))
    )
    # Transactional streams (double opt-in confirmations, welcomes) stay running for good.
    cond = and_(campaigns.c.state == "running", campaigns.c.kind == "campaign", not_(pending))
    if campaign_id is not None:
        cond = and_(cond, campaigns.c.id == campaign_id)
    conn.execute(update(campaigns).where(cond).values(state="finished", finished_at=now))


def campaign_status(conn: Connection, campaign_id: int) -> CampaignStatus:
    campaign = get_campaign(conn, campaign_id)
    counts = dict.fromkeys(OUTBOX_STATUSES, 0)
    for status, n in conn.execute(
        select(outbox.c.status, func.count())
        .where(outbox.c.campaign_id == campaign_id)
        .group_by(outbox.c.status)
    ):
        counts[status] = int(n)
    return CampaignStatus(campaign=campaign.id, state=campaign.state, counts=counts)


def counts_by_domain(conn: Connection, campaign_id: int) -> dict[str, dict[str, int]]:
    """Outbox counts per recipient domain and status (for per-provider progress)."""
    result: dict[str, dict[str, int]] = {}
    for domain, status, n in conn.execute(
        select(outbox.c.domain, outbox.c.status, func.count())
        .where(outbox.c.campaign_id == campaign_id)
        .group_by(outbox.c.domain, outbox.c.status)
    ):
        result.setdefault(domain, dict.fromkeys(OUTBOX_STATUSES, 0))[status] = int(n)
    return result
