"""Transactions and the requests a session stopped waiting for (its stragglers).

A request abandoned while in flight may still land. An ordinary flush holds back the
writes of its keys (`flush.py`); a transaction is never split, so one with an action on
such a key is not sent at all: it ends not done (`refuse_held`).
"""

from __future__ import annotations

from collections.abc import Mapping

from _dynamap.core.engine import Ident, WriteUnit
from _dynamap.core.transact import TransactEngine
from _dynamap.session.txplan import TransactPlan, WritePlan, describe

__all__ = ["refuse_held"]


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
