"""``sendwell worker --processes N``: a supervisor whose workers never outlive it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat")
    return not (state.exists() and state.read_text().split()[2] == "Z")


def _initialized(tmp_path: Path) -> dict[str, str]:
    """The environment of a fresh sendwell data directory, initialized."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENDWELL_")}
    env.update({"SENDWELL_DATA_DIR": str(tmp_path / "data"), "SENDWELL_POLL_SECONDS": "0.2"})
    subprocess.run(
        [sys.executable, "-m", "sendwell", "init"],
        env=env,
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    return env


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and prctl")
def test_workers_stop_when_their_supervisor_is_killed(tmp_path: Path) -> None:
    env = _initialized(tmp_path)
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "sendwell", "worker", "--processes", "2"],
        env=env,
        cwd=tmp_path,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120  # a hang guard, generous for a loaded machine
        while len(_children(supervisor.pid)) < 2:
            assert time.monotonic() < deadline, "the supervisor did not start two workers"
            time.sleep(0.05)
        workers = _children(supervisor.pid)
        supervisor.send_signal(signal.SIGKILL)
        supervisor.wait()
        deadline = time.monotonic() + 120  # a hang guard, generous for a loaded machine
        while any(_alive(pid) for pid in workers):
            assert time.monotonic() < deadline, "workers outlived their supervisor"
            time.sleep(0.05)
    finally:
        if supervisor.poll() is None:
            supervisor.kill()


def test_a_supervised_worker_runs_without_the_web_stack(tmp_path: Path) -> None:
    """The supervisor's children run ``sendwell.cli.worker`` directly: same worker,
    none of the web application's imports (startup time and memory per process)."""
    from sendwell.cli.worker import child_command

    env = _initialized(tmp_path)
    done = subprocess.run(
        child_command(drain=True), env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "0 attempts, 0 delivered" in done.stderr

    probe = "import sys, sendwell.cli.worker; print(sorted(set(sys.modules) & {MODULES}))"
    modules = {"fastapi", "starlette", "uvicorn", "sendwell.web", "sendwell.cli.main"}
    out = subprocess.run(
        [sys.executable, "-c", probe.replace("{MODULES}", repr(modules))],
        check=True,
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == "[]"

    bad = subprocess.run(
        [*child_command(drain=False), "--bogus"], env=env, capture_output=True, text=True
    )
    assert bad.returncode == 2
    assert "unexpected arguments" in bad.stderr


def test_sendwell_worker_starts_without_the_other_commands(tmp_path: Path) -> None:
    """The entry point runs ``worker`` without importing the full command set: a
    supervisor only needs the settings to start its processes."""
    probe = (
        "import sys\n"
        "sys.argv = ['sendwell', 'worker', '--help']\n"
        "from sendwell.cli.entry import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(set(sys.modules) & {MODULES}))\n"
    )
    heavy = {"sendwell.cli.main", "sendwell.app", "sendwell.web", "fastapi"}
    out = subprocess.run(
        [sys.executable, "-c", probe.replace("{MODULES}", repr(heavy))],
        check=True,
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_worker_help_and_errors_are_the_same_as_in_the_full_command_set(
    tmp_path: Path,
) -> None:
    env = _initialized(tmp_path)
    full = "import sys; from sendwell.cli.main import main; sys.argv[0] = 'sendwell'; main()"

    def both(*args: str) -> tuple[subprocess.CompletedProcess[str], ...]:
        return tuple(
            subprocess.run(
                [sys.executable, *head, *args],
                env={**env, "COLUMNS": "200"},
                cwd=tmp_path,
                capture_output=True,
                text=True,
            )
            for head in (["-m", "sendwell"], ["-c", full])
        )

    fast, slow = both("worker", "--help")
    assert fast.returncode == slow.returncode == 0
    assert "--processes" in fast.stdout
    # The usage line names the program as invoked; everything else is the same.
    assert fast.stdout.splitlines()[1:] == slow.stdout.splitlines()[1:]
    fast, slow = both("worker", "--processes", "-1")
    assert fast.returncode == slow.returncode == 1
    assert fast.stderr == slow.stderr
    assert fast.stderr.strip() == "error: worker_processes must be 0 (one per CPU core) or more"
