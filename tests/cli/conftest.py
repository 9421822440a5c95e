"""Run the real ``sendwell`` entry point in a subprocess, in a scratch directory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    def _run(
        *args: str,
        env: dict[str, str] | None = None,
        timeout: float = 120,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("SENDWELL_")}
        environ.update({"SENDWELL_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"})
        environ.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "sendwell", *args],
            cwd=tmp_path,
            env=environ,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=stdin,
            check=False,
        )

    return _run
