"""Cursors: url-safe tokens that round-trip exactly and refuse anything malformed."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynamap import Cursor, InvalidCursorError

keys = st.dictionaries(
    st.text(min_size=1, max_size=5),
    st.one_of(
        st.text(min_size=1).map(lambda s: {"S": s}),
        st.integers().map(lambda n: {"N": str(n)}),
        st.binary(min_size=1).map(lambda b: {"B": b}),
    ),
    min_size=1,
    max_size=4,
)


@given(keys, st.one_of(st.none(), st.just("done"), keys))
def test_round_trip(scope: dict, position: object) -> None:
    cursor = Cursor("table", "index", scope, ((1, 3),), (position,))  # type: ignore[arg-type]
    token = cursor.encode()
    assert all(c.isalnum() or c in "-_" for c in token)
    assert Cursor.decode(token) == cursor


def _token(doc: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")


GOOD = {"v": 1, "t": "t", "i": None, "p": None, "s": [None], "k": [{"pk": {"S": "a"}}]}


@pytest.mark.parametrize(
    "doc",
    [
        {**GOOD, "v": 2},
        {**GOOD, "t": 5},
        {**GOOD, "s": "x"},
        {**GOOD, "s": [None, None]},  # one position per stream
        {**GOOD, "s": [[4, 4]]},
        {**GOOD, "s": [[True, 4]]},
        {**GOOD, "k": [{"pk": {"SS": ["a"]}}]},
        {**GOOD, "k": [{"pk": {"S": ""}}]},
        {**GOOD, "k": [{"pk": {"S": "a", "N": "1"}}]},
        {**GOOD, "k": [{"pk": {"B": "***"}}]},
        {**GOOD, "k": [{f"a{i}": {"S": "x"} for i in range(5)}]},
        {**GOOD, "k": ["later"]},
        [1, 2],
    ],
)
def test_malformed_tokens_are_refused(doc: object) -> None:
    with pytest.raises(InvalidCursorError):
        Cursor.decode(_token(doc))


def test_garbage_is_refused() -> None:
    for token in ("", "!!!", "a" * 70_000, base64.urlsafe_b64encode(b"\xff\xfe").decode()):
        with pytest.raises(InvalidCursorError):
            Cursor.decode(token)
    assert Cursor.decode(_token(GOOD)).positions == ({"pk": {"S": "a"}},)
    assert not Cursor.decode(_token(GOOD)).finished


def test_deeply_nested_json_is_refused_not_a_recursion_error() -> None:
    # Within the 64 KB limit, but deeper than Python's JSON decoder recurses.
    deep = b'{"v":1,"t":"t","s":[null],"k":[null],"z":' + b"[" * 20_000 + b"]" * 20_000 + b"}"
    token = base64.urlsafe_b64encode(deep).decode().rstrip("=")
    assert len(token) < 64 * 1024
    with pytest.raises(InvalidCursorError):
        Cursor.decode(token)
