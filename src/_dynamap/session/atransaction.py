"""Transactions of an `AsyncSession`: `async with session.transaction() as tx: ...`.

The actions, the plan, the limits and the settling are the sync ones' (`transaction.py`,
`readtx.py`, `txplan.py`); only sending the one request is awaited.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING

from typing_extensions import Self

from _dynamap.core.engine import Ident, WriteUnit
from _dynamap.core.report import FlushReport
from _dynamap.core.retry import RetryPolicy
from _dynamap.core.transact import TransactRequest
from _dynamap.drivers.aio import AsyncStragglers, drive
from _dynamap.session.readtx import ReadTransactionKeys
from _dynamap.session.transaction import TransactionActions
from _dynamap.session.txhold import refuse_held
from _dynamap.session.txplan import TransactPlan
from _dynamap.transport.asyncbase import AsyncTransport

if TYPE_CHECKING:
    pass

__all__ = ["AsyncReadTransaction", "AsyncRun", "AsyncTransaction", "run_plan_async"]

AsyncRun = Callable[[str, TransactPlan], Awaitable[FlushReport]]  # the facade's way to run


async def run_plan_async(
    plan: TransactPlan,
    transport: AsyncTransport,
    *,
    policy: RetryPolicy,
    rng: random.Random,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[object]],
    linger: float,
    grace: float,
    in_flight: Mapping[Ident, WriteUnit] | None = None,
    stragglers: AsyncStragglers[TransactRequest] | None = None,
) -> FlushReport:
    """Send a transaction plan (one request, retried with its token) and settle it.

    `in_flight`: writes of earlier requests still in flight, by key; a transaction
    writing one of those keys is not sent (it ends not done). An attempt abandoned
    in flight goes on in the background, into `stragglers`.
    """
    engine = plan.start(policy, rng, clock())
    if engine is None:
        return FlushReport()
    if in_flight:
        refuse_held(plan, engine, in_flight)
    try:
        await drive(
            engine,
            transport,
            concurrency=1,
            absorb=_idle,
            clock=clock,
            sleep=sleep,
            linger=linger,
            grace=grace,
            stragglers=stragglers,
        )
    except BaseException:
        plan.interrupted()  # what is known is settled; CancelledError propagates
        raise
    return plan.settle()


def _idle() -> None:
    """Nothing to absorb while a transaction is in flight."""


class AsyncTransaction(TransactionActions[AsyncRun]):
    """`Transaction` for an `AsyncSession`: one TransactWriteItems when the block ends.

    ```python
    async with session.transaction() as tx:
        tx.put(order, condition=Order.path(lambda o: o.pk).not_exists())
        tx.update(account, Account.path(lambda a: a.balance).add(-12))
    ```

    Leaving the block by an exception sends nothing. Everything else is as `Transaction`.
    """

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        plan = self._end(exc_type)
        if plan is not None:
            self.report = await self._run("transaction", plan)


class AsyncReadTransaction(ReadTransactionKeys[AsyncRun]):
    """`ReadTransaction` for an `AsyncSession`: one TransactGetItems when the block ends.

    ```python
    async with session.read_transaction() as rt:
        a = rt.get(Account, "acc#1")
    print(a.result())
    ```
    """

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        plan = self._end(exc_type)
        if plan is not None:
            self.report = await self._run("read transaction", plan)
