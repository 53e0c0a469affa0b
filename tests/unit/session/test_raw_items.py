"""A session on a transport that takes raw items (the fast transports) sends batched
puts as their JSON, and stores, refuses and hands back exactly what it would as dicts."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import pytest

from _dynamap.codec.size import MAX_ITEM_BYTES, item_size
from _dynamap.transport.wire import RawItem, _loads, encode_body
from dynamap import (
    EncodeError,
    ItemTooLargeError,
    Model,
    PartitionKey,
    RetryPolicy,
    Session,
    UnprocessedError,
    to_item,
)
from tests.support.fake import FakeDynamo


class Doc(Model, table="docs"):
    pk: Annotated[str, PartitionKey()]
    blob: bytes = b""
    text: str = ""
    data: dict[str, Any] = {}


class RawFake(FakeDynamo):
    """FakeDynamo behind the wire: each request goes through its JSON body, as sent."""

    raw_items = True

    def __init__(self) -> None:
        super().__init__({"docs": ("pk",)})
        self.raw_seen = 0

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        for requests in params.get("RequestItems", {}).values():
            if isinstance(requests, list):
                self.raw_seen += sum(
                    isinstance(r.get("PutRequest", {}).get("Item"), RawItem) for r in requests
                )
        return super().call(operation, _loads(encode_body(params)))


DOCS = [
    Doc(pk="a", blob=bytes(range(256)), text="é日本\u2028", data={"n": [1, 2.5, True, None]}),
    Doc(pk="b", data={"deep": {"x": {"y": "z"}}}),
]


def test_batched_puts_go_as_json_and_store_the_same_items():
    fake = RawFake()
    with Session(transport=fake) as session:
        for doc in DOCS:
            session.put(doc)
    assert fake.raw_seen == 2
    assert [fake.data["docs"][(d.pk,)] for d in DOCS] == [to_item(d) for d in DOCS]


def test_an_item_at_the_limit_is_stored_and_one_byte_more_refused():
    """As on the dict path: an item at the limit (its JSON is longer) is stored; one
    byte more is refused with its exact size."""
    base = Doc(pk="big", data={"k": [1000000] * 500})
    room = MAX_ITEM_BYTES - item_size(to_item(base))
    fake = RawFake()
    with Session(transport=fake) as session:
        session.put(base.model_copy(update={"text": "x" * room}))
    assert item_size(fake.data["docs"][("big",)]) == MAX_ITEM_BYTES
    session = Session(transport=RawFake())
    session.put(base.model_copy(update={"text": "x" * (room + 1)}))
    with pytest.raises(ItemTooLargeError) as info:
        session.flush()
    assert info.value.size == MAX_ITEM_BYTES + 1
    session.close()


def test_a_put_not_done_is_handed_back_as_its_item():
    fake = RawFake()
    fake.withhold = lambda table, item: True  # every item, every time
    session = Session(transport=fake, retry=RetryPolicy(max_attempts=2, base_delay=0))
    session.put(DOCS[0])
    with pytest.raises(UnprocessedError) as info:
        session.flush()
    (lost,) = info.value.unprocessed
    assert lost.item == to_item(DOCS[0]) and lost.instance is DOCS[0]
    session.close()


@pytest.mark.parametrize("transport", [RawFake, lambda: FakeDynamo({"docs": ("pk",)})])
@pytest.mark.parametrize(
    ("values", "where"),
    [({"text": "a\ud800"}, "Doc.text"), ({"data": {"k": ["\udfff"]}}, "Doc.data")],
)
def test_text_without_a_utf8_form_is_a_located_error_on_both_paths(
    transport: Any, values: dict[str, Any], where: str
):
    """pydantic accepts a lone surrogate; the flush refuses it, naming the field and key."""
    session = Session(transport=transport())
    session.put(Doc(pk="a", **values))
    with pytest.raises(EncodeError, match=where) as info:
        session.flush()
    assert "pk='a'" in str(info.value)
    session.close()


class Nums(Model, table="docs"):
    pk: Annotated[str, PartitionKey()]
    nums: set[float] = set()
    value: Any = None


@pytest.mark.parametrize("transport", [RawFake, lambda: FakeDynamo({"docs": ("pk",)})])
@pytest.mark.parametrize(
    ("values", "where"),
    [
        ({"nums": {0.1, Decimal("0.1")}}, "Nums.nums"),
        ({"value": {0.1, Decimal("0.1")}}, "Nums.value"),
        ({"value": {1e-7, Decimal("1E-7"), 2}}, "Nums.value"),
    ],
)
def test_a_number_set_holding_one_number_twice_is_a_located_error_on_both_paths(
    transport: Any, values: dict[str, Any], where: str
):
    """Python sees 0.1 and Decimal('0.1') as two members, DynamoDB one number (and
    refuses the set): only sizing sees it, so the raw path sizes items with number sets."""
    fake = transport()
    session = Session(transport=fake)
    session.put(Nums.model_construct(pk="a", **values))  # unvalidated, as assigned
    with pytest.raises(EncodeError, match=where) as info:
        session.flush()
    assert "pk='a'" in str(info.value) and "duplicate" in str(info.value)
    assert not fake.data["docs"]
    session.close()


class Plain(Model, table="docs"):
    pk: Annotated[str, PartitionKey()]
    text: str = ""
    data: dict[str, Any] = {}


def test_plainly_valid_puts_skip_the_dict_encoder_and_store_the_same(monkeypatch):
    """The JSON shortcut (codec/jsonenc.py) is what a plain batched put takes; anything
    it does not take (binary data here) goes through the checked encoder."""
    from _dynamap.session import writes

    checked: list[str] = []
    encode = writes.encode

    def counting(info: Any, instance: Any, key: Any) -> Any:
        checked.append(instance.pk)
        return encode(info, instance, key)

    monkeypatch.setattr(writes, "encode", counting)
    plain = [Plain(pk=f"p{i}", text='é"\\', data={"n": [1, "x", {"y": True}]}) for i in range(3)]
    fake = RawFake()
    with Session(transport=fake) as session:
        for item in plain:
            session.put(item)
        session.put(DOCS[0])  # binary data: the checked encoder
    assert checked == ["a"] and fake.raw_seen == 4
    assert [fake.data["docs"][(p.pk,)] for p in plain] == [to_item(p) for p in plain]
