"""Reference lists: disposable domains with overrides, role accounts, free-mail."""

from __future__ import annotations

from pathlib import Path

import pytest

from sendwell.errors import ConfigError
from sendwell.verify.lists import ReferenceLists, parse_domain_list, read_domain_file


def test_packaged_disposable_list_and_subdomains() -> None:
    lists = ReferenceLists.build()
    assert len(lists.disposable) > 1000  # the maintained package, not a hand list
    assert lists.is_disposable("mailinator.com")
    assert lists.is_disposable("inbox.mailinator.com")
    assert not lists.is_disposable("example.com")
    assert not lists.is_disposable("gmail.com")


def test_overrides_add_and_allow(tmp_path: Path) -> None:
    file = tmp_path / "extra.txt"
    file.write_text("# ours\nthrowaway.example  # seen in signups\n\nBURNER.example.\n")
    extra = read_domain_file(file) | parse_domain_list("temp.example, other.example")
    lists = ReferenceLists.build(extra_disposable=extra, allow={"mailinator.com"})
    assert lists.is_disposable("throwaway.example")
    assert lists.is_disposable("burner.example")
    assert lists.is_disposable("x.temp.example")
    assert not lists.is_disposable("mailinator.com")  # the allowlist wins
    assert not lists.is_disposable("sub.mailinator.com")


def test_unreadable_override_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read domain list"):
        read_domain_file(tmp_path / "missing.txt")


@pytest.mark.parametrize(
    ("local", "role"),
    [
        ("info", True),
        ("Admin", True),
        ("no-reply", True),
        ("no.reply", True),
        ("noreply+bounce", True),
        ("postmaster", True),
        ("ann", False),
        ("information.desk", False),
    ],
)
def test_role_accounts(local: str, role: bool) -> None:
    assert ReferenceLists.build().is_role(local) is role


def test_role_list_is_configurable() -> None:
    lists = ReferenceLists.build(roles=["frontdesk", "info"])
    assert lists.is_role("front-desk")
    assert not lists.is_role("admin")


def test_free_mail() -> None:
    lists = ReferenceLists.build()
    assert lists.is_free("gmail.com") and lists.is_free("GMX.de")
    assert not lists.is_free("example.com")
