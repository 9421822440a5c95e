"""Recipients per destination site for the delivery-plan estimate: domains grouped by MX.

The engine throttles per *site* — the set of MX hosts a domain resolves to — so the
estimate must group recipient domains the same way: ``gmail.com`` and a company domain
hosted by Google are one site, paced by the shaping file's ``gmail`` block.
:func:`group_sites` resolves the MX of the biggest domains (the same
:class:`~sendwell.delivery.mx.MxResolver` the workers use) and groups them by route;
:class:`DeliveryPlanner` adds the shaping file, the sources' warm-up state and the clock
and returns :func:`~sendwell.delivery.estimate.estimate_delivery`'s plan.

Bounded work, because a list may have 100,000 distinct domains and DNS may be down:

* only the ``max_lookups`` domains with the most recipients are resolved, at most
  ``concurrency`` at a time, all within ``budget`` seconds;
* a domain whose lookup failed (timeout, SERVFAIL — e.g. no DNS at all) is its own site
  with the default limits, as the engine would treat an unknown provider;
* the domains beyond the cap are one row standing for that many separate sites;
* domains that cannot receive mail (NXDOMAIN, null MX) are counted apart: those
  messages bounce at once and take no sending time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from sendwell.clock import Clock
from sendwell.delivery.estimate import DeliveryPlan, SiteDemand, WarmupState, estimate_delivery
from sendwell.delivery.mx import MxResolver, MxRoute
from sendwell.delivery.shaping import Shaping
from sendwell.errors import PermanentFailure, TemporaryFailure


@dataclass(frozen=True)
class SiteGrouping:
    """Recipient domains grouped into sites, plus what could not be placed."""

    sites: tuple[SiteDemand, ...]
    undeliverable: Mapping[str, int] = field(default_factory=dict)  # domain -> recipients
    unresolved: tuple[str, ...] = ()  # looked up, no answer in time
    not_looked_up: int = 0  # domains beyond the lookup cap


async def _route(
    resolver: MxResolver, domain: str, gate: asyncio.Semaphore
) -> MxRoute | PermanentFailure | None:
    async with gate:
        try:
            return await resolver.resolve(domain)
        except PermanentFailure as exc:
            return exc
        except TemporaryFailure:
            return None


async def group_sites(
    domains: Mapping[str, int],
    resolver: MxResolver,
    *,
    max_lookups: int = 200,
    concurrency: int = 20,
    budget: float = 10.0,
) -> SiteGrouping:
    """Group ``domains`` (domain -> recipients) into sites by their MX hosts."""
    ranked = sorted(domains.items(), key=lambda item: (-item[1], item[0]))
    head, tail = ranked[:max_lookups], ranked[max_lookups:]
    gate = asyncio.Semaphore(concurrency)
    tasks = {d: asyncio.ensure_future(_route(resolver, d, gate)) for d, _ in head}
    if tasks:
        _, pending = await asyncio.wait(tasks.values(), timeout=budget)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    by_site: dict[str, SiteDemand] = {}
    undeliverable: dict[str, int] = {}
    unresolved: list[str] = []
    for domain, count in head:
        task = tasks[domain]
        route = None if task.cancelled() else task.result()
        if isinstance(route, PermanentFailure):
            undeliverable[domain] = count
            continue
        if route is None:
            unresolved.append(domain)
            by_site[domain] = SiteDemand(domain, count, (domain,))
            continue
        site = by_site.get(route.site)
        if site is None:
            hosts = tuple(h.name for h in route.hosts)
            by_site[route.site] = SiteDemand(route.site, count, (domain,), hosts)
        else:
            by_site[route.site] = replace(
                site, recipients=site.recipients + count, domains=(*site.domains, domain)
            )
    sites = list(by_site.values())
    if tail:
        sites.append(
            SiteDemand(
                f"({len(tail)} other domains)",
                sum(n for _, n in tail),
                tuple(d for d, _ in tail[:5]),
                sites=len(tail),
            )
        )
    return SiteGrouping(tuple(sites), undeliverable, tuple(unresolved), len(tail))


@dataclass
class DeliveryPlanner:
    """Estimates a campaign's delivery from its recipient domains (for preflight)."""

    shaping: Shaping
    resolver: MxResolver
    warmup: Callable[[], Mapping[str, WarmupState]]
    clock: Clock
    max_lookups: int = 200
    budget: float = 10.0

    def plan(self, pool: str, domains: Mapping[str, int]) -> DeliveryPlan:
        """The plan for recipients ``domains`` (domain -> count) sent from ``pool``.

        Runs its own event loop: call it from a thread without one (the CLI, or a web
        worker thread), as the DNS checks of preflight do.
        """
        grouping = asyncio.run(
            group_sites(domains, self.resolver, max_lookups=self.max_lookups, budget=self.budget)
        )
        plan = estimate_delivery(
            grouping.sites, self.shaping, pool=pool, warmup=self.warmup(), now=self.clock.now()
        )
        notes = list(plan.notes)
        if grouping.undeliverable:
            n = sum(grouping.undeliverable.values())
            names = ", ".join(sorted(grouping.undeliverable)[:5])
            notes.append(f"{n} recipients at domains that accept no mail ({names}) will bounce")
        if grouping.unresolved:
            notes.append(
                f"MX of {len(grouping.unresolved)} domains not resolved in time "
                "(each counted as its own site with the default limits)"
            )
        if grouping.not_looked_up:
            notes.append(
                f"{grouping.not_looked_up} smaller domains not looked up "
                "(each counted as its own site with the default limits)"
            )
        return replace(plan, notes=tuple(notes))
