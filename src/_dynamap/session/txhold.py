"""Transactions and the requests a session stopped waiting for (its stragglers).

A request abandoned while in flight may still land. An ordinary flush holds back the
writes of its keys (`flush.py`); a transaction is never split, so one with an action on
such a key is not sent at all: it ends not done (`refuse_held`). And an abandoned write
transaction is remembered like any other straggler (`late_writes`): the next flush
waits for it and holds back the writes of its keys, so that it overwrites nothing newer.
"""

from __future__ import annotations

from collections.abc import Mapping

from _dynamap.core.engine import BatchRequest, Ident, Unit, WriteUnit
from _dynamap.core.transact import TransactEngine, TransactRequest
from _dynamap.session.txplan import TransactPlan, WritePlan, describe

__all__ = ["late_writes", "refuse_held"]


def refuse_held(
    plan: TransactPlan, engine: TransactEngine, in_flight: Mapping[Ident, WriteUnit]
) -> None:
    """Send nothing if a request still in flight writes a key of the transaction."""
    if not in_flight or not isinstance(plan, WritePlan):
        return
    held = [action for action in plan.actions if action.ident in in_flight]
    if held:
        first = held[0]
        engine.refuse(
            f"a request of an earlier flush that may still land is still in flight for "
            f"{len(held)} of its keys (first: {describe(first.info, first.ident, first.key)}); "
            f"nothing was sent: send it again once that request has ended"
        )


def late_writes(plan: TransactPlan, request: TransactRequest) -> BatchRequest | None:
    """An abandoned write transaction as a session's straggler: the writes it carries."""
    if not isinstance(plan, WritePlan):
        return None  # a read transaction landing late changes nothing
    units: list[Unit] = [action.unit for action in plan.actions if action.unit is not None]
    return BatchRequest("TransactWriteItems", request.params, units)
