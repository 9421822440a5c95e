"""Parsing records into batches: the attributes' JSON text and the batch's columns."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sendwell.audience.import_parse import Batch, attributes_json

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=500, deadline=None)
@given(
    attributes=st.one_of(
        st.dictionaries(st.text(), st.text(), max_size=6),  # what a CSV row gives
        st.dictionaries(st.text(), _JSON, max_size=4),  # what JSON Lines give
    )
)
def test_attributes_json_is_exactly_json_dumps(attributes: dict[str, Any]) -> None:
    assert attributes_json(attributes) == json.dumps(attributes)


def test_subset_keeps_every_column_aligned() -> None:
    batch = Batch()
    for i in range(4):
        for name in Batch.__dataclass_fields__:
            getattr(batch, name).append(f"{name}{i}")
    picked = batch.subset([3, 1])
    assert len(picked) == 2
    for name in Batch.__dataclass_fields__:
        assert getattr(picked, name) == [f"{name}3", f"{name}1"]
