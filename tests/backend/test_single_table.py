"""Single-table models: several kinds in one table, told apart by their Discriminator()."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

import pytest

from dynamap import (
    DecodeError,
    Discriminator,
    GlobalIndex,
    Model,
    ModelDefinitionError,
    PartitionKey,
    Session,
    SortKey,
    begins_with,
)
from tests.support.tables import create_tables

pytestmark = pytest.mark.usefixtures("session_flavor")


class User(Model, table="qapp"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    kind: Annotated[Literal["user"], Discriminator()] = "user"
    name: str
    group: str = "g"  # a reserved word, as a GSI partition key

    by_group: ClassVar[GlobalIndex] = GlobalIndex("group", "sk")


class Order(Model, table="qapp"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    kind: Annotated[Literal["order"], Discriminator()] = "order"
    total: Decimal
    group: str = "g"

    by_group: ClassVar[GlobalIndex] = GlobalIndex("group", "sk")


class Plain(Model, table="qapp"):
    """A model of the same table without a discriminator."""

    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]


@pytest.fixture
def app(client: Any, table_prefix: str) -> Session:
    create_tables(client, table_prefix, User)
    with Session(client, table_prefix=table_prefix) as session:
        session.put(User(pk="u#1", sk="profile", name="Ann"))
        session.put(User(pk="u#1", sk="profile#2", name="Ann again"))
        for i in range(3):
            session.put(Order(pk="u#1", sk=f"order#{i}", total=Decimal(i)))
        session.put(Order(pk="u#2", sk="order#9", total=Decimal(9)))
    return Session(client, table_prefix=table_prefix)


def test_a_query_of_several_models_decodes_each_into_its_own(app: Session) -> None:
    items = list(app.query((User, Order), "u#1"))
    assert [type(i).__name__ for i in items] == ["Order"] * 3 + ["User"] * 2
    assert {i.sk for i in items if isinstance(i, User)} == {"profile", "profile#2"}


def test_a_query_of_one_model_returns_only_its_kind(app: Session) -> None:
    users = list(app.query(User, "u#1"))
    assert [u.name for u in users] == ["Ann", "Ann again"]
    assert app.query(User, "u#1").count() == 2
    orders = list(app.query(Order, "u#1", begins_with("order#")))
    assert [o.total for o in orders] == [Decimal(0), Decimal(1), Decimal(2)]
    on_index = list(app.query(User, "g", index=User.by_group))
    assert {u.sk for u in on_index} == {"profile", "profile#2"}
    assert len(list(app.query(Order, "g", index="by_group"))) == 4
    assert {type(x) for x in app.scan((User, Order), segments=2)} == {User, Order}
    assert len(list(app.scan(User))) == 2


def test_an_unknown_kind_is_an_error_naming_it_or_skipped(
    app: Session, client: Any, table_prefix: str
) -> None:
    client.put_item(
        TableName=f"{table_prefix}qapp",
        Item={"pk": {"S": "u#1"}, "sk": {"S": "invoice#1"}, "kind": {"S": "invoice"}},
    )
    with pytest.raises(DecodeError, match="kind='invoice'"):
        list(app.query((User, Order), "u#1"))
    skipped = list(app.query((User, Order), "u#1", unknown="skip"))
    assert len(skipped) == 5
    assert len(list(app.query(User, "u#1"))) == 2  # one model: filtered by the server


def test_get_of_a_key_holding_another_kind_is_a_clear_error(app: Session) -> None:
    deferred = app.get(User, "u#1", "order#1")
    with pytest.raises(DecodeError, match="kind='order', not User's 'user'"):
        deferred.result()
    order = app.get(Order, "u#1", "order#1").result()
    assert order is not None and order.total == Decimal(1)


def test_models_that_cannot_be_told_apart_are_refused() -> None:
    with pytest.raises(ModelDefinitionError, match="both map to table 'qapp'"):

        class Again(Model, table="qapp"):
            pk: Annotated[str, PartitionKey()]
            sk: Annotated[str, SortKey()]
            kind: Annotated[Literal["user"], Discriminator()] = "user"

    with pytest.raises(ModelDefinitionError, match="Literal of one"):

        class Loose(Model, table="qapp2"):
            pk: Annotated[str, PartitionKey()]
            kind: Annotated[str, Discriminator()] = "x"

    with pytest.raises(ModelDefinitionError, match="as the default"):

        class NoDefault(Model, table="qapp2"):
            pk: Annotated[str, PartitionKey()]
            kind: Annotated[Literal["y"], Discriminator()]


def test_several_models_need_discriminators(app: Session) -> None:
    with pytest.raises(ModelDefinitionError, match="no Discriminator"):
        app.query((User, Plain), "u#1")
