"""Schemathesis against ``/api/v1/openapi.json``, in process: no request ends in a 5xx.

Every operation of the schema gets generated requests (valid and invalid), sent with a
token holding every scope to a database with a list, subscribers and a draft campaign, so
generated ids sometimes hit real objects. Marked slow; ``MAX_EXAMPLES`` bounds the run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import Engine

from sendwell.app import App
from sendwell.clock import SystemClock
from sendwell.sandbox import DnsRecord
from sendwell.web.app import close_app, create_app
from tests.web.conftest import make_settings, sandboxed, seed, token_for

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed")

MAX_EXAMPLES = 30

pytestmark = pytest.mark.slow


def test_no_operation_answers_with_a_server_error(sqlite_engine: Engine, tmp_path: Path) -> None:
    base = App(settings=make_settings(tmp_path), engine=sqlite_engine, clock=SystemClock())
    seed(base)
    # DNS (verification, domain and preflight checks) goes to the sandbox on loopback, not
    # the internet; it serves the seeded sending domain's zone, so checks get answers.
    zone = (DnsRecord("example.com", "A", "203.0.113.9"),)
    with sandboxed(base, zone) as (app, _):
        _fuzz(app)


def _fuzz(app: App) -> None:
    auth = token_for(app, "all")
    web = create_app(app)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", web)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES, deadline=None, database=None,
            suppress_health_check=list(HealthCheck),
        )  # fmt: skip
        def check(case: object) -> None:
            response = case.call(headers=auth)  # type: ignore[attr-defined]
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: "  # type: ignore[attr-defined]
                    f"{response.text[:200]}"
                )

        check()
    close_app(web)  # background jobs the fuzzing started end before the database goes
    assert failures == []
