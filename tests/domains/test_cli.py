"""``sendwell domains`` through the real entry point: keys never printed."""

from __future__ import annotations

from tests.cli.conftest import Run, run  # noqa: F401


def test_domains_add_prints_records_not_keys(run: Run) -> None:  # noqa: F811
    assert run("init").returncode == 0
    added = run("domains", "add", "example.com", "--selector", "s7", "--ed25519")
    assert added.returncode == 0, added.stderr
    assert "s7._domainkey.example.com. IN TXT" in added.stdout
    assert "s7e._domainkey.example.com. IN TXT" in added.stdout
    assert "_dmarc.example.com. IN TXT" in added.stdout
    assert "PRIVATE" not in added.stdout + added.stderr
    listed = run("domains", "ls")
    assert "example.com" in listed.stdout and "s7e" in listed.stdout
    again = run("domains", "add", "example.com")
    assert again.returncode == 1 and again.stderr.startswith("error: ")
    assert "already exists" in again.stderr
