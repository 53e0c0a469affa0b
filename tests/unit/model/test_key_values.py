"""Key values given to get(): the inline path for plain str keys gives exactly what the
checked path gives, and leaves every unusual value to it."""

from __future__ import annotations

import enum
from typing import Annotated, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from _dynamap.model.model import model_info
from dynamap import InvalidKeyError, Model, PartitionKey, SortKey


class Pair(Model, table="pairs"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]


class Color(str, enum.Enum):
    RED = "red"


def checked(values: tuple[Any, ...]) -> Any:
    """The checked path alone: each key attribute's own encode, then the canonical form."""
    info = model_info(Pair)
    try:
        key = {k.attr: k.encode(v, info.name) for k, v in zip(info.key_attrs, values, strict=True)}
    except InvalidKeyError as exc:
        return type(exc)
    return key, info.canonical(key)


def given_to_get(values: tuple[Any, ...]) -> Any:
    try:
        return model_info(Pair).key_from_values(values)
    except InvalidKeyError as exc:
        return type(exc)


LIMITS = ["", "a", "é", "\ud800", "x" * 1024, "x" * 1025, "x" * 2048, "x" * 2049, Color.RED]


@given(
    st.one_of(st.text(), st.sampled_from(LIMITS)),
    st.one_of(st.text(), st.sampled_from(LIMITS)),
)
def test_str_keys_given_to_get_encode_as_the_checked_path_does(pk: Any, sk: Any):
    assert given_to_get((pk, sk)) == checked((pk, sk))


@pytest.mark.parametrize("values", [("a",), ("a", "b", "c"), ("a", 1), (b"a", "b")])
def test_a_wrong_count_or_type_takes_the_checked_path(values: tuple[Any, ...]):
    with pytest.raises(InvalidKeyError):
        model_info(Pair).key_from_values(values)
