"""Hydrating an index page: the full items of its keys, read through the session's gets.

Shared by both facades; each sends the pending gets its own way in between.
"""

from __future__ import annotations

from typing import Any

from _dynamap.core.cursor import QueryError
from _dynamap.errors import DynamapError, FlushError
from _dynamap.model.model import Model
from _dynamap.session.deferred import Deferred
from _dynamap.session.readrun import ReadRun
from _dynamap.session.state import UnitOfWork

__all__ = ["hydration_failed", "hydration_reads", "hydration_results"]


def hydration_reads(state: UnitOfWork, run: ReadRun) -> list[Deferred[Any]]:
    """Register a get of every key of the run's round (a key read already is not sent)."""
    info = run.spec.target.info
    consistent = run.spec.config.consistent
    return [state.get_key(info, ident, key, consistent, None) for ident, key in run.hydration()]


def hydration_results(run: ReadRun, reads: list[Deferred[Any]]) -> None:
    """Hand the settled gets to the run: instances, None, or each read's own error."""
    results: list[Model | Exception | None] = []
    for deferred in reads:
        try:
            results.append(deferred.result())
        except FlushError as exc:  # not read at all (out of attempts, rejected)
            raise hydration_failed(run, exc) from exc
        except DynamapError as exc:  # this item's own error (e.g. of another kind)
            results.append(exc)
    run.hydrated(results)


def hydration_failed(run: ReadRun, error: FlushError) -> QueryError:
    """The error for a round whose full items could not be read; its cursor resumes it."""
    failure = QueryError(
        f"{run.spec.target.where()}: the full items of an index page could not be read "
        f"({error}); resume with the error's cursor",
        code=type(error).__name__,
        cursor=run.cursor(),
    )
    failure.__cause__ = error
    return failure
