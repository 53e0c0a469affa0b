"""`Attr("name")`: the stored attribute name, without a pydantic alias."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import pytest
from pydantic import BaseModel, Field

from _dynamap.model.model import model_info
from dynamap import (
    Attr,
    AttrPath,
    GlobalIndex,
    LocalIndex,
    Model,
    ModelDefinitionError,
    PartitionKey,
    SortKey,
    create_table_params,
    from_item,
    projection,
    to_item,
)


class Line(BaseModel):
    sku: Annotated[str, Attr("SKU")]
    qty: Annotated[int, Attr("quantity")] = 0


class Account(Model, table="accounts"):
    pk: Annotated[str, PartitionKey(), Attr("PK")]
    sk: Annotated[str, SortKey(), Attr("SK")]
    user_id: Annotated[str, Attr("user-id")] = ""
    email: Annotated[str | None, Attr("e-mail")] = None
    created: Annotated[int, Attr("createdAt")] = 0
    lines: list[Line] = []
    by_line: dict[str, Line] = {}
    pair: tuple[str, Line] | None = None
    either: Line | AccountNote | None = None

    by_email: ClassVar[GlobalIndex] = GlobalIndex("email", "createdAt", projection=["user_id"])
    by_created: ClassVar[LocalIndex] = LocalIndex("created", projection=["user-id"])


class AccountNote(BaseModel):  # declared after its use: a forward reference
    text: Annotated[str, Attr("body")] = ""
    pinned: bool = False


Account.model_rebuild()


def full() -> Account:
    return Account(
        pk="a#1",
        sk="profile",
        user_id="z",
        email="z@example.com",
        created=7,
        lines=[Line(sku="x", qty=2)],
        by_line={"k": Line(sku="y")},
        pair=("p", Line(sku="q", qty=1)),
        either=AccountNote(text="hello", pinned=True),
    )


def test_constructor_and_validation_use_the_python_name():
    account = Account(pk="a", sk="s", user_id="z")
    assert account.user_id == "z"
    assert account.model_dump()["user_id"] == "z"
    assert Account.model_validate({"pk": "a", "sk": "s", "user_id": "z"}) == account


def test_fields_are_stored_under_attr_names_and_round_trip():
    account = full()
    item = to_item(account)
    assert set(item) == {
        "PK",
        "SK",
        "user-id",
        "e-mail",
        "createdAt",
        "lines",
        "by_line",
        "pair",
        "either",
    }
    assert item["lines"] == {"L": [{"M": {"SKU": {"S": "x"}, "quantity": {"N": "2"}}}]}
    assert item["either"] == {"M": {"body": {"S": "hello"}, "pinned": {"BOOL": True}}}
    back = from_item(Account, item)
    assert back == account
    assert isinstance(back.either, AccountNote)


def test_a_union_member_is_read_by_its_own_stored_names():
    account = full().model_copy(update={"either": Line(sku="only", qty=3)})
    back = from_item(Account, to_item(account))
    assert back.either == Line(sku="only", qty=3)


def test_keys_indexes_and_schema_use_the_stored_names():
    info = model_info(Account)
    assert [(k.name, k.attr) for k in info.key_attrs] == [("pk", "PK"), ("sk", "SK")]
    assert info.partition_key is not None and info.partition_key.plain is str
    key, _ = info.key_from_values(("a", "s"))
    assert key == {"PK": {"S": "a"}, "SK": {"S": "s"}}
    indexes = {ix.name: ix for ix in info.indexes}
    # Index declarations may name a field by its Python name or its stored name.
    assert indexes["by_email"].partition_key.attr == "e-mail"
    assert indexes["by_email"].sort_key is not None
    assert indexes["by_email"].sort_key.attr == "createdAt"
    assert indexes["by_email"].non_key_attributes == ("user-id",)
    assert indexes["by_created"].non_key_attributes == ("user-id",)
    params = create_table_params(Account)
    assert params["KeySchema"] == [
        {"AttributeName": "PK", "KeyType": "HASH"},
        {"AttributeName": "SK", "KeyType": "RANGE"},
    ]
    assert {d["AttributeName"] for d in params["AttributeDefinitions"]} == {
        "PK",
        "SK",
        "e-mail",
        "createdAt",
    }


def test_projection_and_paths_use_the_stored_names():
    p = projection(Account)
    assert p.expression.split(", ")[:3] == ["PK", "SK", "#user_id"]
    assert p.names["#user_id"] == "user-id"
    assert Account.path(lambda a: a.user_id) == AttrPath("user-id")
    assert Account.path(lambda a: a.lines[0].qty) == AttrPath("lines", 0, "quantity")
    assert Account.path(lambda a: a.by_line["k"].sku) == AttrPath("by_line", "k", "SKU")


def test_attr_overrides_an_alias_for_storage():
    class Both(Model, table="both"):
        pk: Annotated[str, PartitionKey()]
        user_id: Annotated[str, Attr("uid")] = Field(default="", alias="userId")

    value = Both.model_validate({"pk": "k", "userId": "z"})
    assert to_item(value) == {"pk": {"S": "k"}, "uid": {"S": "z"}}
    assert from_item(Both, to_item(value)) == value


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        (Attr(""), r"Bad\.f: Attr needs a non-empty attribute name \(str\), got ''"),
        (Attr(5), r"Bad\.f: Attr needs a non-empty attribute name \(str\), got 5"),  # type: ignore[arg-type]
        (Attr("\ud800"), r"Bad\.f: attribute name '\\ud800' is not valid UTF-8"),
    ],
)
def test_invalid_attr_names(marker: Attr, message: str):
    with pytest.raises(ModelDefinitionError, match=message):

        class Bad(Model, table="bad"):
            pk: Annotated[str, PartitionKey()]
            f: Annotated[str, marker] = ""


def test_two_attr_markers_are_refused():
    with pytest.raises(ModelDefinitionError, match=r"Two\.f: more than one Attr"):

        class Two(Model, table="two"):
            pk: Annotated[str, PartitionKey()]
            f: Annotated[str, Attr("a"), Attr("b")] = ""


def test_attr_equal_to_another_fields_name_is_refused():
    with pytest.raises(ModelDefinitionError, match=r"Clash: fields 'a' and 'b' both use .*'a'"):

        class Clash(Model, table="clash"):
            pk: Annotated[str, PartitionKey()]
            a: Annotated[int, Attr("aa")] = 0
            b: Annotated[int, Attr("a")] = 0


def test_attr_equal_to_another_fields_stored_name_is_refused():
    with pytest.raises(ModelDefinitionError, match=r"two fields are stored as attribute 'x'"):

        class Clash(Model, table="clash"):
            pk: Annotated[str, PartitionKey()]
            a: Annotated[int, Attr("x")] = 0
            b: int = Field(default=0, alias="x")


def test_key_attribute_names_are_limited_to_255_bytes():
    long: Any = Attr("k" * 256)
    with pytest.raises(ModelDefinitionError, match=r"Long\.pk: .*255 bytes"):

        class Long(Model, table="long"):
            pk: Annotated[str, PartitionKey(), long]


class Plain(BaseModel):
    a: int = 0


def test_a_map_member_of_a_union_keeps_maps_as_maps():
    """With a dict member, a map is handed to pydantic as it is (unless Attr needs more)."""

    class Mixed(Model, table="mixed"):
        pk: Annotated[str, PartitionKey()]
        plain: Plain | dict[str, int] = {}
        renamed: Line | dict[str, int] = {}

    value = Mixed(pk="k", plain={"a": 1}, renamed={"SKU": 2})
    back = from_item(Mixed, to_item(value))
    assert back.plain == {"a": 1}
    assert back.renamed == {"SKU": 2}  # no Line: SKU must be a str
    lined = from_item(Mixed, to_item(Mixed(pk="k", renamed=Line(sku="s", qty=4))))
    assert lined.renamed == Line(sku="s", qty=4)  # read by Line's own reader
