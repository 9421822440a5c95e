"""How long a campaign will take to deliver: a pure estimate from shaping and warm-up state.

Input: recipients per destination site (:class:`SiteDemand`), the shaping file, the
campaign's pool, each source's warm-up state and ``now``. Output: a
:class:`DeliveryPlan` with, per (source, site), the limits in force — messages per hour,
connection limit, the source's own cap and its warm-up day — and when that site's last
message should go out; and the whole campaign's duration.

The model is the engine's pacing as a fluid:

* a pool's sources share each site's recipients in proportion to their ``weight`` (the
  engine picks a source per message at random with those weights);
* a (source, site) queue sends at most ``max_message_rate``, and at most
  ``max_connection_rate x max_deliveries_per_connection`` (connections opened per second,
  each carrying that many messages);
* all sites of one source share its overall cap (``[source_default]`` or the warm-up
  day's ``source_max_message_rate``) fairly: each gets an equal share, a site that needs
  less leaves the rest to the others (max-min fairness, what the engine's shared source
  bucket does on average);
* a warming source's limits step up at each UTC midnight it is still sending, since every
  day it sends advances its schedule (``docs/shaping.md``).

Between two events (a site finishing, a midnight) every rate is constant, so the
estimate is exact for the model and computed event by event.

Limits: it is a best case. Provider push-back (automation rules), deferrals, retries and
SMTP latency (the connection limit caps throughput only when sessions are slow, which the
estimate cannot know) all make delivery slower; the connection limit is shown, not used.
Estimates stop at ``horizon`` (a year by default) and say so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sendwell.delivery.shaping import Shaping, SiteLimits, Source

HOUR = 3600.0
_EPSILON = 1e-9


@dataclass(frozen=True)
class SiteDemand:
    """Recipients of one destination site.

    ``site`` is the MX-host set key (as the engine uses), or the domain when its MX could
    not be resolved; ``mx_hosts`` empty means the provider is unknown (default limits).
    ``sites`` > 1 stands for that many separate sites of equal size lumped into one row
    (the long tail of small domains), each with its own per-site limit.
    """

    site: str
    recipients: int
    domains: tuple[str, ...] = ()
    mx_hosts: tuple[str, ...] = ()
    sites: int = 1


@dataclass(frozen=True)
class WarmupState:
    """How many distinct days a source has sent on, and the last of them (UTC)."""

    days_sent: int
    last_day: date | None


@dataclass(frozen=True)
class SitePlan:
    """One (source, site) row of the plan."""

    source: str
    site: str
    provider: str
    domains: tuple[str, ...]
    recipients: float  # a source's share of a site may be fractional in the estimate
    max_message_rate_per_hour: float  # in force at the start, after warm-up
    connection_limit: int
    source_rate_per_hour: float | None
    warmup_day: int | None
    duration_seconds: float | None  # None: beyond the horizon
    finishes_at: datetime | None
    sites: int = 1


@dataclass(frozen=True)
class DeliveryPlan:
    """The estimate: one row per (source, site), the total, and how it was made."""

    started_at: datetime
    recipients: int
    rows: tuple[SitePlan, ...]
    duration_seconds: float | None  # None: more than ``horizon``
    finishes_at: datetime | None
    notes: tuple[str, ...] = ()


def warmup_day(state: WarmupState | None, today: date) -> int:
    """The schedule day a source is on when it sends ``today`` (day 1 = its first day)."""
    if state is None or state.last_day is None:
        return 1
    return state.days_sent if state.last_day >= today else state.days_sent + 1


def waterfill(total: float, caps: Sequence[float]) -> list[float]:
    """Share ``total`` among claimants with individual ``caps`` (max-min fair)."""
    rates = [0.0] * len(caps)
    left = total
    order = sorted(range(len(caps)), key=lambda i: caps[i])
    for k, i in enumerate(order):
        share = left / (len(order) - k)
        rates[i] = min(caps[i], share)
        left -= rates[i]
    return rates


def _site_rate(limits: SiteLimits) -> float:
    """Messages per second one site queue may send (connection rate x deliveries each too)."""
    lim = limits.limits
    rates = []
    if lim.max_message_rate is not None:
        rates.append(lim.max_message_rate.per_second)
    if lim.max_connection_rate is not None and lim.max_deliveries_per_connection is not None:
        rates.append(lim.max_connection_rate.per_second * lim.max_deliveries_per_connection)
    return min(rates, default=math.inf)


def _limits(shaping: Shaping, source: Source, demand: SiteDemand, day: int | None) -> SiteLimits:
    if source.relays:
        return shaping.relay_limits(source)
    return shaping.site_limits(demand.mx_hosts, source, day)


def _next_midnight(t: datetime) -> datetime:
    return datetime.combine(t.date() + timedelta(days=1), datetime.min.time(), tzinfo=t.tzinfo)


def _simulate(
    shaping: Shaping,
    source: Source,
    shares: list[tuple[SiteDemand, float]],
    *,
    now: datetime,
    day: int | None,
    horizon: timedelta,
) -> list[datetime | None]:
    """When each share of this source is sent; None when it is not within the horizon."""
    remaining = [n for _, n in shares]
    done: list[datetime | None] = [now if n <= _EPSILON else None for n in remaining]
    warming = bool(shaping.warmups.get(source.warmup or "")) and not source.relays
    t, end = now, now + horizon
    while t < end and any(d is None for d in done):
        open_ = [i for i, d in enumerate(done) if d is None]
        limits = [_limits(shaping, source, shares[i][0], day) for i in open_]
        caps = [_site_rate(lim) * shares[i][0].sites for i, lim in zip(open_, limits, strict=True)]
        source_rate = limits[0].source_rate
        total = source_rate.per_second if source_rate is not None else math.inf
        rates = waterfill(total, caps) if math.isfinite(total) else caps
        step = min(
            (remaining[i] / r for i, r in zip(open_, rates, strict=True) if r > 0),
            default=math.inf,
        )
        boundary = (_next_midnight(t) - t).total_seconds() if warming else math.inf
        dt = min(step, boundary, (end - t).total_seconds())
        if not math.isfinite(dt):
            break  # nothing can move (every rate is zero): never within the horizon
        for i, r in zip(open_, rates, strict=True):
            remaining[i] -= r * dt
            if remaining[i] <= _EPSILON * max(1.0, shares[i][1]):
                done[i] = t + timedelta(seconds=dt)
        t += timedelta(seconds=dt)
        if warming and dt == boundary and day is not None:
            day += 1
    return done


def estimate_delivery(
    demand: Sequence[SiteDemand],
    shaping: Shaping,
    *,
    pool: str,
    warmup: Mapping[str, WarmupState],
    now: datetime,
    horizon: timedelta = timedelta(days=365),
) -> DeliveryPlan:
    """The delivery plan for ``demand`` sent from ``pool`` starting at ``now``."""
    sources = shaping.pool(pool)
    weight = sum(s.weight for s in sources)
    rows: list[SitePlan] = []
    notes: list[str] = []
    for source in sources:
        schedule = shaping.warmups.get(source.warmup or "", ())
        day = warmup_day(warmup.get(source.name), now.date()) if schedule else None
        shares = [(d, d.recipients * source.weight / weight) for d in demand if d.recipients]
        finished = _simulate(shaping, source, shares, now=now, day=day, horizon=horizon)
        for (site, share), end in zip(shares, finished, strict=True):
            limits = _limits(shaping, source, site, day)
            rows.append(
                SitePlan(
                    source=source.name,
                    site=site.site,
                    provider=limits.provider,
                    domains=site.domains,
                    recipients=share,
                    max_message_rate_per_hour=_site_rate(limits) * HOUR,
                    connection_limit=limits.limits.connection_limit or 0,
                    source_rate_per_hour=(
                        limits.source_rate.per_second * HOUR if limits.source_rate else None
                    ),
                    warmup_day=day,
                    duration_seconds=None if end is None else (end - now).total_seconds(),
                    finishes_at=end,
                    sites=site.sites,
                )
            )
        if schedule and day is not None:
            notes.append(f"source {source.name} is on warm-up day {day} of {schedule[-1].day}")
    ends = [r.finishes_at for r in rows]
    if any(e is None for e in ends):
        finish: datetime | None = None
        notes.append(f"some sites would take more than {horizon.days} days at these limits")
    else:
        finish = max((e for e in ends if e is not None), default=now)
    return DeliveryPlan(
        started_at=now,
        recipients=sum(d.recipients for d in demand),
        rows=tuple(sorted(rows, key=lambda r: (-r.recipients, r.site, r.source))),
        duration_seconds=None if finish is None else (finish - now).total_seconds(),
        finishes_at=finish,
        notes=tuple(notes),
    )
