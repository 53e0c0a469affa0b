"""Limits on a whole encoded item that no single value's encoder can see.

DynamoDB refuses an item (and with it the rest of its batch) whose table key values
are too large, or whose secondary-index key attributes are empty or too large
(measured on DynamoDB Local 3.3.1). `check_item` finds these before anything is sent.
Sizes, nesting and sets are checked while the item is encoded (`codec.size`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from _dynamap.codec.jsonenc import JsonEncoder, KeyLimit, generate_json_encoder
from _dynamap.codec.values import Item
from _dynamap.errors import EncodeError, InvalidKeyError
from _dynamap.model.depth import check_depth, needs_depth_check
from _dynamap.model.keys import KeyAttr, describe_key, short
from _dynamap.model.model import ModelInfo

__all__ = ["check_item", "encode_json"]


@dataclass(frozen=True, slots=True)
class _Rule:
    key: KeyAttr
    index: str | None  # None for the table's own key


# Per rule: attribute name, wire type, a quarter of the size limit (no value that long can
# exceed it, even at 4 bytes a character), and the rule itself for the slow path.
_Rules = tuple[tuple[str, str, int, _Rule], ...]


def _rules(info: ModelInfo) -> _Rules:
    rules = [_Rule(k, None) for k in info.key_attrs]
    for index in info.indexes:
        for key in (index.partition_key, index.sort_key):
            # A local index shares the table's partition key: it is checked already.
            if key is not None and key not in info.key_attrs:
                rules.append(_Rule(key, index.name))
    return tuple((r.key.attr, r.key.type, r.key.max_bytes // 4, r) for r in rules)


_RULES: dict[ModelInfo, _Rules] = {}
_DEEP: dict[ModelInfo, bool] = {}  # models whose items can nest deeper than encoders count
_JSON: dict[ModelInfo, JsonEncoder | None] = {}


def encode_json(info: ModelInfo, instance: Any) -> bytes | None:
    """The request JSON of `instance`'s item if it is plainly valid, else None.

    None means "take `encode` and `check_item`", which decide what is refused and
    how; a JSON answer is what they would accept, written as `encode_body` would.

    Args:
        info: the instance's model.
        instance: the instance to write.
    """
    try:
        encoder = _JSON[info]
    except KeyError:
        encoder = _JSON.setdefault(info, _json_encoder(info))
    return None if encoder is None else encoder(instance)


def _json_encoder(info: ModelInfo) -> JsonEncoder | None:
    if needs_depth_check(info.model):
        return None  # depth is only counted on the encoded item
    keys: dict[str, KeyLimit] = {}
    for attr, kind, quarter, rule in _rules(info):
        limit: KeyLimit = (kind, quarter, rule.index is not None)
        earlier = keys.get(attr)
        if earlier is not None:  # one attribute keys the table and an index, or two indexes
            if earlier[0] != kind:
                return None
            limit = (kind, min(quarter, earlier[1]), limit[2] and earlier[2])
        keys[attr] = limit
    return generate_json_encoder(info.model, info.codec.fields, keys)


def check_item(info: ModelInfo, item: Item, key: Item | None = None) -> Item:
    """Return `item` if DynamoDB accepts its key and index-key values; raise otherwise.

    A table key value that is missing, empty or too large is an InvalidKeyError (the
    first two as `ModelInfo.check_key` reports them); an index key attribute
    that is empty or too large is an EncodeError (an absent one, None, is fine: the
    item is left out of that index). `key` names the item in the message. `item` comes
    from a checked encode, which has already refused text with no UTF-8 form.
    """
    rules = _RULES.get(info)
    if rules is None:
        rules = _RULES.setdefault(info, _rules(info))
    for attr, kind, quarter, rule in rules:
        av = item.get(attr)
        if av is None:
            if rule.index is None:
                info.check_key(item)  # raises: a table key is missing
            continue  # an index key may be absent
        value = av.get(kind)
        if value is not None and 0 < len(value) <= quarter:
            continue  # the common case, surely within the limit
        if rule.index is None:
            info.check_key(item)  # an empty table key is its error
        fault = rule.key.fault(av)
        if fault is not None:
            if key is None:
                key = {k.attr: item[k.attr] for k in info.key_attrs if k.attr in item}
            _fail(info, rule, av, fault, key)
    deep = _DEEP.get(info)
    if deep is None:
        deep = _DEEP.setdefault(info, needs_depth_check(info.model))
    if deep:
        try:
            check_depth(info.name, item)
        except EncodeError as exc:
            shown = key if key is not None else {k.attr: item[k.attr] for k in info.key_attrs}
            raise EncodeError(f"{exc} (item key {describe_key(shown)})") from None
    return item


def _fail(info: ModelInfo, rule: _Rule, av: dict[str, Any], fault: str, key: Item) -> None:
    ((_, value),) = av.items()
    message = f"{info.name}.{rule.key.name} {short(value)} {fault} (item key {short(key)})"
    if rule.index is None:
        raise InvalidKeyError(message)
    if not value:
        message += (
            f": DynamoDB refuses an empty value as a key of index {rule.index!r}; "
            f"use None to leave the item out of the index"
        )
    raise EncodeError(message)
