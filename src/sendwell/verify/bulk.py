"""Bulk verification: every layer over a batch, each domain resolved once, bounded concurrency.

:class:`Verifier` runs the offline layers per address, then the DNS layer once per
distinct domain of the batch (and, through the checker's TTL cache, once per run), then
the optional probe per address, at most ``concurrency`` network operations at a time.
Sendwell's own history (hard bounces, complaints) comes through the :class:`HistorySource`
protocol, which ``service.DatabaseHistory`` implements, so this module does no storage
I/O and tests can pass a plain function.

Duplicate hints: an address whose provider-folded mailbox (``folding.fold_key``) was
already seen in this run gets ``possible_duplicate``. Folded keys are remembered as
64-bit digests, so a million-row run costs tens of megabytes, not the addresses.

Usage::

    verifier = Verifier(lists=ReferenceLists.build(), checks=DEFAULT_CHECKS, domains=checker)
    results = await verifier.verify_many(["ann@example.com", "bob@gmial.com"])
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol, TypeVar

from sendwell.audience.addresses import address_hash
from sendwell.verify.checks import OfflineResult, assemble, offline
from sendwell.verify.domains import DomainChecker, DomainReport
from sendwell.verify.folding import fold_key
from sendwell.verify.lists import ReferenceLists
from sendwell.verify.probe import Prober
from sendwell.verify.records import DEFAULT_CHECKS, Check, Finding, Reason, Verification
from sendwell.verify.verdict import severity_of

__all__ = ["HistorySource", "Verifier"]

A = TypeVar("A")
T = TypeVar("T")
_MAX_REMEMBERED = 20_000_000  # folded keys kept for duplicate hints (8 bytes each)


class HistorySource(Protocol):
    """Findings from sendwell's own history for the given address hashes (missing: none)."""

    def __call__(self, hashes: Sequence[str]) -> Mapping[str, Sequence[Finding]]: ...


class Verifier:
    """Verifies addresses with the layers named in ``checks``.

    ``domains`` is needed for the ``dns`` check and ``prober`` for ``probe``; a check
    whose helper is missing is simply not run (and not listed in the result's checks).
    """

    def __init__(
        self,
        *,
        lists: ReferenceLists,
        checks: frozenset[Check] = DEFAULT_CHECKS,
        domains: DomainChecker | None = None,
        prober: Prober | None = None,
        history: HistorySource | None = None,
        concurrency: int = 50,
    ) -> None:
        effective: set[Check] = {*checks, "syntax"}
        if domains is None:
            effective.discard("dns")
            effective.discard("probe")  # the probe needs the MX hosts
        if prober is None:
            effective.discard("probe")
        if history is None:
            effective.discard("history")
        self.checks: frozenset[Check] = frozenset(effective)
        self._lists = lists
        self._domains = domains
        self._prober = prober
        self._history = history
        self._concurrency = max(1, concurrency)
        self._folds: set[bytes] = set()

    @property
    def online(self) -> bool:
        """True when a layer needs the network (DNS or probe)."""
        return "dns" in self.checks or "probe" in self.checks

    def verify_offline(self, raws: Sequence[str]) -> list[Verification]:
        """The layers without network, synchronously: the fast path for files and benchmarks.

        DNS and probe are skipped even when configured (use :meth:`verify_many`).
        """
        results = [self._offline(raw) for raw in raws]
        history = self._lookup_history(results)
        checks = self.checks - {"dns", "probe"}
        return [self._finish(r, (), history, checks) for r in results]

    async def verify_many(self, raws: Sequence[str]) -> list[Verification]:
        """Verify a batch; the results are in the order of ``raws``."""
        results = [self._offline(raw) for raw in raws]
        history = self._lookup_history(results)
        if not self.online:
            return [self._finish(r, (), history) for r in results]
        assert self._domains is not None
        checker = self._domains
        domains = sorted({r.parsed.domain for r in results if r.parsed.ok})
        reports = dict(zip(domains, await self._bounded(domains, checker.check), strict=True))
        probes: dict[int, Finding] = {}
        if "probe" in self.checks and self._prober is not None:
            prober = self._prober
            todo = [
                (i, r, reports[r.parsed.domain])
                for i, r in enumerate(results)
                if r.parsed.ok and _probe_worthy(reports[r.parsed.domain], r)
            ]

            def probe(job: tuple[int, OfflineResult, DomainReport]) -> Awaitable[Finding]:
                _, r, rep = job
                return prober.probe(r.parsed.normalized or "", rep.domain, rep.hosts)

            found = await self._bounded(todo, probe)
            probes = {i: f for (i, _, _), f in zip(todo, found, strict=True)}
        out: list[Verification] = []
        for i, result in enumerate(results):
            extra: list[Finding] = []
            if result.parsed.ok:
                extra.extend(reports[result.parsed.domain].findings)
            if i in probes:
                extra.append(probes[i])
            out.append(self._finish(result, extra, history))
        return out

    def _lookup_history(self, results: Sequence[OfflineResult]) -> Mapping[str, Sequence[Finding]]:
        if self._history is None:
            return {}
        hashes = [address_hash(r.parsed.normalized) for r in results if r.parsed.normalized]
        return self._history(hashes) if hashes else {}

    def _offline(self, raw: str) -> OfflineResult:
        result = offline(raw, self._lists, self.checks)
        normalized = result.parsed.normalized
        if normalized is None:
            return result
        digest = hashlib.blake2b(fold_key(normalized).encode(), digest_size=8).digest()
        if digest in self._folds:
            hint = Finding(
                Reason.POSSIBLE_DUPLICATE, "an earlier address of this run reaches the same mailbox"
            )
            return OfflineResult(
                result.parsed,
                (*result.findings, hint),
                result.suggestion,
                result.disposable,
                result.role,
                result.free,
            )
        if len(self._folds) < _MAX_REMEMBERED:
            self._folds.add(digest)
        return result

    def _finish(
        self,
        result: OfflineResult,
        extra: Sequence[Finding],
        history: Mapping[str, Sequence[Finding]],
        checks: frozenset[Check] | None = None,
    ) -> Verification:
        found = list(extra)
        if history and result.parsed.normalized is not None:
            found.extend(history.get(address_hash(result.parsed.normalized), ()))
        return assemble(result, found, self.checks if checks is None else checks)

    async def _bounded(self, items: Sequence[A], work: Callable[[A], Awaitable[T]]) -> list[T]:
        """``work`` over ``items``, at most ``concurrency`` at a time, results in order."""
        # A semaphore per call: it binds to the running loop, and callers may use several.
        limit = asyncio.Semaphore(self._concurrency)

        async def one(item: A) -> T:
            async with limit:
                return await work(item)

        return list(await asyncio.gather(*(one(item) for item in items)))


def _probe_worthy(report: DomainReport, result: OfflineResult) -> bool:
    """Probe only where DNS found a mail host and nothing already settled the verdict."""
    if not report.hosts:
        return False
    return not any(severity_of(f.code) == "invalid" for f in result.findings)
