"""The quoted-printable body encoder: valid RFC 2045 output that decodes to its input."""

from __future__ import annotations

import binascii
import email
from email import policy

from hypothesis import given
from hypothesis import strategies as st

from sendwell.compose import qp


def _expected(text: str) -> bytes:
    """What decoding must give back: the text as UTF-8 with CRLF line breaks."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n").encode()


def _check(text: str) -> bytes:
    encoded = qp.encode(text)
    assert encoded.isascii()
    for line in encoded.split(b"\r\n"):
        assert len(line) <= qp.MAX_LINE, line
        assert not line.endswith((b" ", b"\t")), line
        assert b"\r" not in line and b"\n" not in line
        assert all(b == 9 or 32 <= b <= 126 for b in line), line
    assert binascii.a2b_qp(encoded) == _expected(text)
    return encoded


def test_plain_short_lines_stand_for_themselves() -> None:
    assert qp.encode("Hello there,\nsee you.\n") == b"Hello there,\r\nsee you.\r\n"


def test_equals_non_ascii_and_controls_are_escaped() -> None:
    encoded = _check('<a href="x">café — “ok”</a>\x0c\x7f')
    assert encoded == b'<a href=3D"x">caf=C3=A9 =E2=80=94 =E2=80=9Cok=E2=80=9D</a>=0C=7F'


def test_long_lines_get_soft_breaks_never_inside_an_escape() -> None:
    # ASCII text (escaped here) and non-ASCII text (escaped by b2a_qp) alike.
    texts = ["x" * shift + unit * 60 for shift in range(4) for unit in ("a=", "=é")]
    for text in texts:
        encoded = _check(text)
        assert b"=\r\n" in encoded
        for line in encoded.split(b"\r\n"):
            body = line[:-1] if line.endswith(b"=") else line
            # every "=" left starts a complete triplet
            for i, byte in enumerate(body):
                if byte == ord("="):
                    assert len(body) >= i + 3


def test_trailing_whitespace_is_encoded() -> None:
    assert _check("a \nb\t\nc ") == b"a=20\r\nb=09\r\nc=20"


def test_line_endings_become_crlf() -> None:
    assert _check("a\r\nb\rc\n") == b"a\r\nb\r\nc\r\n"


def test_a_mail_parser_reads_the_part_back() -> None:
    text = "Grüße, " + "long words " * 20 + "\n= end =\n"
    raw = (
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + qp.encode(text)
    )
    part = email.message_from_bytes(raw, policy=policy.default)
    assert part.get_content() == text.replace("\n", "\r\n")


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400))
def test_any_text_round_trips(text: str) -> None:
    _check(text)


@given(
    st.lists(
        st.sampled_from(["a", " ", "\t", "=", "é", "\n", "\r\n", "x" * 70, ".", "\x00"]),
        max_size=60,
    ).map("".join)
)
def test_tricky_mixtures_round_trip(text: str) -> None:
    _check(text)


def test_no_77_character_line_where_the_stdlib_encoder_leaves_one() -> None:
    text = "a=" + "x" * 70 + " \n\x00"
    assert max(map(len, binascii.b2a_qp(text.encode(), istext=True).split(b"\n"))) == 77
    _check(text)
