"""RawItem: items encoded to JSON at once, spliced into a BatchWriteItem body as they are."""

from __future__ import annotations

import json
from typing import Any

import pytest

from _dynamap.transport.wire import RawItem, as_item, encode_body, raw_item

BLOB = bytes(range(256))  # "+" and "/" in standard base64
ITEMS: list[dict[str, Any]] = [
    {"pk": {"S": "a"}, "n": {"N": "1"}},
    {"pk": {"S": 'é"\\\u2028'}, "b": {"B": BLOB}, "bs": {"BS": [BLOB, b"x"]}},
    {"pk": {"S": "c"}, "m": {"M": {"B": {"B": b"\xff"}, "l": {"L": [{"NULL": True}]}}}},
]


def _batch(raw: bool, **rest: Any) -> dict[str, Any]:
    def put(item: dict[str, Any]) -> dict[str, Any]:
        return {"PutRequest": {"Item": raw_item(item) if raw else item}}

    return {
        "RequestItems": {
            "t1": [put(ITEMS[0]), {"DeleteRequest": {"Key": {"pk": {"B": BLOB}}}}, put(ITEMS[1])],
            'odd "table" é': [put(ITEMS[2])],
        },
        **rest,
    }


@pytest.mark.parametrize("rest", [{}, {"ReturnConsumedCapacity": "TOTAL"}])
def test_a_body_with_raw_items_is_the_body_of_their_dicts(rest: dict[str, Any]):
    spliced = encode_body(_batch(True, **rest))
    assert json.loads(spliced) == json.loads(encode_body(_batch(False, **rest)))
    assert b"_" not in spliced.split(b'"B":"', 1)[1][:10]  # standard base64, not URL-safe


def test_a_raw_item_reads_back_as_its_item():
    for item in ITEMS:
        assert raw_item(item).item() == item
        assert as_item(raw_item(item)) == item
    assert as_item(ITEMS[0]) is ITEMS[0]
    assert raw_item(ITEMS[0]) == raw_item(dict(ITEMS[0])) != raw_item(ITEMS[2])
    assert hash(raw_item(ITEMS[0])) == hash(raw_item(dict(ITEMS[0])))


def test_a_raw_item_shows_no_value():
    assert "secret" not in repr(raw_item({"pk": {"S": "secret"}}))
    assert repr(RawItem(b"{}")) == "RawItem(2 bytes)"


def test_bodies_without_raw_items_are_unchanged():
    params = {"RequestItems": {"t": [{"PutRequest": {"Item": ITEMS[0]}}]}, "X": 1}
    assert encode_body(params) == encode_body(json.loads(encode_body(params)))
    get = {"RequestItems": {"t": {"Keys": [{"pk": {"S": "a"}}]}}}
    assert json.loads(encode_body(get)) == get
