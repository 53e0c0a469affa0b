# pyright: reportUnnecessaryTypeIgnoreComment=true
"""Static type behaviour, checked by mypy --strict and pyright (strict), never executed.

Lines that must be errors carry both a mypy `type: ignore[code]` and a
`pyright: ignore[rule]` (pyright is told to skip `type: ignore` comments). Both
checkers report unused ignores as errors, so if either stopped flagging a line,
the check would fail.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from mypy_boto3_dynamodb import DynamoDBClient
from pydantic import BaseModel, Field
from typing_extensions import assert_type

from dynamap import (
    Attr,
    AttrPath,
    CancellationReason,
    Condition,
    ConditionFailedError,
    ConditionFailure,
    Cursor,
    Deferred,
    Discriminator,
    FlushError,
    FlushReport,
    GlobalIndex,
    Model,
    Operand,
    Page,
    PartitionKey,
    Projection,
    Query,
    QueryReport,
    ReadTransaction,
    Scan,
    Session,
    SetValue,
    SortKey,
    StaleDataError,
    Transaction,
    TransactionCanceledError,
    Update,
    UpdateOperand,
    Version,
    begins_with,
    between,
    create_table_params,
    from_item,
    gt,
    projection,
    render_expressions,
    to_item,
)


class User(Model, table="users"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    name: str
    status: str = "active"
    user_id: str = Field(default="", alias="user-id")
    by_status: ClassVar[GlobalIndex] = GlobalIndex("status")


class Member(Model, table="members"):
    """Stored names set with Attr: the constructor keeps the Python names."""

    pk: Annotated[str, PartitionKey(), Attr("PK")]
    user_id: Annotated[str, Attr("user-id")] = ""
    email: Annotated[str | None, Attr("e-mail")] = None


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


def stored_names() -> None:
    member = Member(pk="a", user_id="z", email=None)
    assert_type(member, Member)
    assert_type(member.user_id, str)
    assert_type(member.email, str | None)
    Member(pk="a", user_id=3)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    Member(pk="a", user_id="z", nickname="x")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    # A pydantic alias renames the constructor's parameter for pyright (dataclass_transform),
    # so the Python name of an aliased field is refused there; mypy's pydantic plugin allows it.
    User(pk="u", sk="p", name="n", user_id="z")  # pyright: ignore[reportCallIssue]


def sessions(client: DynamoDBClient) -> None:
    with Session(client, table_prefix="dev-") as session:
        deferred = session.get(User, "u#1", "profile")
        assert_type(deferred, Deferred[User])
        assert_type(deferred.result(), User | None)
        order = session.get(Order, "o#9", consistent=True).result()
        assert_type(order, Order | None)
        session.get(Order, Decimal("1.5"))
        session.get(Order, 1.5)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        assert_type(session.get(User, pk="a", sk="b"), Deferred[User])
        assert_type(session.get(Order, pk="o#9", consistent=True), Deferred[Order])
        session.get(Order, pk=1.5)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        session.get(Order, "o#9", consistent="yes")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        session.expunge(User(pk="u#2", sk="profile", name="Bo"))
        session.clear()
        session.put(User(pk="u#2", sk="profile", name="Bo"))
        session.put({"pk": "x"})  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        session.delete(User(pk="u#2", sk="profile", name="Bo"))
        assert_type(session.flush(), FlushReport)


class Doc(Model, table="docs"):
    pk: Annotated[str, PartitionKey()]
    body: str = ""
    visits: int = 0
    version: Annotated[int, Version()] = 0


def writes(session: Session) -> None:
    user = User(pk="u#1", sk="profile", name="Al")
    created = User.path(lambda u: u.pk).not_exists()
    session.put(user, condition=created)
    session.delete(user, condition=User.path(lambda u: u.status).eq("banned"))
    session.delete_key(User, "u#1", "profile")
    doc = Doc(pk="d")
    visits = Doc.path(lambda d: d.visits).add(1)
    assert_type(session.update(doc, visits), Deferred[Doc])
    assert_type(session.update(doc, visits, condition=created), Deferred[Doc])
    assert_type(session.update_key(Doc, "d", visits, create=False), Deferred[Doc])
    # Not caught: a condition or update built on another model's paths (here Doc's, for a
    # User). Condition and Update are not generic over the model; DynamoDB judges them.
    assert_type(session.update_key(User, ("u#1", "profile"), visits), Deferred[User])
    session.update(doc, created)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    session.put(user, condition=visits)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    Session(object(), write_back="merge")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def failures(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError as error:
        assert_type(error.failures, list[Any])
    except ConditionFailedError as error:
        failure: ConditionFailure = error.failures[0]
        assert_type(failure.current, Any)
    except FlushError as error:
        assert_type(error.unknown, list[Any])
        assert_type(error.resend(session), int)
        error.resend(object())  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def transactions(session: Session, user: User) -> None:
    with session.read_transaction() as rt:
        assert_type(rt, ReadTransaction)
        assert_type(rt.get(User, "u#1", "profile"), Deferred[User])
        assert_type(rt.get(Order, pk="o#9"), Deferred[Order])
    with session.transaction() as tx:
        assert_type(tx, Transaction)
        tx.put(user, condition=User.path(lambda u: u.pk).not_exists())
        tx.check(Order, "o#9", condition=Order.path(lambda o: o.total).gt(Decimal(0)))
        tx.check(Order, "o#9")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
        tx.put(object())  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    assert_type(session.flush(atomic=True), FlushReport)
    try:
        session.flush(atomic=True)
    except TransactionCanceledError as error:
        reason = error.reasons[1]
        assert_type(reason, CancellationReason[Model])
        assert_type(reason.current, Model | None)
        assert_type(reason.current_as(Order), Order | None)
        assert_type(error.failed, list[CancellationReason[Model]])
        assert_type(reason.code, str)


def derived() -> None:
    assert_type(projection(User), Projection)
    assert_type(projection(User).expression, str)
    assert_type(create_table_params(User), dict[str, Any])
    item = to_item(User(pk="u", sk="p", name="n"))
    assert_type(from_item(User, item), User)
    assert_type(User.by_status, GlobalIndex)


def paths() -> None:
    assert_type(User.path(lambda u: u.user_id), AttrPath[str])
    User.path(lambda u: u.nickname)  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownLambdaType, reportUnknownMemberType]


class Address(BaseModel):
    city: str
    zip: int | None = None


class Profile(Model, table="profiles"):
    pk: Annotated[str, PartitionKey()]
    status: str = "active"
    email: str | None = None
    visits: int = 0
    total: Decimal = Decimal(0)
    ratio: float = 0.0
    raw: bytes = b""
    tags: set[str] = set()
    history: list[str] = []
    address: Address | None = None
    attrs: dict[str, int] = {}


def conditions() -> None:
    P = Profile.path
    assert_type(P(lambda u: u.status), AttrPath[str])
    assert_type(P(lambda u: u.status).eq("active"), Condition)
    assert_type(P(lambda u: u.visits).between(1, 9), Condition)
    assert_type(P(lambda u: u.status).is_in("a", "b"), Condition)
    assert_type(P(lambda u: u.email).exists(), Condition)
    assert_type(P(lambda u: u.email).begins_with("a@"), Condition)
    assert_type(P(lambda u: u.raw).begins_with(b"\x00"), Condition)
    assert_type(P(lambda u: u.tags).contains("vip"), Condition)
    assert_type(P(lambda u: u.history).contains("login"), Condition)
    assert_type(P(lambda u: u.tags).size(), Operand[int])
    assert_type(P(lambda u: u.tags).size().gt(3), Condition)
    assert_type(P(lambda u: u.attrs["some key"]), AttrPath[int])
    city = P(lambda u: u.address).at(lambda a: a.city)
    assert_type(city, AttrPath[str])
    assert_type(city.eq("Oslo"), Condition)
    a, b, c = P(lambda u: u.status).eq("x"), P(lambda u: u.visits).gt(1), city.eq("Oslo")
    assert_type((a & b) | ~c, Condition)
    P(lambda u: u.status).eq(3)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    P(lambda u: u.visits).begins_with("x")  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    P(lambda u: u.raw).begins_with("x")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    P(lambda u: u.tags).contains(3)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    P(lambda u: u.history).contains(3)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    P(lambda u: u.visits).size()  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    P(lambda u: u.tags).size().gt("3")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    city.eq(3)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    # mypy infers AttrPath[Never] here (and flags every use of it); pyright refuses at once.
    P(lambda u: u.visits).at(lambda a: a.city)  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType, reportUnknownLambdaType]


def updates() -> None:
    P = Profile.path
    visits = P(lambda u: u.visits)
    assert_type(visits.if_not_exists(0), UpdateOperand[int])
    assert_type(visits.if_not_exists(0) + 1, SetValue[int])
    assert_type(P(lambda u: u.total) + 1, SetValue[Decimal])
    assert_type(P(lambda u: u.ratio) - 0.5, SetValue[float])
    assert_type(visits.set(visits.if_not_exists(0) + 1), Update)
    assert_type(visits.add(1), Update)
    assert_type(P(lambda u: u.total).add(1), Update)
    assert_type(P(lambda u: u.tags).add({"a"}), Update)
    assert_type(P(lambda u: u.history).append("login"), Update)
    assert_type(P(lambda u: u.history).prepend("a", "b"), Update)
    assert_type(P(lambda u: u.tags).add_elements("vip"), Update)
    assert_type(P(lambda u: u.tags).delete_elements("vip"), Update)
    assert_type(P(lambda u: u.email).set(None), Update)
    assert_type(P(lambda u: u.email).remove() & visits.add(1), Update)
    assert_type(render_expressions(update=visits.add(1)), dict[str, Any])
    visits.set("x")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    P(lambda u: u.status).set(visits + 1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    P(lambda u: u.status) + 1  # type: ignore[operator]  # pyright: ignore[reportOperatorIssue, reportUnusedExpression]
    # `visits.add(1.5)` passes both checkers (int paths are float paths too, by promotion);
    # the value is refused when the update is built.
    P(lambda u: u.status).add(1)  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    P(lambda u: u.status).append("x")  # type: ignore[misc, arg-type]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    P(lambda u: u.tags).append("x")  # type: ignore[misc, arg-type]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    P(lambda u: u.history).append(3)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    P(lambda u: u.history).add_elements("x")  # type: ignore[misc, arg-type]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    P(lambda u: u.tags).add_elements(3)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    P(lambda u: u.tags).delete_elements(3)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


class Kind1(Model, table="typing-app"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    kind: Annotated[Literal["one"], Discriminator()] = "one"


class Kind2(Model, table="typing-app"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    kind: Annotated[Literal["two"], Discriminator()] = "two"
    total: Decimal = Decimal(0)


def queries(session: Session) -> None:
    q = session.query(User, "u#1")
    assert_type(q, Query[User])
    for user in q.filter(User.path(lambda u: u.name).eq("Ann")).reverse().limit(5).page_size(2):
        assert_type(user, User)
    assert_type(session.query(User, "u#1", begins_with("p")), Query[User])
    assert_type(session.query(User, "u#1", between("a", "b")).first(), User | None)
    assert_type(session.query(User, "u#1", "profile").count(), int)
    page = q.page(after=None)
    assert_type(page, Page[User])
    assert_type(page.items, list[User])
    assert_type(page.cursor, Cursor | None)
    if page.cursor is not None:
        assert_type(q.page(after=page.cursor.encode()), Page[User])
        assert_type(Cursor.decode(page.cursor.encode()), Cursor)
    assert_type(q.report, QueryReport | None)
    both = session.query((Kind1, Kind2), "p")
    assert_type(both, Query[Kind1 | Kind2])
    for item in both:
        if isinstance(item, Kind2):
            assert_type(item.total, Decimal)
    assert_type(session.scan(User, segments=4), Scan[User])
    assert_type(session.scan((Kind1, Kind2), segment=(0, 2)), Scan[Kind1 | Kind2])
    assert_type(session.query(User, "u#1", gt("a"), index="by_status"), Query[User])
    session.query(User, 1.5)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
    session.query(User, "u#1", 1.5)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
    q.filter("total > 3")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    session.scan(User, segments="4")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
