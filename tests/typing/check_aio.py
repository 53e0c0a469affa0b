# pyright: reportUnnecessaryTypeIgnoreComment=true
"""Static types of `dynamap.aio`, checked by mypy --strict and pyright (strict), never run.

As in check_types.py, lines that must be errors carry both checkers' ignore comments.
"""

from __future__ import annotations

from typing import Annotated, Any

from typing_extensions import assert_type

from dynamap import (
    Deferred,
    FlushError,
    FlushReport,
    Model,
    Page,
    PartitionKey,
    SortKey,
    begins_with,
)
from dynamap.aio import (
    AsyncDeferred,
    AsyncQuery,
    AsyncReadTransaction,
    AsyncScan,
    AsyncSession,
    AsyncTransaction,
    AsyncTransport,
)


class User(Model, table="users"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    name: str
    visits: int = 0


async def sessions(client: Any, transport: AsyncTransport) -> None:
    async with AsyncSession(client, concurrency=8) as session:
        assert_type(await session.get(User, "a", "b"), User | None)
        deferred = session.get(User, pk="a", sk="b")
        assert_type(deferred, AsyncDeferred[User])
        plain: Deferred[User] = deferred  # an AsyncDeferred is a Deferred
        assert_type(plain.result(), User | None)
        session.get(User, 1.5, "b")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        session.put(User(pk="a", sk="b", name="A"))
        session.delete_key(User, "a", "b")
        visits = User.path(lambda u: u.visits).add(1)
        assert_type(await session.update_key(User, ("a", "b"), visits), User | None)
        user = User(pk="a", sk="c", name="C")
        assert_type(await session.update(user, visits), User | None)
        assert_type(await session.flush(), FlushReport)
        report: FlushReport = session.flush()  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
        assert_type(report, FlushReport)
        try:
            await session.flush()
        except FlushError as error:
            error.resend(session)
    AsyncSession(transport=transport, cancel_grace=1.0)
    AsyncSession(transport=object())  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    await AsyncSession(client).close()


async def queries_and_transactions(session: AsyncSession) -> None:
    q = session.query(User, "a", begins_with("b"))
    assert_type(q, AsyncQuery[User])
    async for user in q.filter(User.path(lambda u: u.visits).gt(1)).reverse().limit(3):
        assert_type(user, User)
    assert_type(await q.first(), User | None)
    assert_type(await q.count(), int)
    page = await q.page()
    assert_type(page, Page[User])
    assert_type(session.scan(User, segments=2), AsyncScan[User])
    session.query(User, 1.5)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
    async with session.transaction() as tx:
        assert_type(tx, AsyncTransaction)
        tx.put(User(pk="a", sk="b", name="A"))
    async with session.read_transaction() as rt:
        assert_type(rt, AsyncReadTransaction)
        assert_type(rt.get(User, "a", "b"), Deferred[User])
    assert_type(await session.flush(atomic=True), FlushReport)
