"""Warm-up days: counted once per sending day, whichever worker of many notes it first."""

from __future__ import annotations

import threading
from datetime import date, timedelta

from sqlalchemy import Engine

from sendwell.delivery.engine_state import note_sending_day, warmup_days

DAY = date(2026, 11, 29)


def test_a_source_counts_each_day_it_sends_once(engine: Engine) -> None:
    assert note_sending_day(engine, ["ip1"], DAY) == {"ip1": 1}
    assert note_sending_day(engine, ["ip1", "ip2"], DAY) == {"ip1": 1, "ip2": 1}
    # A quiet day is not counted: only days on which the source sent.
    assert note_sending_day(engine, ["ip1"], DAY + timedelta(days=2)) == {"ip1": 2}
    assert warmup_days(engine) == {"ip1": 2, "ip2": 1}


def test_workers_noting_the_same_first_day_at_once_count_it_once(engine: Engine) -> None:
    """Every worker process sends its first message within milliseconds of the others;
    none of them may fail on the new row, nor count the day twice."""
    workers = 8
    start = threading.Barrier(workers)
    results: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        start.wait()
        try:
            results.append(note_sending_day(engine, ["default"], DAY))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert results == [{"default": 1}] * workers
    assert warmup_days(engine) == {"default": 1}
