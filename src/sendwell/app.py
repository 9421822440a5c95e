"""The composition root: builds stores, the engine and services from settings.

This is the one place that reads :class:`~sendwell.config.Settings` and hands each part
only the values it needs. Nothing below this module knows about settings.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from sendwell.campaigns.builder import CampaignMessageBuilder
from sendwell.campaigns.preflight import (
    DnsChecker,
    LinkChecker,
    PreflightConfig,
    PreflightReport,
    SpamChecker,
    run_preflight,
)
from sendwell.campaigns.records import CampaignStatus
from sendwell.campaigns.sender import SenderDefaults, campaign_sender
from sendwell.campaigns.service import finish_if_done, get_campaign, start_campaign
from sendwell.campaigns.testsend import PreparedTest, prepare_test, record_test
from sendwell.clock import Clock, SystemClock
from sendwell.config import (
    EffectiveSetting,
    Settings,
    Source,
    effective_settings,
    parse_host_port,
)
from sendwell.content.linkcheck import LinkResult, check_links
from sendwell.content.spamd import SpamdClient
from sendwell.delivery import engine_state
from sendwell.delivery.jobs import Outcome, PreparedMessage
from sendwell.delivery.mx import MxResolver
from sendwell.delivery.oneoff import DirectResult, deliver_now
from sendwell.delivery.outbox import OutboxStore
from sendwell.delivery.planner import DeliveryPlanner
from sendwell.delivery.retry import RetryPolicy
from sendwell.delivery.shaping import Shaping, load_shaping
from sendwell.delivery.throttle import LocalThrottles, Throttles
from sendwell.delivery.throttle_redis import RedisThrottles
from sendwell.delivery.worker import Worker, WorkerConfig
from sendwell.domains.check import Finding, check_sending_domain
from sendwell.domains.records import DnsRecordSpec, parse_sources, required_records
from sendwell.domains.store import SendingDomain, find_domain
from sendwell.errors import ConfigError, ConflictError, PreflightBlocked
from sendwell.feedback.apply import record_session_bounce
from sendwell.feedback.policy import FeedbackPolicy
from sendwell.store.engine import create_db_engine
from sendwell.store.migrate import upgrade
from sendwell.verify.bulk import HistorySource, Verifier
from sendwell.verify.domains import DomainChecker, parse_networks
from sendwell.verify.lists import ReferenceLists, parse_domain_list, read_domain_file
from sendwell.verify.probe import ProbeConfig, Prober
from sendwell.verify.records import Check
from sendwell.verify.service import DatabaseHistory
from sendwell.verify.verdict import Policy

SECRET_FILE = "secret.key"  # noqa: S105 - a file name, not a secret


@dataclass
class App:
    """A connected, migrated sendwell instance.

    ``setting_sources`` says where each setting came from (``load_settings``); None when
    the settings were built in code.
    """

    settings: Settings
    engine: Engine
    clock: Clock
    setting_sources: Mapping[str, Source] | None = None

    def effective_settings(self) -> list[EffectiveSetting]:
        """Every setting in force, secrets as stars, with its source (``config show``)."""
        return effective_settings(self.settings, self.setting_sources)

    def secret_key(self) -> bytes:
        """The signing key: the setting, else a key generated once into the data dir."""
        configured = self.settings.secret_key.reveal()
        if configured:
            return configured.encode()
        path = self.settings.data_dir / SECRET_FILE
        try:
            return path.read_bytes().strip()
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32).encode()
        # O_EXCL: two processes starting at once must not each write a different key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes().strip()
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        return key

    def helo_name(self) -> str:
        return self.settings.helo_name or socket.getfqdn() or "localhost"

    def worker_config(self, **overrides: object) -> WorkerConfig:
        s = self.settings
        config = WorkerConfig(
            smtp_port=s.smtp_port,
            helo_name=self.helo_name(),
            batch_size=s.worker_batch_size,
            concurrency=s.worker_concurrency,
            lease_seconds=s.lease_seconds,
            smtp_timeout=s.smtp_timeout,
            poll_seconds=s.poll_seconds,
            retry=RetryPolicy(
                base_seconds=s.retry_base_seconds,
                max_interval_seconds=s.retry_max_interval_seconds,
                max_age_seconds=s.retry_max_age_seconds,
            ),
        )
        if overrides:
            from dataclasses import replace

            config = replace(config, **overrides)  # type: ignore[arg-type]
        return config

    def sender_defaults(self) -> SenderDefaults:
        """Sender identity and frequency cap for campaigns that set none of their own."""
        s = self.settings
        return SenderDefaults(
            organization=s.sender_organization,
            postal_address=s.sender_postal_address,
            frequency_cap_count=s.frequency_cap_count,
            frequency_cap_days=s.frequency_cap_days,
        )

    def preflight_config(self) -> PreflightConfig:
        s = self.settings
        return PreflightConfig(
            secret_key=self.secret_key(),
            public_url=s.public_url,
            defaults=self.sender_defaults(),
            policy=self.verify_policy(),
            sunset_days=s.sunset_days,
            allow_http_one_click=s.allow_http_one_click,
        )

    def spam_checker(self) -> SpamChecker | None:
        """spamd's check when ``spamd_address`` is set (preflight falls back without it)."""
        s = self.settings
        address = parse_host_port(s.spamd_address, default_port=783, name="spamd_address")
        if address is None:
            return None
        return SpamdClient(address[0], address[1], timeout=s.spamd_timeout).check

    def dns_checker(self) -> DnsChecker:
        """Checks a From domain's published SPF, DKIM and DMARC (nothing for unknown ones)."""

        def check(domain: str) -> list[Finding]:
            with self.engine.connect() as conn:
                stored = find_domain(conn, domain)
            if stored is None:
                return []  # the missing key is a blocker of its own
            return self.check_sending_domain(stored)

        return check

    def planner(self) -> DeliveryPlanner:
        """The delivery-plan estimate: MX grouping, the shaping file, warm-up state."""
        return DeliveryPlanner(
            shaping=self.shaping(),
            resolver=self.resolver(),
            warmup=lambda: engine_state.warmup_state(self.engine),
            clock=self.clock,
            max_lookups=self.settings.preflight_mx_lookups,
        )

    def link_checker(self) -> LinkChecker:
        """Asks each URL of a campaign's content, public addresses only unless allowed."""
        s = self.settings
        allowed = parse_networks(s.link_check_allowed_networks)

        def check(urls: Sequence[str]) -> list[LinkResult]:
            return check_links(urls, timeout=s.link_check_timeout, allowed=allowed)

        return check

    def preflight(
        self,
        campaign_id: int,
        *,
        dns: bool = True,
        plan: bool = True,
        spam: bool = True,
        links: bool = False,
    ) -> PreflightReport:
        """The preflight report, as ``sendwell campaigns check``, the API and the admin UI
        show it; ``links`` adds the link check (off by default: it fetches every URL).
        Call from a thread without an event loop (DNS runs its own)."""
        planner = self.planner() if plan else None
        with self.engine.connect() as conn:
            return run_preflight(
                conn, self.message_builder(), campaign_id, now=self.clock.now(),
                config=self.preflight_config(),
                spam=self.spam_checker() if spam else None,
                dns=self.dns_checker() if dns else None,
                planner=planner.plan if planner is not None else None,
                links=self.link_checker() if links else None,
            )  # fmt: skip

    def start_campaign(self, campaign_id: int) -> CampaignStatus:
        """Start a draft — only when preflight finds no blocker. The one gate every
        interface (CLI, API, admin UI, demo) goes through.

        Preflight runs first, with the DNS check of the From domain (unreachable DNS is a
        warning; records that are definitely wrong are blockers) but without the spam score
        and delivery estimate, which never block. Then, in one transaction, the campaign
        and its sender settings must still be what was checked, and the outbox is written
        with this installation's frequency cap, verification policy and sunset window; people
        without consent evidence added since the check get ``excluded`` rows.
        """
        with self.engine.connect() as conn:
            state = get_campaign(conn, campaign_id).state
        if state != "draft":
            raise ConflictError(f"campaign {campaign_id} is {state}, not a draft")
        report = self.preflight(campaign_id, dns=True, plan=False, spam=False)
        if report.blockers:
            raise PreflightBlocked(
                campaign_id, [(i.code, i.message, i.fix) for i in report.blockers]
            )
        with self.engine.begin() as conn:
            now_checked = get_campaign(conn, campaign_id)
            sender = campaign_sender(conn, campaign_id, self.sender_defaults())
            if now_checked != report.campaign or sender != report.sender:
                raise ConflictError(
                    f"campaign {campaign_id} changed while it was being checked; start it again"
                )
            return start_campaign(
                conn, campaign_id, now=self.clock.now(), defaults=self.sender_defaults(),
                policy=self.verify_policy(), sunset_days=self.settings.sunset_days,
                require_permission=True,
            )  # fmt: skip

    def message_builder(self, *, test_send: bool = False) -> CampaignMessageBuilder:
        """The builder workers send with and preflight judges with (``test_send``: the one
        for test messages)."""
        s = self.settings
        return CampaignMessageBuilder(
            self.engine, clock=self.clock, secret_key=self.secret_key(),
            bounce_domain=s.bounce_domain, public_url=s.public_url,
            feedback_sender=s.feedback_id_sender, sender_defaults=self.sender_defaults(),
            test_send=test_send,
        )  # fmt: skip

    async def deliver_now(
        self, messages: Sequence[PreparedMessage], *, pool: str
    ) -> list[DirectResult]:
        """Send a few messages at once over the engine's routes (no outbox, no throttles)."""
        s = self.settings
        return await deliver_now(
            messages, shaping=self.shaping(), pool=pool, resolver=self.resolver(),
            smtp_port=s.smtp_port, helo_name=self.helo_name(), timeout=s.smtp_timeout,
            now=self.clock.now(),
        )  # fmt: skip

    async def send_test(
        self, campaign_id: int, *, to: Sequence[str], as_email: str | None = None
    ) -> tuple[PreparedTest, list[DirectResult]]:
        """Build the campaign's test message for each address, send it now, record it."""
        builder = self.message_builder(test_send=True)

        def prepare() -> PreparedTest:
            with self.engine.connect() as conn:
                return prepare_test(conn, builder, campaign_id, to=to, as_email=as_email)

        test = await asyncio.to_thread(prepare)
        results = await self.deliver_now(test.messages, pool=test.pool)

        def record() -> None:
            with self.engine.begin() as conn:
                record_test(conn, test, results, now=self.clock.now())

        await asyncio.to_thread(record)
        return test, results

    def feedback_policy(self) -> FeedbackPolicy:
        """Soft-bounce window and circuit-breaker thresholds."""
        return FeedbackPolicy.from_settings(self.settings)

    def verify_policy(self) -> Policy:
        """Which verification results keep an address out of campaigns."""
        s = self.settings
        return Policy.from_text(s.verify_exclude_verdicts, s.verify_exclude_reasons)

    def verifier(self, checks: frozenset[Check]) -> Verifier:
        """A verifier with this installation's lists and limits; ``history`` from the
        database when that check is asked for."""
        history = DatabaseHistory(self.engine) if "history" in checks else None
        return build_verifier(self.settings, checks, clock=self.clock, history=history)

    def domain_records(self, domain: SendingDomain) -> list[DnsRecordSpec]:
        """The DNS records ``domain`` needs published (DKIM, SPF, DMARC, return path)."""
        key, s = self.secret_key(), self.settings
        return required_records(
            domain=domain.domain, selector=domain.selector,
            private_pem=domain.private_pem(key), ed25519_selector=domain.ed25519_selector,
            ed25519_pem=domain.ed25519_pem(key), spf_sources=parse_sources(s.spf_sources),
            bounce_domain=s.bounce_domain, mail_host=self.helo_name(),
        )  # fmt: skip

    def check_sending_domain(self, domain: SendingDomain) -> list[Finding]:
        """Check over DNS that SPF, DKIM and DMARC are published as :meth:`domain_records`
        says; raises ``DnsCheckError`` when DNS could not be asked. Runs its own event
        loop: call it from a thread without one."""
        s = self.settings
        return check_sending_domain(
            domain, self.secret_key(), nameserver=s.dns_nameserver(),
            spf_sources=s.spf_sources, bounce_domain=s.bounce_domain,
        )  # fmt: skip

    def shaping(self) -> Shaping:
        """The traffic shaping file in force (the shipped one unless configured)."""
        path = self.settings.shaping_file
        return load_shaping(Path(path) if path else None)

    def throttles(self) -> Throttles:
        """Shared throttles in Redis when configured, else in this process."""
        url = self.settings.redis_url.reveal()
        if not url:
            return LocalThrottles()
        return RedisThrottles(url, namespace=self.settings.redis_namespace)

    def resolver(self) -> MxResolver:
        return MxResolver(
            self.settings.dns_nameserver(),
            clock=self.clock,
            timeout=min(self.settings.smtp_timeout, 5.0),
        )

    def worker(
        self,
        *,
        rng: random.Random | None = None,
        timer: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        **overrides: object,
    ) -> Worker:
        policy = self.feedback_policy()

        def after_record(outcomes: Sequence[Outcome]) -> None:
            # A 5xx during our own SMTP session is a bounce like any DSN: classify it and
            # apply the same policy (suppression, circuit breakers). Then mark campaigns
            # whose every row is final as finished.
            now = self.clock.now()
            with self.engine.begin() as conn:
                for o in outcomes:
                    if o.kind == "bounced":
                        record_session_bounce(
                            conn, o.job.id, o.code or 0, o.reply or "", now=now, policy=policy
                        )
                finish_if_done(conn, now=now)

        return Worker(
            self.worker_config(**overrides),
            shaping=self.shaping(),
            throttles=self.throttles(),
            timer=timer,
            sleep=sleep,
            store=OutboxStore(self.engine),
            builder=self.message_builder(),
            resolver=self.resolver(),
            clock=self.clock,
            after_record=after_record,
            rng=rng,
        )

    def close(self) -> None:
        self.engine.dispose()


def build_verifier(
    settings: Settings,
    checks: frozenset[Check],
    *,
    clock: Clock,
    history: HistorySource | None = None,
) -> Verifier:
    """A :class:`Verifier` configured from settings (also for ad-hoc runs without a
    database, which is why it is not only a method of :class:`App`)."""
    extra = parse_domain_list(settings.verify_disposable_domains)
    if settings.verify_disposable_file:
        extra |= read_domain_file(Path(settings.verify_disposable_file).expanduser())
    roles = parse_domain_list(settings.verify_role_accounts)
    lists = ReferenceLists.build(
        extra_disposable=extra,
        allow=parse_domain_list(settings.verify_allow_domains),
        roles=roles or None,
    )
    domains = None
    if "dns" in checks or "probe" in checks:
        domains = DomainChecker(
            settings.dns_nameserver(),
            clock=clock,
            timeout=settings.verify_dns_timeout,
            allowed_networks=parse_networks(settings.verify_mx_allowed_networks),
        )
    prober = None
    if "probe" in checks:
        helo = settings.helo_name or socket.getfqdn() or "localhost"
        prober = Prober(
            ProbeConfig(
                helo_name=helo,
                mail_from=settings.verify_probe_sender or f"postmaster@{helo}",
                port=settings.smtp_port,
                timeout=min(settings.smtp_timeout, 30.0),
                min_interval=settings.verify_probe_interval,
                skip_mx_suffixes=tuple(
                    s.strip() for s in settings.verify_probe_skip_mx.split(",") if s.strip()
                ),
            )
        )
    if settings.verify_concurrency < 1:
        raise ConfigError("setting verify_concurrency must be at least 1")
    return Verifier(
        lists=lists,
        checks=checks,
        domains=domains,
        prober=prober,
        history=history,
        concurrency=settings.verify_concurrency,
    )


def ensure_data_dir(settings: Settings, *, create: bool) -> Path:
    path = settings.data_dir
    if path.is_dir():
        return path
    if path.exists():
        raise ConfigError(f"data directory {path} exists but is not a directory")
    if not create:
        raise ConfigError(f"data directory {path} does not exist; run `sendwell init` first")
    path.mkdir(parents=True, exist_ok=True)
    return path


def open_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    create: bool = False,
    sources: Mapping[str, Source] | None = None,
) -> App:
    """Connect to the database and migrate it to the current schema.

    ``create`` makes the data directory when it is missing (``sendwell init``, the demo);
    other commands refuse to run against a data directory that does not exist, since a
    typo in ``SENDWELL_DATA_DIR`` should not silently start an empty installation.
    """
    if not settings.database_url.reveal():
        ensure_data_dir(settings, create=create)
    engine = create_db_engine(settings.database_url_value())
    upgrade(engine)
    return App(
        settings=settings, engine=engine, clock=clock or SystemClock(), setting_sources=sources
    )
