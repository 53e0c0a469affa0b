"""What a failed flush hands back: writes not done or of unknown outcome, failed conditions.

Builds the `Unprocessed` and `ConditionFailure` entries and the one `FlushError` a
flush raises, with a message saying why. No I/O here.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Mapping
from typing import Any

from _dynamap.core.engine import FlushEngine, GetUnit, Ident, Unit, WriteUnit
from _dynamap.core.report import ConditionFailure, FlushReport, Unprocessed
from _dynamap.core.retry import RetryPolicy
from _dynamap.errors import (
    ConditionFailedError,
    FlushError,
    RequestRejectedError,
    StaleDataError,
    TableNotFoundError,
    UnprocessedError,
)
from _dynamap.expr.conditions import Function
from _dynamap.expr.paths import AttrPath
from _dynamap.session.state import PendingWrite
from _dynamap.transport.wire import as_item

__all__ = ["INTERRUPTED", "condition_failure", "flush_error", "handed_back", "resendable"]


def condition_failure(unit: WriteUnit, write: PendingWrite) -> ConditionFailure:
    """What a write whose condition was false met: the stored item, decoded if it can be."""
    info, stored = write.info, unit.current
    current: Any = None
    if stored is not None:
        with contextlib.suppress(Exception):  # an item that does not decode: None
            current = info.codec.decode(stored)
    stale = False
    if write.version is not None and info.version is not None:
        found = (stored or {}).get(info.version.attr, {}).get("N")
        expected = None if write.expected is None else str(write.expected)
        stale = stored is None or found != expected
    return ConditionFailure(
        unit.kind,
        unit.table,
        write.key,
        write.instance,
        current,
        stored,
        write.condition,
        stale,
    )


def handed_back(unit: Unit, writes: Mapping[Ident, tuple[WriteUnit, PendingWrite]]) -> Unprocessed:
    """A unit not done or of unknown outcome, as the error hands it back."""
    if isinstance(unit, GetUnit):
        return Unprocessed("get", unit.table, unit.key)
    write = writes[unit.ident][1]
    if unit.single:
        item = unit.request.get("Item")
    else:
        item = as_item(unit.request["PutRequest"]["Item"]) if unit.kind == "put" else None
    condition = write.condition
    if write.write_back and unit.kind == "update":
        # Resent as `session.update`, it must still not recreate a deleted item.
        partition_key: AttrPath[Any] = AttrPath(write.info.key_attrs[0].attr)
        condition = Function("attribute_exists", partition_key)
    again = None
    if unit.kind == "delete" and write.instance is not None and write.key_values is not None:
        again = write.instance.model_copy(update=write.key_values)
    return Unprocessed(
        unit.kind,
        unit.table,
        write.key,
        item,
        write.instance,
        condition,
        write.update,
        resendable(unit, write),
        again,
        write.baseline if write.write_back else None,
    )


def flush_error(
    engine: FlushEngine,
    policy: RetryPolicy,
    *,
    held: int,
    report: FlushReport,
    unprocessed: list[Unprocessed],
    doubtful: list[Unprocessed],
    failures: list[ConditionFailure],
) -> FlushError:
    """The error for the flush: a rejection first, then failed conditions, else the rest.

    Whichever class is raised, the error lists all three: `unprocessed`, `unknown`
    and `failures`.
    """
    counts = (
        f"{len(unprocessed)} key(s)/item(s) not done, "
        f"{len(doubtful)} write(s) of unknown outcome, "
        f"{len(failures)} write(s) whose condition failed"
    )
    fatal, request = engine.fatal, engine.fatal_request
    if fatal is not None and request is not None:
        cls = (
            TableNotFoundError
            if fatal.code == "ResourceNotFoundException"
            else RequestRejectedError
        )
        tables = request.tables
        error: FlushError = cls(
            f"{request.operation} on table {', '.join(map(repr, tables))} was rejected: "
            f"{fatal.code}: {fatal.message} ({counts})",
            operation=request.operation,
            tables=tables,
            code=fatal.code,
            unprocessed=unprocessed,
            unknown=doubtful,
            failures=failures,
        )
        error.__cause__ = fatal
    elif failures:
        stale = all(f.stale for f in failures)
        failed: type[ConditionFailedError] = StaleDataError if stale else ConditionFailedError
        what = "; ".join(_failed(f) for f in failures[:3])
        more = f" and {len(failures) - 3} more" if len(failures) > 3 else ""
        why = _why(engine, policy, held)
        error = failed(
            f"{counts}: {what}{more}" + (f"; {'; '.join(why)}" if why else ""),
            unprocessed=unprocessed,
            unknown=doubtful,
            failures=failures,
        )
    else:
        error = UnprocessedError(
            f"{counts}: {'; '.join(_why(engine, policy, held))}",
            unprocessed=unprocessed,
            unknown=doubtful,
        )
    error.report = report
    return error


def _why(engine: FlushEngine, policy: RetryPolicy, held: int) -> list[str]:
    """Why units were given up on, one clause per reason, for the error message."""
    reasons: list[str] = []
    if engine.exhausted:
        reasons.append(
            f"{len(engine.exhausted)} used all {policy.max_attempts} attempts "
            f"(last error: {_errors(engine.exhausted)})"
        )
    if engine.expired:
        never = sum(1 for unit in engine.expired if unit.attempts == 0)
        tried = [unit for unit in engine.expired if unit.attempts > 0]
        clause = f"{len(engine.expired)} were waiting when the {policy.deadline:g}s deadline passed"
        if tried:
            most = max(unit.attempts for unit in tried)
            clause += f" after at most {most} attempt(s) (last error: {_errors(tried)})"
        if never:
            clause += f"; {never} of them were never sent"
        reasons.append(clause)
    if engine.abandoned:
        reasons.append(
            f"{len(engine.abandoned)} got no answer: their request was still in flight "
            "when the flush stopped waiting"
        )
    if engine.unclear:
        reasons.append(
            f"{len(engine.unclear)} conditional or update write(s) got an unclear answer "
            "and were not sent again (they may have been applied)"
        )
    if engine.unsent:
        reasons.append(f"{len(engine.unsent)} were never sent: no worker became free in time")
    if held:
        reasons.append(
            f"{held} write(s) held back: a request for the same key, which an "
            "earlier flush stopped waiting for, may still be in flight"
        )
    return reasons


INTERRUPTED = (
    "this write's flush was interrupted after it was sent without an answer: it may or "
    "may not have been applied, and is not sent again (read the item to know)"
)


def resendable(unit: WriteUnit, write: PendingWrite) -> bool:
    """True for a write that may be sent twice: no condition of its own, no version, and
    no action that counts (ADD, arithmetic, list_append)."""
    return write.condition is None and write.version is None and unit.retry_unclear


def _failed(failure: ConditionFailure) -> str:
    state = "stale version" if failure.stale else "condition false"
    return f"{failure.operation} of {failure.key} in {failure.table!r}: {state}"


def _errors(units: list[Unit]) -> str:
    """The last errors of `units`, most frequent first."""
    counts = Counter(unit.error or "none" for unit in units)
    return ", ".join(error for error, _ in counts.most_common(3))
