"""Review of the generated decoder: a NULL reads as an absent attribute for every field."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import ValidationError

from dynamap import Model, PartitionKey, from_item


class NullRead(Model, table="null-read"):
    pk: Annotated[str, PartitionKey()]
    n: int | None = 5  # inline read (N_INT), may be None
    s: str | None = "default"  # inline read (S), may be None
    b: bool | None = True  # inline read (BOOL), may be None
    lst: list[int] | None = [1]  # the full decoder only


def test_a_null_reads_as_absent_for_fields_that_may_be_none():
    null: dict[str, Any] = {"NULL": True}
    item = {"pk": {"S": "k"}, "n": null, "s": null, "b": null, "lst": null}
    back = from_item(NullRead, item)
    assert back == from_item(NullRead, {"pk": {"S": "k"}})  # the defaults, as when absent
    assert (back.n, back.s, back.b, back.lst) == (5, "default", True, [1])


class NullRequired(Model, table="null-required"):
    pk: Annotated[str, PartitionKey()]
    r: int | None  # may be None, but has no default


def test_a_null_for_a_field_without_default_is_missing_not_none():
    with pytest.raises(ValidationError, match="r"):
        from_item(NullRequired, {"pk": {"S": "k"}, "r": {"NULL": True}})
