"""Signed tokens: round trips, forgeries, kinds, key rotation, compatibility with sent links."""

from __future__ import annotations

import pytest

from sendwell.compose.links import link_token
from sendwell.tracking.tokens import ClickRef, Keyring, sign, sign_click, verify, verify_click

OLD, NEW = b"old-key-0123456789", b"new-key-0123456789"


@pytest.mark.parametrize("kind", ["o", "u", "p", "v"])
def test_round_trip_and_kinds_do_not_mix(kind: str) -> None:
    ring = Keyring.of(NEW)
    token = sign(kind, 1234, ring)  # type: ignore[arg-type]
    assert verify(kind, token, ring) == 1234  # type: ignore[arg-type]
    for other in {"o", "u", "p", "v"} - {kind}:
        assert verify(other, token, ring) is None  # type: ignore[arg-type]


def test_public_page_tokens_are_those_already_in_sent_messages() -> None:
    assert sign("u", 7, Keyring.of(NEW)) == link_token("u", 7, NEW)


@pytest.mark.parametrize(
    "token",
    ["", "abc", "12-", "-" * 300, "12-" + "0" * 20, "012-x", "1" * 200, "12-ABCDEF", "12-\u00e9"],
)
def test_malformed_and_forged_tokens_are_refused(token: str) -> None:
    assert verify("o", token, Keyring.of(NEW)) is None
    assert verify_click(token, Keyring.of(NEW)) is None


def test_altering_any_part_breaks_the_token() -> None:
    ring = Keyring.of(NEW)
    token = sign_click(ClickRef(5, 2, 3), ring)
    assert verify_click(token, ring) == ClickRef(5, 2, 3)
    outbox, campaign, link, mac = token.split("-")
    for altered in (
        f"6-{campaign}-{link}-{mac}",
        f"{outbox}-9-{link}-{mac}",
        f"{outbox}-{campaign}-4-{mac}",
        f"{outbox}-{campaign}-{link}-{mac[:-1]}{'0' if mac[-1] != '0' else '1'}",
        f"0{outbox}-{campaign}-{link}-{mac}",
    ):
        assert verify_click(altered, ring) is None
    simple = sign("o", 5, ring)
    assert verify("o", "0" + simple, ring) is None


def test_key_rotation_keeps_old_links_and_signs_with_the_new_key() -> None:
    before = Keyring.of(OLD)
    sent_open = sign("o", 1, before)
    sent_click = sign_click(ClickRef(1, 1, 0), before)
    sent_unsub = sign("u", 1, before)
    rotated = Keyring.of(NEW, [OLD])
    assert verify("o", sent_open, rotated) == 1
    assert verify_click(sent_click, rotated) == ClickRef(1, 1, 0)
    assert verify("u", sent_unsub, rotated) == 1
    assert sign("o", 1, rotated) == sign("o", 1, Keyring.of(NEW)) != sent_open
    retired = Keyring.of(NEW)
    assert verify("o", sent_open, retired) is None
    assert verify_click(sent_click, retired) is None


def test_empty_keys_are_rejected_and_duplicates_dropped() -> None:
    with pytest.raises(ValueError):
        Keyring(())
    assert Keyring.of(NEW, [b"", NEW, OLD]).keys == (NEW, OLD)
