"""Model declarations: keys, indexes and every declaration error."""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

import pytest
from pydantic import BaseModel, Field, ValidationError, constr

from _dynamap.model.model import model_info
from dynamap import (
    GlobalIndex,
    LocalIndex,
    Model,
    ModelDefinitionError,
    PartitionKey,
    SortKey,
    to_item,
)
from tests.support.models import Indexed, Order, User


def test_model_is_a_pydantic_model():
    assert issubclass(User, BaseModel)
    u = User(pk="u#1", sk="profile", name="Ann")
    assert u.status == "active"
    assert u.model_dump() == {
        "pk": "u#1",
        "sk": "profile",
        "name": "Ann",
        "status": "active",
        "user_id": "",
    }


def test_instances_accept_python_name_and_alias():
    by_alias = User.model_validate({"pk": "a", "sk": "b", "name": "n", "user-id": "x"})
    by_name = User(pk="a", sk="b", name="n", user_id="x")
    assert by_alias == by_name


def test_attribute_name_is_alias_or_python_name():
    info = model_info(User)
    assert info.attr_by_name == {
        "pk": "pk",
        "sk": "sk",
        "name": "name",
        "status": "status",
        "user_id": "user-id",
    }


def test_keys_are_found():
    info = model_info(User)
    assert info.table == "users"
    assert info.partition_key is not None and info.partition_key.attr == "pk"
    assert info.sort_key is not None and info.sort_key.attr == "sk"
    assert model_info(Order).sort_key is None


@pytest.mark.parametrize(
    ("annotation", "wire"),
    [
        (str, "S"),
        (int, "N"),
        (Decimal, "N"),
        (bytes, "B"),
        (constr(min_length=2), "S"),
        (Annotated[int, Field(gt=0)], "N"),
        (Literal["a", "b"], "S"),
    ],
)
def test_key_types(annotation, wire):
    class Keyed(Model, table="keyed"):
        pk: Annotated[annotation, PartitionKey()]  # type: ignore[valid-type]

    info = model_info(Keyed)
    assert info.partition_key is not None
    assert info.partition_key.type == wire


def test_key_subtype_is_accepted():
    class Kind(str, enum.Enum):
        A = "a"

    class Rank(enum.IntEnum):
        ONE = 1

    class Keyed(Model, table="keyed"):
        pk: Annotated[Kind, PartitionKey()]
        sk: Annotated[Rank, SortKey()]

    assert [k.type for k in model_info(Keyed).key_attrs] == ["S", "N"]
    assert to_item(Keyed(pk=Kind.A, sk=Rank.ONE)) == {"pk": {"S": "a"}, "sk": {"N": "1"}}


def test_two_partition_keys():
    with pytest.raises(ModelDefinitionError, match=r"Two\b.*2 partition keys \(a, b\)"):

        class Two(Model, table="two"):
            a: Annotated[str, PartitionKey()]
            b: Annotated[str, PartitionKey()]


def test_two_sort_keys():
    with pytest.raises(ModelDefinitionError, match=r"TwoSort declares 2 sort keys"):

        class TwoSort(Model, table="two"):
            a: Annotated[str, PartitionKey()]
            b: Annotated[str, SortKey()]
            c: Annotated[str, SortKey()]


def test_table_without_partition_key():
    with pytest.raises(ModelDefinitionError, match=r"NoKey maps to table 'nokey'.*PartitionKey"):

        class NoKey(Model, table="nokey"):
            a: str


@pytest.mark.parametrize("annotation", [float, bool, list[str], dict[str, int], set[str]])
def test_key_of_unsupported_type(annotation):
    with pytest.raises(ModelDefinitionError, match=r"BadKey\.pk: the partition key must be str"):

        class BadKey(Model, table="badkey"):
            pk: Annotated[annotation, PartitionKey()]  # type: ignore[valid-type]


def test_optional_key():
    with pytest.raises(ModelDefinitionError, match=r"OptKey\.sk: the sort key cannot be Optional"):

        class OptKey(Model, table="optkey"):
            pk: Annotated[str, PartitionKey()]
            sk: Annotated[str | None, SortKey()] = None


def test_unsupported_field_type_names_class_and_field():
    class Opaque:
        pass

    with pytest.raises(ModelDefinitionError, match=r"HasOpaque\.thing: unsupported type"):

        class HasOpaque(Model, table="opaque"):
            model_config = {"arbitrary_types_allowed": True}
            pk: Annotated[str, PartitionKey()]
            thing: Opaque


def test_set_of_unsupported_type():
    with pytest.raises(ModelDefinitionError, match=r"SetBool\.flags: unsupported type"):

        class SetBool(Model, table="setbool"):
            pk: Annotated[str, PartitionKey()]
            flags: set[bool] = set()


def test_bad_table_name():
    with pytest.raises(ModelDefinitionError, match="table name 'a b'"):

        class Bad(Model, table="a b"):
            pk: Annotated[str, PartitionKey()]


def test_abstract_base_shares_fields_and_keys():
    class Base(Model):
        pk: Annotated[str, PartitionKey()]
        created: int = 0

    class Concrete(Base, table="concrete"):
        name: str = ""

    assert model_info(Base).table is None
    info = model_info(Concrete)
    assert info.table == "concrete"
    assert info.partition_key is not None and info.partition_key.name == "pk"
    assert [f.name for f in info.codec.fields] == ["pk", "created", "name"]

    class Unmapped(Concrete):
        """A subclass without table= is abstract again."""

    with pytest.raises(ModelDefinitionError, match="Unmapped maps to no table"):
        model_info(Unmapped).require_table()


def test_views_share_the_table():
    class UserName(Model, table="users"):
        pk: Annotated[str, PartitionKey()]
        sk: Annotated[str, SortKey()]
        name: str

    assert model_info(UserName).table == model_info(User).table
    assert model_info(UserName).attributes == ("pk", "sk", "name")


def test_indexes_are_resolved():
    by_name = {ix.name: ix for ix in model_info(Indexed).indexes}
    assert set(by_name) == {"by_email", "score-index", "by_created"}
    email = by_name["by_email"]
    assert email.kind == "global"
    assert email.partition_key.attr == "email"
    assert email.sort_key is not None and email.sort_key.attr == "created"
    assert email.projection == "INCLUDE"
    assert email.non_key_attributes == ("name",)
    score = by_name["score-index"]
    assert score.sort_key is None and score.projection == "KEYS_ONLY"
    assert score.partition_key.type == "N"
    local = by_name["by_created"]
    assert local.kind == "local" and local.partition_key.attr == "pk"
    assert local.projection == "ALL"
    assert Indexed.by_email.name == "by_email"


def test_index_naming_unknown_field():
    with pytest.raises(ModelDefinitionError, match=r"index 'by_x' names field 'x'"):

        class BadIndex(Model, table="badindex"):
            pk: Annotated[str, PartitionKey()]
            by_x: ClassVar[GlobalIndex] = GlobalIndex("x")


def test_index_key_of_unsupported_type():
    with pytest.raises(ModelDefinitionError, match=r"BadIndexKey\.f: the partition key of index"):

        class BadIndexKey(Model, table="badindex"):
            pk: Annotated[str, PartitionKey()]
            f: float = 0.0
            by_f: ClassVar[GlobalIndex] = GlobalIndex("f")


def test_local_index_needs_a_sort_key():
    with pytest.raises(ModelDefinitionError, match="a local index needs a table with a sort key"):

        class NoSort(Model, table="nosort"):
            pk: Annotated[str, PartitionKey()]
            created: int = 0
            by_created: ClassVar[LocalIndex] = LocalIndex("created")


def test_bad_index_projection():
    with pytest.raises(ValueError, match="index projection must be"):
        GlobalIndex("a", projection="SOME")  # type: ignore[arg-type]


def test_index_include_of_unknown_field():
    with pytest.raises(ModelDefinitionError, match="names field 'nope'"):

        class BadInclude(Model, table="badinclude"):
            pk: Annotated[str, PartitionKey()]
            email: str = ""
            by_email: ClassVar[GlobalIndex] = GlobalIndex("email", projection=["nope"])


def test_duplicate_attribute_names():
    with pytest.raises(ModelDefinitionError, match="two fields are stored as attribute 'a'"):

        class Clash(Model, table="clash"):
            pk: Annotated[str, PartitionKey()]
            a: str = ""
            b: str = Field(default="", alias="a")


def test_not_a_model():
    with pytest.raises(ModelDefinitionError, match="is not a dynamap Model subclass"):
        model_info(BaseModel)  # type: ignore[arg-type]


def test_validate_assignment_is_on():
    u = User(pk="a", sk="b", name="n")
    with pytest.raises(ValidationError):
        u.name = 3  # type: ignore[assignment]


def test_paths_map_fields_to_attribute_names():
    from pydantic import BaseModel as Plain

    from _dynamap.expr.context import RenderContext
    from dynamap import AttrPath, DynamapError

    class Line(Plain):
        sku: str
        qty: int = Field(default=0, alias="quantity")

    class Cart(Model, table="carts"):
        pk: Annotated[str, PartitionKey()]
        lines: list[Line] = []
        meta: dict[str, Line] = {}
        extra: dict[str, int] = {}
        user_id: str = Field(default="", alias="user-id")

    assert Cart.path(lambda c: c.user_id) == AttrPath("user-id")
    assert Cart.path(lambda c: c.lines[2].qty) == AttrPath("lines", 2, "quantity")
    assert Cart.path(lambda c: c.meta["x"].sku) == AttrPath("meta", "x", "sku")
    assert Cart.path(lambda c: c.extra["a-b"]) == AttrPath("extra", "a-b")
    ctx = RenderContext()
    assert Cart.path(lambda c: c.lines[0].qty).render(ctx) == "#lines[0].quantity"
    assert Cart.path(lambda c: c.user_id).render(ctx) == "#user_id"
    # map keys come from data: always placeholders
    assert Cart.path(lambda c: c.extra["x"]).render(ctx) == "extra.#x"
    assert ctx.names == {"#lines": "lines", "#user_id": "user-id", "#x": "x"}
    with pytest.raises(DynamapError, match=r"'nope' is not a stored field of .*Cart"):
        Cart.path(lambda c: c.nope)  # type: ignore[attr-defined]
    with pytest.raises(DynamapError, match="index it with an int"):
        Cart.path(lambda c: c.lines["k"])  # type: ignore[call-overload]
    with pytest.raises(DynamapError, match="must return an attribute"):
        Cart.path(lambda c: 3)
