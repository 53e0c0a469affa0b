"""Review of the JSON shortcut: its request bytes, not only its parsed value, must be
what the checked path sends.

A BatchWriteItem carries up to 25 items of 400 KB. Written as UTF-8 (as `encode_body`
writes them) that is about 10 MB; with every non-ASCII character escaped as `\\uXXXX`
(6 bytes for a 3-byte CJK character, 12 for a 4-byte emoji) the same batch grows to
20-30 MB, over DynamoDB's 16 MB request limit: DynamoDB Local answers 413 to a batch
the checked path sends fine.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _dynamap.model.limits import check_item
from _dynamap.model.model import Model, model_info
from _dynamap.transport.wire import encode_body
from tests.unit.codec.test_jsonenc import Indexed, Wide, same


def _checked_body(instance: Model) -> bytes:
    info = model_info(type(instance))
    return encode_body(check_item(info, info.encode_item(instance)))


def _shortcut(instance: Model) -> bytes:
    raw = same(instance)
    assert raw is not None, "expected the shortcut to answer"
    return raw


@pytest.mark.parametrize(
    "instance",
    [
        Wide(pk="p", sk=1, text="\u65e5\u672c" * 1000),  # CJK: 3 bytes of UTF-8 each
        Wide(pk="p", sk=1, text="\U0001f600" * 1000),  # an emoji: 4 bytes, a surrogate pair
        Wide(pk="\u00e9" * 500, sk=1),  # a key
        Wide(pk="p", sk=1, data={"\u65e5" * 100: {"k": ["\u65e5" * 100]}}),  # map keys, nested
        Wide(pk="p", sk=1, words=["\u65e5" * 100], tags={"\u65e5" * 100}),
        Wide(pk="p", sk=1, anything=["\u65e5" * 100, ("\u00e9",)]),
        Indexed(pk="p", sk="s", g="\u65e5" * 100, local="\u00e9" * 100),
    ],
)
def test_non_ascii_text_costs_no_more_request_bytes_than_the_checked_path(instance: Model):
    assert len(_shortcut(instance)) <= len(_checked_body(instance))


def test_a_full_batch_of_cjk_items_stays_under_the_request_limit():
    # 25 items just under 400 KB of CJK text: ~10 MB as the checked path writes them.
    text = "\u65e5" * ((400 * 1024 - 1000) // 3)
    raw = _shortcut(Wide(pk="p", sk=1, text=text))
    assert len(raw) * 25 < 16 * 1024 * 1024


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(),
    words=st.lists(st.text(max_size=5), max_size=4),
    data=st.dictionaries(st.text(min_size=1, max_size=5), st.text(max_size=5), max_size=4),
)
def test_any_text_costs_no_more_request_bytes(text: str, words: list[str], data: dict[str, Any]):
    instance = Wide(pk="p", sk=1, text=text, words=words, data=data)
    raw = same(instance)
    if raw is not None:
        assert json.loads(raw) == json.loads(_checked_body(instance))
        assert len(raw) <= len(_checked_body(instance))
