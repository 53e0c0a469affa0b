# pyright: reportUnnecessaryTypeIgnoreComment=true
"""Static type behaviour, checked by mypy --strict and pyright (strict), never executed.

Lines that must be errors carry both a mypy `type: ignore[code]` and a
`pyright: ignore[rule]` (pyright is told to skip `type: ignore` comments). Both
checkers report unused ignores as errors, so if either stopped flagging a line,
the check would fail.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, ClassVar

from mypy_boto3_dynamodb import DynamoDBClient
from pydantic import Field
from typing_extensions import assert_type

from dynamap import (
    AttrPath,
    Deferred,
    FlushError,
    FlushReport,
    GlobalIndex,
    Model,
    PartitionKey,
    Projection,
    Session,
    SortKey,
    create_table_params,
    from_item,
    projection,
    to_item,
)


class User(Model, table="users"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    name: str
    status: str = "active"
    user_id: str = Field(default="", alias="user-id")
    by_status: ClassVar[GlobalIndex] = GlobalIndex("status")


class Order(Model, table="orders"):
    pk: Annotated[str, PartitionKey()]
    total: Decimal = Decimal(0)


def constructors() -> None:
    user = User(pk="u#1", sk="profile", name="Ann")
    assert_type(user, User)
    assert_type(user.name, str)
    User(pk=1, sk="profile", name="Ann")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    User(pk="u", sk="p", name="n", nickname="x")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    User(pk="u", sk="p")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


def sessions(client: DynamoDBClient) -> None:
    with Session(client, table_prefix="dev-") as session:
        deferred = session.get(User, "u#1", "profile")
        assert_type(deferred, Deferred[User])
        assert_type(deferred.result(), User | None)
        order = session.get(Order, "o#9", consistent=True).result()
        assert_type(order, Order | None)
        session.get(Order, Decimal("1.5"))
        session.get(Order, 1.5)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        session.put(User(pk="u#2", sk="profile", name="Bo"))
        session.put({"pk": "x"})  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        session.delete(User(pk="u#2", sk="profile", name="Bo"))
        assert_type(session.flush(), FlushReport)


def failures(session: Session) -> None:
    try:
        session.flush()
    except FlushError as error:
        assert_type(error.unknown, list[Any])
        assert_type(error.resend(session), int)
        error.resend(object())  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def derived() -> None:
    assert_type(projection(User), Projection)
    assert_type(projection(User).expression, str)
    assert_type(create_table_params(User), dict[str, Any])
    item = to_item(User(pk="u", sk="p", name="n"))
    assert_type(from_item(User, item), User)
    assert_type(User.by_status, GlobalIndex)


def paths() -> None:
    assert_type(User.path(lambda u: u.user_id), AttrPath)
    User.path(lambda u: u.nickname)  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownLambdaType, reportUnknownMemberType]
