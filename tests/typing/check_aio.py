# pyright: reportUnnecessaryTypeIgnoreComment=true
"""Static types of `dynamap.aio`, checked by mypy --strict and pyright (strict), never run.

As in check_types.py, lines that must be errors carry both checkers' ignore comments.
"""

from __future__ import annotations

from typing import Annotated, Any

from typing_extensions import assert_type

from dynamap import Deferred, FlushError, FlushReport, Model, PartitionKey, SortKey
from dynamap.aio import AsyncDeferred, AsyncSession, AsyncTransport


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
