"""Property tests: no input crashes the parsers, and no unsigned input names a delivery."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from sendwell.compose.reference import parse_reference, reference_token
from sendwell.compose.verp import verp_address
from sendwell.feedback.classify import classify
from sendwell.feedback.parse import parse_feedback
from tests.feedback.helpers import KEY

CORPUS = [p.read_bytes() for p in sorted(Path(__file__).with_name("corpus").glob("*.eml"))]
KINDS = {"bounce", "complaint", "autoreply", "unsubscribe", "unknown"}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4000))
def test_arbitrary_bytes(raw: bytes) -> None:
    report = parse_feedback(raw, KEY)
    assert report.kind in KINDS
    assert report.outbox_id is None


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(CORPUS),
    st.integers(min_value=0, max_value=8000),
    st.integers(min_value=0, max_value=8000),
    st.binary(max_size=200),
)
def test_mutated_real_messages(base: bytes, cut: int, at: int, junk: bytes) -> None:
    """Truncate a real report and splice junk into it: still no crash, no identification."""
    raw = base[:cut] + junk + base[at:]
    report = parse_feedback(raw, KEY)
    assert report.kind in KINDS
    assert report.outbox_id is None or report.outbox_id == 1234  # the Postfix sample's row
    for r in report.recipients:
        assert r.classification in {"hard", "soft", "block", "delayed", "success", "unknown"}


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.text(max_size=30), st.text(max_size=20))
def test_classify_is_total(text: str, status: str, action: str) -> None:
    verdict = classify(status, text, action)
    assert verdict.classification in {"hard", "soft", "block", "delayed", "success", "unknown"}


@given(st.integers(min_value=1, max_value=2**62), st.binary(min_size=1, max_size=40))
def test_tokens_round_trip_and_do_not_cross_keys(outbox_id: int, other: bytes) -> None:
    token = reference_token(outbox_id, KEY)
    assert parse_reference(token, KEY) == outbox_id
    if other != KEY:
        assert parse_reference(token, other) is None
    # A VERP signature is not a reference signature.
    sig = verp_address(outbox_id, "d.example", KEY).split("-")[2].split("@")[0]
    assert parse_reference(f"{outbox_id}.{sig}000000", KEY) is None
