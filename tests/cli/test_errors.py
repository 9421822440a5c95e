"""Bad input at the command line: a one-line error naming the problem, never a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.cli.conftest import Run


def _assert_one_line_error(result: object, fragment: str) -> None:
    stderr = result.stderr  # type: ignore[attr-defined]
    assert result.returncode != 0  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert fragment in lines[0], lines[0]


def test_unknown_setting(run: Run) -> None:
    _assert_one_line_error(
        run("init", env={"SENDWELL_SMTP_PROT": "25"}), "unknown setting 'smtp_prot'"
    )


def test_malformed_toml(run: Run, tmp_path: Path) -> None:
    (tmp_path / "sendwell.toml").write_text("smtp_port = [\n")
    _assert_one_line_error(run("config", "show"), "malformed TOML in")


def test_database_that_cannot_connect(run: Run) -> None:
    result = run(
        "init", env={"SENDWELL_DATABASE_URL": "postgresql+psycopg://u:topsecret@127.0.0.1:1/x"}
    )
    _assert_one_line_error(result, "cannot connect to database")
    assert "topsecret" not in result.stderr


def test_missing_data_directory(run: Run) -> None:
    _assert_one_line_error(run("lists", "ls"), "does not exist; run `sendwell init` first")


def test_port_in_use(run: Run) -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp,
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp,
    ):
        udp.bind(("127.0.0.1", 0))
        port = udp.getsockname()[1]
        try:
            tcp.bind(("127.0.0.1", port))
        except OSError:
            pytest.skip("could not reserve one port for both UDP and TCP")
        tcp.listen()
        result = run("sandbox", "--dns-port", str(port), "--smtp-port", "0", timeout=30)
    _assert_one_line_error(result, str(port))


def test_unknown_list_and_campaign(run: Run) -> None:
    assert run("init").returncode == 0
    _assert_one_line_error(
        run("subscribers", "add", "a@example.com", "--list", "nope"), "no list named 'nope'"
    )
    _assert_one_line_error(run("campaigns", "status", "42"), "no campaign with id 42")


def test_invalid_address(run: Run) -> None:
    assert run("init").returncode == 0
    assert run("lists", "create", "News").returncode == 0
    _assert_one_line_error(
        run("subscribers", "add", "not-an-address", "--list", "News"), "invalid address"
    )


def test_log_lines_carry_the_standard_timestamp() -> None:
    import logging

    from sendwell.cli.context import _Formatter

    ours = _Formatter("%(asctime)s %(message)s")
    standard = logging.Formatter("%(asctime)s %(message)s")
    for created in (1_790_000_000.0, 1_790_000_000.25, 1_790_000_000.999, 1_790_000_001.5):
        record = logging.makeLogRecord(
            {"msg": "x", "created": created, "msecs": (created % 1) * 1000}
        )
        assert ours.format(record) == standard.format(record)
