"""DKIM signatures: accepted by dkimpy and by OpenDKIM, broken by any change to signed data."""

from __future__ import annotations

import email
import email.policy
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import dkim
import pytest
from dkim.canonicalization import Relaxed
from hypothesis import given
from hypothesis import strategies as st

from sendwell.compose.dkim import (
    DkimKey,
    DkimSigner,
    canonical_body,
    canonical_header,
    dns_txt_value,
    generate_ed25519_pem,
    generate_rsa_pem,
)
from sendwell.compose.message import MessageParts, build_message
from sendwell.errors import InvalidInput
from tests.conftest import require_tool

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
HELPER = Path(__file__).with_name("opendkim_ns.py")


@cache
def _rsa() -> bytes:
    return generate_rsa_pem()


@cache
def _ed() -> bytes:
    return generate_ed25519_pem()


def _message(**kw: object) -> bytes:
    base: dict[str, object] = dict(
        from_name="Jörg News",
        from_email="news@example.com",
        to_email="ann@example.org",
        subject="Grüße   and\ttabs  ",
        html="<p>Hi   <b>Ann</b></p>   \n\n\n",
        text="Hi\t Ann  \n",
        message_id="<1.2.abc@example.com>",
        date=NOW,
        extra_headers=[
            ("List-Unsubscribe", "<https://x.example/u/1-abc>, <mailto:u+1@example.com>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ("Feedback-ID", "7:3:news:sendwell"),
        ],
    )
    base.update(kw)
    return build_message(MessageParts(**base))  # type: ignore[arg-type]


def _keys(rsa: bool = True, ed: bool = False) -> list[DkimKey]:
    keys = []
    if rsa:
        keys.append(DkimKey("example.com", "s1", _rsa()))
    if ed:
        keys.append(DkimKey("example.com", "e1", _ed(), "ed25519-sha256"))
    return keys


def _records() -> dict[str, str]:
    return {
        "s1._domainkey.example.com": dns_txt_value(_rsa()),
        "e1._domainkey.example.com": dns_txt_value(_ed()),
    }


def _dnsfunc(records: dict[str, str]) -> Callable[..., bytes | None]:
    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        value = records.get(name.decode().rstrip("."))
        return value.encode() if value is not None else None

    return lookup


def _dkimpy_results(signed: bytes) -> list[bool]:
    verifier = dkim.DKIM(signed)
    count = len(email.message_from_bytes(signed).get_all("DKIM-Signature") or [])
    results = []
    for i in range(count):
        try:
            results.append(bool(verifier.verify(idx=i, dnsfunc=_dnsfunc(_records()))))
        except dkim.ValidationError:  # dkimpy raises, rather than returns, on a bad body hash
            results.append(False)
    return results


@pytest.mark.parametrize(("rsa", "ed"), [(True, False), (False, True), (True, True)])
def test_dkimpy_accepts_every_signature(rsa: bool, ed: bool) -> None:
    signed = DkimSigner(_keys(rsa, ed)).sign(_message(), now=NOW)
    assert _dkimpy_results(signed) == [True] * (int(rsa) + int(ed))
    msg = email.message_from_bytes(signed, policy=email.policy.default)
    assert msg.defects == []
    assert len(msg.get_all("From") or []) == 1


def test_signature_covers_the_required_headers() -> None:
    signed = DkimSigner(_keys()).sign(_message(), now=NOW)
    header = email.message_from_bytes(signed)["DKIM-Signature"]
    tags = dict(t.strip().split("=", 1) for t in "".join(header.split()).split(";") if "=" in t)
    signed_names = tags["h"].split(":")
    for name in (
        "from", "to", "subject", "date", "message-id",
        "list-unsubscribe", "list-unsubscribe-post", "feedback-id",
    ):  # fmt: skip
        assert name in signed_names
    assert signed_names.count("from") == 2  # over-signed
    assert tags["c"] == "relaxed/relaxed" and tags["t"] == str(int(NOW.timestamp()))
    assert "l" not in tags
    assert all(len(line) <= 998 for line in signed.split(b"\r\n"))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda m: m.replace(b"Subject: ", b"Subject: FW: ", 1),
        lambda m: m.replace(b"List-Unsubscribe-Post: ", b"List-Unsubscribe-Post: x", 1),
        lambda m: m.replace(b"Hi ", b"Hi! ", 1),
        lambda m: m.replace(b"\r\n\r\n", b"\r\nFrom: evil@example.net\r\n\r\n", 1),
        lambda m: m + b"appended\r\n",
    ],
)
def test_any_change_to_signed_data_breaks_the_signature(
    tamper: Callable[[bytes], bytes],
) -> None:
    signed = DkimSigner(_keys(True, True)).sign(_message(), now=NOW)
    assert _dkimpy_results(tamper(signed)) == [False, False]


def test_relaxed_canonicalization_rules() -> None:
    # RFC 6376 §3.4.5's example, with CRLF line ends.
    assert canonical_header(b"A: X") == b"a:X"
    assert canonical_header(b"B : Y\t\r\n\tZ  ") == b"b:Y Z"
    assert canonical_body(b" C \r\nD \t E\r\n\r\n\r\n") == b" C\r\nD E\r\n"
    assert canonical_body(b"") == b""
    assert canonical_body(b"\r\n\r\n") == b""
    assert canonical_body(b"end  ") == b"end\r\n"


@given(
    st.lists(
        st.sampled_from(["a", "Z", " ", "  ", "\t", "\r\n ", "\r\n\t", ":", ";"]), max_size=30
    ).map("".join)
)
def test_header_canonicalization_agrees_with_dkimpy(value: str) -> None:
    raw = f"Subject:{value}".encode()
    [(name, canonical)] = Relaxed.canonicalize_headers([(b"Subject", value.encode() + b"\r\n")])
    assert canonical_header(raw) == name + b":" + canonical.removesuffix(b"\r\n")


@given(st.lists(st.sampled_from(["a", " ", "\t", "\r\n", "  \r\n"]), max_size=30).map("".join))
def test_body_canonicalization_agrees_with_dkimpy(body: str) -> None:
    # Bodies as built end in CRLF (dkimpy keeps the spaces of an unterminated last line).
    data = body.encode() + b"\r\n"
    assert canonical_body(data) == Relaxed.canonicalize_body(data)


def test_refuses_bad_input() -> None:
    signer = DkimSigner(_keys())
    with pytest.raises(InvalidInput, match="separator"):
        signer.sign(b"From: a@b.c\r\n", now=NOW)
    with pytest.raises(InvalidInput, match="From"):
        signer.sign(b"Subject: x\r\n\r\nbody\r\n", now=NOW)
    with pytest.raises(InvalidInput, match="not ed25519"):
        DkimSigner([DkimKey("example.com", "s", _rsa(), "ed25519-sha256")])
    with pytest.raises(InvalidInput, match="does not load"):
        DkimSigner([DkimKey("example.com", "s", b"not a key")])
    with pytest.raises(InvalidInput):
        DkimSigner([])


# -- the independent verifier: OpenDKIM ----------------------------------------------------


def _opendkim_problem() -> str | None:
    if shutil.which("opendkim-testmsg") is None:
        return "opendkim-testmsg not installed (Debian package opendkim-tools)"
    if shutil.which("unshare") is None:
        return "unshare (util-linux) not installed"
    probe = subprocess.run(
        ["unshare", "--net", "--mount", "true"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        return f"cannot create network namespaces here: {probe.stderr.strip()}"
    return None


def _opendkim(tmp_path: Path, signed: bytes, records: dict[str, str]) -> tuple[int, str]:
    """Verify with opendkim-testmsg against the sandbox DNS in a private namespace."""
    problem = _opendkim_problem()
    if problem:
        require_tool(problem)
    (tmp_path / "msg.eml").write_bytes(signed)
    (tmp_path / "records.json").write_text(json.dumps(records))
    (tmp_path / "resolv.conf").write_text("nameserver 127.0.0.1\n")
    script = (
        'ip link set lo up && mount --bind "$1"/resolv.conf /etc/resolv.conf && '
        'exec "$2" "$3" "$1"/records.json "$1"/msg.eml'
    )
    proc = subprocess.run(
        ["unshare", "--net", "--mount", "sh", "-c", script, "sh",
         str(tmp_path), sys.executable, str(HELPER)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    code, _, output = proc.stdout.strip().partition(" ")
    return int(code), output


@pytest.mark.parametrize(("rsa", "ed"), [(True, False), (True, True)])
def test_opendkim_accepts_the_signature(tmp_path: Path, rsa: bool, ed: bool) -> None:
    signed = DkimSigner(_keys(rsa, ed)).sign(_message(), now=NOW)
    assert _opendkim(tmp_path, signed, _records()) == (0, "")


def test_opendkim_rejects_a_tampered_message(tmp_path: Path) -> None:
    signed = DkimSigner(_keys()).sign(_message(), now=NOW)
    code, output = _opendkim(tmp_path, signed.replace(b"Subject: ", b"Subject: Re: "), _records())
    assert code != 0 and "Bad signature" in output
