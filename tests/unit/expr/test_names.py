"""Projection expressions and `#placeholders`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import Field

from _dynamap.expr import names
from _dynamap.expr.names import (
    PlaceholderNames,
    needs_placeholder,
    render_projection,
    reserved_words,
)
from dynamap import Model, PartitionKey, projection
from tests.support.models import User

SHARED = Path(__file__).resolve().parents[4] / "shared" / "dynamodb" / "reserved-words.txt"


def test_reserved_list_matches_shared_copy():
    assert SHARED.exists(), f"{SHARED} is missing: the shared/ folder must sit beside the checkout"
    shared = {w.strip().upper() for w in SHARED.read_text().splitlines() if w.strip()}
    assert len(shared) == 573
    assert reserved_words() == shared
    packaged = Path(names.__file__).with_name("reserved-words.txt").read_text()
    assert packaged == SHARED.read_text()


@pytest.mark.parametrize(
    ("name", "needs"),
    [
        ("name", True),
        ("NAME", True),
        ("Status", True),
        ("pk", False),
        ("user_id", False),
        ("user-id", True),
        ("a.b", True),
        ("9lives", True),
        ("_private", True),
        ("émoji", True),
        ("camelCase1", False),
    ],
)
def test_needs_placeholder(name, needs):
    assert needs_placeholder(name) is needs


def test_user_projection():
    p = projection(User)
    assert p.expression == "pk, sk, #name, #status, #user_id"
    assert p.names == {"#name": "name", "#status": "status", "#user_id": "user-id"}
    assert projection(User) is p  # computed once per class


def test_placeholders_never_collide():
    class Tricky(Model, table="tricky"):
        pk: Annotated[str, PartitionKey()]
        dash: str = Field(default="", alias="user-id")
        dot: str = Field(default="", alias="user.id")
        plain: str = Field(default="", alias="user_id")
        hash_: str = Field(default="", alias="#user_id")
        digit: str = Field(default="", alias="9lives")

    p = projection(Tricky)
    tokens = [t.strip() for t in p.expression.split(",")]
    assert len(tokens) == len(set(tokens)) == 6
    assert "user_id" in tokens  # needs no placeholder, stays readable
    assert set(p.names.values()) == {"user-id", "user.id", "#user_id", "9lives"}
    # every placeholder is used, and every token is well-formed
    for token in tokens:
        assert token in p.names or not needs_placeholder(token)
        assert re.fullmatch(r"#?[A-Za-z0-9_]+", token)
    assert set(p.names) <= set(tokens)


def test_allocation_is_deterministic():
    a, b = PlaceholderNames(), PlaceholderNames()
    names = ["a-b", "a.b", "a b", "data", "DATA"]
    assert [a.ref(n) for n in names] == [b.ref(n) for n in names]
    assert a.ref("a-b") == "#a_b"
    assert a.ref("a.b") == "#a_b_2"
    assert a.ref("data") == "#data"
    assert a.ref("DATA") == "#DATA"


def test_render_projection_drops_duplicates():
    p = render_projection(["pk", "name", "pk"])
    assert p.expression == "pk, #name"
    assert p.request_params() == {
        "ProjectionExpression": "pk, #name",
        "ExpressionAttributeNames": {"#name": "name"},
    }
    assert render_projection(["pk"]).request_params() == {"ProjectionExpression": "pk"}
    with pytest.raises(ValueError, match="at least one"):
        render_projection([])
