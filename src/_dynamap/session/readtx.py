"""`ReadTransaction`: keys read together, as one consistent TransactGetItems.

Items go through the session's identity map: a key already loaded resolves to the
instance the session holds (the transaction still reads it, so that a cancellation
covers every key), a new one is decoded and tracked, a missing one resolves to None.
No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from typing_extensions import Self

from _dynamap.codec.values import Item
from _dynamap.core.engine import Ident
from _dynamap.core.report import FlushReport, Unprocessed
from _dynamap.core.retry import RetryPolicy
from _dynamap.core.transact import MAX_ACTIONS, TransactEngine
from _dynamap.errors import DynamapError, FlushError, UnprocessedError
from _dynamap.model.keys import KeyValue, key_values_by_name
from _dynamap.model.model import Model, model_info
from _dynamap.session.deferred import Deferred, fail, resolve
from _dynamap.session.state import decode_error
from _dynamap.session.txplan import Run, TxAction, cancellation, describe

if TYPE_CHECKING:
    from _dynamap.session.state import UnitOfWork

__all__ = ["ReadPlan", "ReadTransaction", "ReadTransactionKeys"]

M = TypeVar("M", bound=Model)
R = TypeVar("R")  # how the session runs a plan: `Run`, or the async session's

NEVER_SENT = "this read was never sent: its read transaction block was left by an exception"


def _not_yet() -> None:
    raise DynamapError("a read transaction's results are available once its block has ended")


@dataclass(eq=False)
class _Read:
    """One key of a read transaction, and the deferred of each model reading it."""

    action: TxAction
    readers: dict[type[Model], Deferred[Any]] = field(
        default_factory=dict[type[Model], "Deferred[Any]"]
    )


class ReadPlan:
    """The keys of one read transaction, its engine, and settling the deferreds after."""

    def __init__(self, state: UnitOfWork, reads: list[_Read]) -> None:
        self.state = state
        self.reads = reads
        self.engine: TransactEngine | None = None

    def start(self, policy: RetryPolicy, rng: Any, now: float) -> TransactEngine | None:
        """The engine of the TransactGetItems, or None if there is no key."""
        if not self.reads:
            return None
        items = [{"Get": {"TableName": r.action.ident[0], "Key": r.action.key}} for r in self.reads]
        self.engine = TransactEngine("TransactGetItems", items, policy=policy, rng=rng, start=now)
        return self.engine

    def settle(self) -> FlushReport:
        """Resolve every deferred; raise (failing them too) if the read did not happen."""
        engine = self.engine
        if engine is None:
            return FlushReport()
        if engine.outcome == "done":
            return self._done()
        error: FlushError
        actions = [r.action for r in self.reads]
        if engine.outcome == "cancelled":
            error = cancellation(actions, engine.reasons or [], kind="read transaction")
        else:
            error = UnprocessedError(
                f"read transaction of {len(actions)} keys not done: "
                f"{engine.why or (engine.error or 'rejected')}",
                unprocessed=[Unprocessed("get", a.ident[0], a.key) for a in actions],
            )
            if engine.error is not None:
                error.__cause__ = engine.error
        error.report = self._report(0, 0)
        self._fail(error)
        raise error

    def interrupted(self) -> None:
        """An exception cut the read short: resolve it if it was answered, else fail it."""
        if self.engine is not None and self.engine.outcome == "done":
            self._done()
        else:
            self._fail(DynamapError("this read transaction was interrupted before its answer"))

    def _fail(self, error: DynamapError) -> None:
        for read in self.reads:
            for deferred in read.readers.values():
                fail(deferred, error)

    def _done(self) -> FlushReport:
        assert self.engine is not None and self.engine.response is not None
        state = self.state
        answers: list[dict[str, Any]] = self.engine.response.get("Responses") or []
        found = 0
        for read, answer in zip(self.reads, answers, strict=False):
            item: Item | None = answer.get("Item")
            found += item is not None
            ident = read.action.ident
            for model, deferred in read.readers.items():
                existing = state.identity.get((model, ident[1]))
                if existing is not None:
                    resolve(deferred, existing.instance)
                elif item is None:
                    resolve(deferred, None)
                else:
                    info = model_info(model)
                    try:
                        resolve(deferred, state.load(info, ident, item))
                    except Exception as exc:  # this read's own failure, as in a flush
                        fail(deferred, decode_error(info, ident, exc))
        return self._report(found, len(self.reads) - found)

    def _report(self, found: int, missing: int) -> FlushReport:
        assert self.engine is not None
        return FlushReport(
            items_read=found,
            items_not_found=missing,
            requests=self.engine.stats.requests,
            retries=self.engine.stats.retries,
            consumed_capacity=dict(self.engine.stats.capacity),
            items_not_done=0 if self.engine.outcome == "done" else len(self.reads),
        )


class ReadTransactionKeys(Generic[R]):
    """What a read transaction block collects: the keys to read (no I/O).

    `ReadTransaction` (with) and `AsyncReadTransaction` (async with) add how it ends,
    calling `run` (the session's way to send a plan: sync, or a coroutine function).
    """

    def __init__(self, state: UnitOfWork, run: R) -> None:
        """Start collecting keys (sessions create read transactions).

        Args:
            state: the session's unit of work.
            run: how the session sends the plan and settles it.
        """
        self._state = state
        self._run = run
        self._reads: dict[Ident, _Read] = {}
        self._ended = False
        self.report: FlushReport | None = None

    def _end(self, exc_type: type[BaseException] | None) -> ReadPlan | None:
        """End the block: the plan to run, or None (its reads failed) after an exception."""
        if self._ended:
            return None
        self._ended = True
        plan = ReadPlan(self._state, list(self._reads.values()))
        if exc_type is None:
            return plan
        plan._fail(DynamapError(NEVER_SENT))  # pyright: ignore[reportPrivateUsage]
        return None

    def get(self, model: type[M], /, *key: KeyValue, **keys: KeyValue) -> Deferred[M]:
        """Read the item of `model` with this key in the transaction.

        Args:
            model: the model class to read the item into.
            *key: the partition key value, then the sort key value if the table has one.
            **keys: the key values by field name, instead of positionally.
        """
        if self._ended:
            raise DynamapError("this read transaction has ended: open a new one")
        info = model_info(model)
        table = self._state.table(info)
        if keys:
            key = key_values_by_name(info.name, info.key_attrs, info.attr_by_name, key, keys)
        wire_key, canonical = info.key_from_values(key)
        ident = (table, canonical)
        read = self._reads.get(ident)
        if read is None:
            if len(self._reads) >= MAX_ACTIONS:
                raise DynamapError(
                    f"read transaction: {describe(info, ident, wire_key)} would be key "
                    f"{len(self._reads) + 1}; a read transaction reads at most {MAX_ACTIONS} "
                    f"keys and is never split"
                )
            read = self._reads[ident] = _Read(TxAction("check", info, ident, wire_key))
        deferred = read.readers.get(model)
        if deferred is None:
            deferred = read.readers[model] = self._state.cell(_not_yet)
        return deferred


class ReadTransaction(ReadTransactionKeys[Run]):
    """Keys read all at once, as of one moment (TransactGetItems), at the end of the block.

    ```python
    with session.read_transaction() as rt:
        a = rt.get(Account, "acc#1")      # Deferred[Account]
        b = rt.get(Account, "acc#2")
    print(a.result(), b.result())
    ```

    A missing item resolves to None; items go through the session's identity map. At
    most 100 keys (DynamapError at the call). Leaving the block by an exception reads
    nothing, and the deferreds fail. `report` is the FlushReport once the block ended.
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
            self.report = self._run("read transaction", plan)
