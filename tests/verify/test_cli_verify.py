"""``sendwell verify`` as a user runs it: a real subprocess, real sandbox DNS, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sendwell.sandbox import SandboxConfig, SandboxThread
from sendwell.sandbox.world import Sandbox

KEYS = {
    "address",
    "normalized",
    "syntax_valid",
    "verdict",
    "reasons",
    "suggestion",
    "disposable",
    "role",
    "free",
}
OFFLINE = "syntax,disposable,role,typo"


def sendwell(
    tmp_path: Path, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SENDWELL_")}
    environ.update({"SENDWELL_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"})
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "sendwell", "verify", *args],
        cwd=tmp_path,
        env=environ,
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )


def json_lines(result: subprocess.CompletedProcess[bytes]) -> list[dict[str, object]]:
    assert result.returncode == 0, result.stderr.decode()
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


def test_stdin_json_gives_one_object_per_line_even_for_hostile_input(tmp_path: Path) -> None:
    lines = [
        b"Ann@Example.com",
        b"",
        b"bob@gmial.com\r",
        b"x\x00y@example.com",
        b"evil@example.com\rBcc: victim@example.com",
        b"\xe2\x80\xaeann@example.com",  # U+202E right-to-left override
        b"\xff\xfe@example.com",  # not UTF-8
        b"a" * 10_000 + b"@example.com",
        b"b" * 100_000 + b"@example.com",  # longer than one input line may be
        "ann@\u0440\u0430\u0443\u0440\u0430l.com".encode(),
        b"info@mailinator.com",
    ]
    result = sendwell(tmp_path, "--stdin", "--json", "--checks", OFFLINE, stdin=b"\n".join(lines))
    objects = json_lines(result)
    assert len(objects) == len(lines)
    assert all(set(o) == KEYS for o in objects)
    got = [(o["verdict"], o["reasons"]) for o in objects]
    assert got == [
        ("valid", []),
        ("invalid", ["empty"]),
        ("risky", ["disposable", "typo"]),
        ("invalid", ["control_chars"]),
        ("invalid", ["control_chars"]),
        ("invalid", ["bidi_control"]),
        ("invalid", ["bad_encoding"]),
        ("invalid", ["too_long"]),
        ("invalid", ["too_long"]),
        ("risky", ["homoglyph_domain"]),
        ("risky", ["disposable", "role"]),
    ]
    assert objects[0]["normalized"] == "ann@example.com"
    assert objects[2]["suggestion"] == "bob@gmail.com"
    assert objects[10]["disposable"] is True and objects[10]["role"] is True


def test_csv_file_to_csv_file(tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    rows = ["name,Email", "Ann,ann@example.com", 'Bob,"bob@hotmial.com"', "Nobody,", "Eve,x@@y"]
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "checked.csv"
    result = sendwell(tmp_path, str(source), "-o", str(out), "--checks", OFFLINE)
    assert result.returncode == 0, result.stderr.decode()
    assert "4 addresses verified" in result.stderr.decode()
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("line,address,normalized,syntax_valid,verdict,score,reasons")
    assert lines[1].startswith("2,ann@example.com,ann@example.com,True,valid,100,")
    assert lines[2].startswith("3,bob@hotmial.com,") and "bob@hotmail.com" in lines[2]
    assert lines[3].startswith("4,,,False,invalid,0,empty")
    assert lines[4].startswith("5,x@@y,,False,invalid,0,syntax")


def test_addresses_with_dns_through_the_sandbox(tmp_path: Path) -> None:
    with SandboxThread(Sandbox(SandboxConfig.load().with_ports(0, 0))) as world:
        host, port = world.dns_address
        env = {
            "SENDWELL_DNS_RESOLVER": f"{host}:{port}",
            "SENDWELL_VERIFY_MX_ALLOWED_NETWORKS": "127.0.0.0/8",
            "SENDWELL_VERIFY_DNS_TIMEOUT": "2",
        }
        result = sendwell(
            tmp_path,
            "--json",
            "ann@yahoo.sandbox",
            "ann@nosuch.sandbox",
            "bob@aonly.sandbox",
            env=env,
        )
    got = {o["address"]: (o["verdict"], o["reasons"]) for o in json_lines(result)}
    assert got == {
        "ann@yahoo.sandbox": ("valid", []),
        "ann@nosuch.sandbox": ("invalid", ["domain_not_found"]),
        "bob@aonly.sandbox": ("risky", ["implicit_mx"]),
    }


def test_list_run_stores_results(tmp_path: Path) -> None:
    def cli(*args: str) -> None:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("SENDWELL_")}
        environ["SENDWELL_DATA_DIR"] = str(tmp_path / "data")
        done = subprocess.run(
            [sys.executable, "-m", "sendwell", *args],
            cwd=tmp_path,
            env=environ,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()

    cli("init")
    cli("lists", "create", "News")
    for email in ("ann@example.com", "info@example.com", "x@mailinator.com"):
        cli("subscribers", "add", email, "--list", "News")
    cli("suppressions", "add", "ann@example.com", "--reason", "hard_bounce")
    result = sendwell(tmp_path, "--list", "News", "--json", "--checks", OFFLINE + ",history")
    [summary] = json_lines(result)
    assert summary == {
        "list": "News",
        "total": 3,
        "valid": 0,
        "risky": 2,
        "invalid": 1,
        "unknown": 0,
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "exactly one"),
        (("a@example.com", "--stdin"), "exactly one"),
        (("--checks", "syntax,bogus", "a@example.com"), "unknown check 'bogus'"),
        (("--list", "Nope"), "does not exist"),
    ],
)
def test_usage_errors_are_one_line(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = sendwell(tmp_path, *args)
    stderr = result.stderr.decode()
    assert result.returncode == 1
    assert "Traceback" not in stderr
    assert stderr.startswith("error: ") and message in stderr


def test_csv_lines_with_bad_bytes_report_the_address_column(tmp_path: Path) -> None:
    source = tmp_path / "bad.csv"
    source.write_bytes(
        b"email,name\n\xff@example.com,x\nevil@example.com\rBcc: y,z\n" + b"c" * 70_000 + b",q\n"
    )
    out = tmp_path / "out.csv"
    result = sendwell(tmp_path, str(source), "-o", str(out), "--checks", OFFLINE)
    assert result.returncode == 0, result.stderr.decode()
    rows = out.read_text(encoding="utf-8").splitlines()[1:]
    assert rows[0].startswith("2,\ufffd@example.com,,False,invalid,0,bad_encoding")
    assert rows[1].startswith("3,evil@example.com\\x0dBcc: y,,False,invalid,0,control_chars")
    assert rows[2].startswith("4,") and ",too_long," in rows[2]
