"""`Transaction`: the block that collects writes and checks and sends them as one.

`with session.transaction() as tx:` registers actions; leaving the block cleanly
sends them as one TransactWriteItems (see `txplan.py`); leaving it by an exception
sends nothing.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar

from typing_extensions import Self

from _dynamap.core.engine import Ident, WriteUnit
from _dynamap.core.report import FlushReport
from _dynamap.core.retry import RetryPolicy
from _dynamap.drivers.threads import drive
from _dynamap.errors import DynamapError
from _dynamap.expr.conditions import Condition
from _dynamap.expr.updates import Update
from _dynamap.model.keys import KeyValue
from _dynamap.model.model import Model
from _dynamap.session.txhold import refuse_held
from _dynamap.session.txplan import (
    Run,
    TransactPlan,
    TxAction,
    WritePlan,
    add_action,
    check_action,
    write_action,
)
from _dynamap.transport.base import Transport

if TYPE_CHECKING:
    from _dynamap.session.state import UnitOfWork

__all__ = ["Transaction", "TransactionActions", "run_plan"]

R = TypeVar("R")  # how the session runs a plan: `Run`, or the async session's


def run_plan(
    plan: TransactPlan,
    transport: Transport,
    *,
    policy: RetryPolicy,
    rng: random.Random,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    linger: float,
    in_flight: Mapping[Ident, WriteUnit] | None = None,
) -> FlushReport:
    """Send a transaction plan on this thread (one request at a time) and settle it.

    `in_flight`: writes of earlier requests still in flight, by key; a transaction
    writing one of those keys is not sent (it ends not done).
    """
    engine = plan.start(policy, rng, clock())
    if engine is None:
        return FlushReport()
    if in_flight:
        refuse_held(plan, engine, in_flight)
    try:
        drive(
            engine,
            transport,
            pool=None,
            concurrency=1,
            absorb=_idle,
            clock=clock,
            sleep=sleep,
            linger=linger,
        )
    except BaseException:
        plan.interrupted()  # what is known is settled; the exception propagates
        raise
    return plan.settle()


def _idle() -> None:
    """Nothing to absorb while a transaction is in flight."""


class TransactionActions(Generic[R]):
    """What a transaction block collects: puts, updates, deletes and checks (no I/O).

    `Transaction` (with) and `AsyncTransaction` (async with) add how the block ends,
    calling `run` (the session's way to send a plan: sync, or a coroutine function).
    """

    def __init__(self, state: UnitOfWork, run: R) -> None:
        """Start collecting actions (sessions create transactions).

        Args:
            state: the session's unit of work.
            run: how the session sends the plan and settles it.
        """
        self._state = state
        self._run = run
        self._actions: list[TxAction] = []
        self._ended = False
        self.report: FlushReport | None = None

    def _end(self, exc_type: type[BaseException] | None) -> WritePlan | None:
        """End the block: the plan to send, or None (left by an exception, or ended)."""
        if self._ended:
            return None
        self._ended = True
        return None if exc_type is not None else WritePlan(self._state, self._actions, atomic=False)

    def _add(self, action: TxAction) -> None:
        if self._ended:
            raise DynamapError("this transaction has ended: open a new one")
        add_action(self._actions, action)

    def put(self, instance: Model, *, condition: Condition | None = None) -> None:
        """Write `instance` (replacing the whole item) with the transaction.

        Args:
            instance: the model instance to store.
            condition: write only if the stored item meets it, e.g. `not_exists()` of the
                partition key; if it does not, the whole transaction is cancelled.
        """
        self._add(write_action(self._state, "put", instance, condition))

    def update(
        self, instance: Model, update: Update, /, *, condition: Condition | None = None
    ) -> None:
        """Apply update actions to `instance`'s item with the transaction.

        The instance's unsaved changes go along. TransactWriteItems returns no item, so
        the instance is not refreshed with the result: read it again to see it.

        Args:
            instance: a model instance (its key says which item).
            update: the actions, e.g. `Account.path(lambda a: a.balance).add(-12)`.
            condition: apply only if the stored item meets it.
        """
        self._add(write_action(self._state, "update", instance, condition, update))

    def delete(self, instance: Model, *, condition: Condition | None = None) -> None:
        """Delete the item with `instance`'s key with the transaction.

        Args:
            instance: the model instance whose item to delete.
            condition: delete only if the stored item meets it.
        """
        self._add(write_action(self._state, "delete", instance, condition))

    def check(self, model: type[Model], /, *key: KeyValue, condition: Condition) -> None:
        """Require the item of `model` with this key to meet `condition`, writing nothing.

        Args:
            model: the model class whose table holds the item.
            *key: the partition key value, then the sort key value if the table has one.
            condition: what the stored item must meet, or the transaction is cancelled.
        """
        self._add(check_action(self._state, model, key, condition))


class Transaction(TransactionActions[Run]):
    """Writes and checks that are applied all together or not at all (TransactWriteItems).

    ```python
    with session.transaction() as tx:
        tx.put(order, condition=Order.path(lambda o: o.pk).not_exists())
        tx.update(account, Account.path(lambda a: a.balance).add(-12))
        tx.check(Inventory, "sku#1", condition=Inventory.path(lambda i: i.stock).gt(0))
        tx.delete(cart)
    ```

    Leaving the block cleanly sends one TransactWriteItems; leaving it by an exception
    sends nothing. At most 100 actions, one per item (a check included), and at most
    4 MB of items: each limit is a DynamapError at the call or before sending, and a
    transaction is never split. A cancelled transaction raises TransactionCanceledError
    with one reason per action. Versioned instances carry their version condition.
    The session's snapshots, versions and identity map change only once the
    transaction is applied; its pending work is not part of it. `report` is the
    FlushReport once the block has ended.
    """

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        plan = self._end(exc_type)
        if plan is not None:
            self.report = self._run("transaction", plan)
