"""`Session`: a unit of work that batches gets and writes and flushes them together."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from types import TracebackType
from typing import Any, Literal, TypeVar, cast

from pydantic import ValidationError
from typing_extensions import Self

from ._deferred import Deferred, fail, resolve
from ._driver import drive
from ._engine import FlushEngine, GetUnit, Ident, TableRead, Unit, WriteUnit
from ._errors import (
    DecodeError,
    DynamapError,
    FlushError,
    ItemTooLargeError,
    ModelDefinitionError,
    RequestRejectedError,
    TableNotFoundError,
    UnprocessedError,
)
from ._gcpause import paused_gc
from ._model import CanonicalKey, Model, ModelInfo, canonical_value, model_info
from ._names import render_projection
from ._report import FlushReport, Unprocessed
from ._retry import RetryPolicy
from ._size import too_large
from ._transport import Boto3Transport, Transport
from ._values import Item

__all__ = ["KeyValue", "Session"]

log = logging.getLogger("dynamap")

M = TypeVar("M", bound=Model)
_MAX_EXPRESSION = 4096  # DynamoDB's limit on any expression string, in bytes
KeyValue = str | int | Decimal | bytes
"""A primary-key value: str (S), int or Decimal (N), bytes (B)."""


@dataclass(eq=False, slots=True)
class _Entry:
    """An instance in the identity map; `snapshot` is its state as last read or written."""

    instance: Model
    info: ModelInfo
    ident: Ident
    snapshot: tuple[Any, ...] | None


@dataclass(eq=False, slots=True)
class _PendingGet:
    key: Item
    consistent: bool
    readers: dict[type[Model], Deferred[Any]] = field(
        default_factory=dict[type[Model], "Deferred[Any]"]
    )


@dataclass(eq=False, slots=True)
class _PendingWrite:
    operation: Literal["put", "delete"]
    instance: Model
    info: ModelInfo
    key: Item
    snapshot: tuple[Any, ...] | None = None  # the state being written, once planned


class Session:
    """Collects gets, puts and deletes and sends them as batched, concurrent calls.

    ```python
    with Session(boto3.client("dynamodb")) as session:
        user = session.get(User, "u#1", "profile")
        session.put(Order(pk="o#9", total=12))
    print(user.result())
    ```

    Leaving the block normally flushes what is pending; leaving it by an
    exception sends no pending write. A table that has both consistent and
    eventually consistent gets in one flush is read strongly consistent.
    A session is not thread-safe: use one per thread or task.

    During a flush the cyclic garbage collector is paused (reference counting
    still frees memory) and restored afterwards; `pause_gc=False` opts out.
    """

    def __init__(
        self,
        client: Any = None,
        *,
        transport: Transport | None = None,
        table_prefix: str = "",
        concurrency: int = 4,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        pause_gc: bool = True,
    ) -> None:
        if transport is None:
            if client is None:
                raise TypeError("Session needs a boto3 DynamoDB client or a transport")
            transport = Boto3Transport(client)
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.transport: Transport = transport
        self.table_prefix: str = table_prefix
        self.concurrency: int = concurrency
        self.retry: RetryPolicy = retry or RetryPolicy()
        self.pause_gc: bool = pause_gc
        self._rng = rng or random.Random()
        self._clock = clock
        self._sleep = sleep
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False
        self._identity: dict[tuple[type[Model], CanonicalKey], _Entry] = {}
        self._deleted: set[Ident] = set()
        self._gets: dict[Ident, _PendingGet] = {}
        self._writes: dict[Ident, _PendingWrite] = {}
        self._table_keys: dict[str, tuple[tuple[str, ...], str]] = {}
        self._table_models: dict[str, set[type[Model]]] = {}  # every model seen per table

    # -- context management -----------------------------------------------------------------

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.flush()
            else:
                log.debug("session left by %s: %d write(s) not sent", exc_type, len(self._writes))
        finally:
            self.close()

    def close(self) -> None:
        """Discard pending work without sending it and release the worker threads."""
        self._closed = True
        never = DynamapError("this read was never sent: its session closed before a flush")
        for pending in self._gets.values():
            for deferred in pending.readers.values():
                fail(deferred, never)
        self._gets.clear()
        self._writes.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _check_open(self) -> None:
        if self._closed:
            raise DynamapError("this session is closed")

    # -- registering work -------------------------------------------------------------------

    def _table(self, info: ModelInfo) -> str:
        table = self.table_prefix + info.require_table()
        keys = tuple(k.attr for k in info.key_attrs)
        known = self._table_keys.setdefault(table, (keys, info.name))
        if known[0] != keys:
            raise ModelDefinitionError(
                f"{info.name} and {known[1]} both map to table {table!r} with different keys "
                f"({', '.join(keys)} vs {', '.join(known[0])})"
            )
        self._table_models.setdefault(table, set()).add(info.model)
        return table

    def get(self, model: type[M], *key: KeyValue, consistent: bool = False) -> Deferred[M]:
        """Read the item of `model` with this key (partition key, then sort key) at flush.

        Returns a deferred result that resolves to the instance or None. Within a
        session each key maps to one instance per model class, and keys already
        loaded, put or deleted are answered without a request.
        """
        self._check_open()
        info = model_info(model)
        table = self._table(info)
        wire_key, canonical = info.key_from_values(key)
        ident = (table, canonical)
        entry = self._identity.get((model, canonical))
        if entry is not None:
            return self._ready(cast(M, entry.instance))
        if ident in self._deleted:
            return self._ready(None)
        write = self._writes.get(ident)
        if write is not None and write.operation == "put":
            # Another model of the same table was put: read this one from that item.
            item = write.info.codec.encode(write.instance)
            return self._ready(cast(M, self._load(info, ident, item)))
        pending = self._gets.get(ident)
        if pending is None:
            pending = self._gets[ident] = _PendingGet(wire_key, consistent)
        pending.consistent = pending.consistent or consistent
        deferred = pending.readers.get(model)
        if deferred is None:
            deferred = pending.readers[model] = Deferred(self._flush_gets)
        return deferred

    @staticmethod
    def _ready(value: M | None) -> Deferred[M]:
        deferred: Deferred[M] = Deferred()
        resolve(deferred, value)
        return deferred

    def put(self, instance: Model) -> None:
        """Write `instance` (replacing the whole item) at the next flush.

        The key is checked now. The item is encoded at flush, with every other
        write, before anything is sent: a value DynamoDB would reject (NaN, an
        item over 400 KB) fails the flush and sends nothing.
        """
        ident, canonical = self._register_write("put", instance)
        self._deleted.discard(ident)
        slot = (type(instance), canonical)
        entry = self._identity.get(slot)
        if entry is None or entry.instance is not instance:
            info = self._writes[ident].info
            self._identity[slot] = _Entry(instance, info, ident, entry.snapshot if entry else None)

    def delete(self, instance: Model) -> None:
        """Delete the item with `instance`'s key at the next flush."""
        ident, canonical = self._register_write("delete", instance)
        self._deleted.add(ident)
        for model in self._table_models[ident[0]]:
            self._identity.pop((model, canonical), None)

    def _register_write(
        self, operation: Literal["put", "delete"], instance: Model
    ) -> tuple[Ident, CanonicalKey]:
        """Queue a write (replacing any earlier one for the key) and return its identity."""
        self._check_open()
        info = model_info(type(instance))
        table = self._table(info)
        key, canonical = info.key_of(instance)
        ident = (table, canonical)
        self._writes[ident] = _PendingWrite(operation, instance, info, key)
        return ident, canonical

    # -- flushing ---------------------------------------------------------------------------

    def flush(self) -> FlushReport:
        """Send every pending get and write, and changes to loaded instances.

        Raises a FlushError subclass if anything could not be done; its
        `unprocessed` lists exactly what was not done. Everything else was.
        """
        self._check_open()
        return self._flush(include_writes=True)

    def _flush_gets(self) -> None:
        self._check_open()
        self._flush(include_writes=False)

    def _flush(self, *, include_writes: bool) -> FlushReport:
        with paused_gc(self.pause_gc):  # planning allocates as much as answering
            writes = self._plan_writes() if include_writes else {}
            gets = dict(self._gets)
            if not gets and not writes:
                return FlushReport()
            engine = FlushEngine(
                gets=[GetUnit(ident[0], p.key, ident) for ident, p in gets.items()],
                writes=[unit for unit, _ in writes.values()],
                reads=self._plan_reads(gets),
                key_of=self._key_of,
                policy=self.retry,
                rng=self._rng,
                start=self._clock(),
            )
            for ident in gets:
                del self._gets[ident]
            for ident in writes:
                self._writes.pop(ident, None)
            try:
                if self._pool is None and self.concurrency > 1:
                    self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="dynamap")
                drive(
                    engine,
                    self.transport,
                    pool=self._pool,
                    concurrency=self.concurrency,
                    absorb=partial(self._absorb, engine, gets),
                    clock=self._clock,
                    sleep=self._sleep,
                )
                return self._settle(engine, gets, writes)
            finally:
                # Drop the flush's working set while the collector is still paused, or
                # its first pass would traverse every encoded item and unit for nothing.
                del engine, gets, writes

    def _key_of(self, table: str, item: Item) -> Ident:
        attrs = self._table_keys[table][0]
        return table, tuple(canonical_value(item[a]) for a in attrs)

    def _plan_reads(self, gets: dict[Ident, _PendingGet]) -> dict[str, TableRead]:
        models: dict[str, dict[type[Model], None]] = {}
        consistent: dict[str, bool] = {}
        for (table, _), pending in gets.items():
            models.setdefault(table, {}).update(dict.fromkeys(pending.readers))
            consistent[table] = consistent.get(table, False) or pending.consistent
        reads: dict[str, TableRead] = {}
        for table, readers in models.items():
            names = dict.fromkeys(self._table_keys[table][0])
            for model in readers:
                names.update(dict.fromkeys(model_info(model).attributes))
            projection = render_projection(names)
            # Too long to send (several wide views of one table): read whole items.
            too_long = len(projection.expression.encode()) > _MAX_EXPRESSION
            reads[table] = TableRead(None if too_long else projection, consistent[table])
        return reads

    def _plan_writes(self) -> dict[Ident, tuple[WriteUnit, _PendingWrite]]:
        """Encode every write before anything is sent, so bad data fails the flush early."""
        planned: dict[Ident, tuple[WriteUnit, _PendingWrite]] = {}
        for ident, write in self._writes.items():
            if write.operation == "delete":
                request: dict[str, Any] = {"DeleteRequest": {"Key": write.key}}
            else:
                item = _encode(write.info, write.instance, write.key)
                write.snapshot = write.info.codec.snapshot(write.instance)
                request = {"PutRequest": {"Item": item}}
            planned[ident] = (WriteUnit(ident[0], request, ident), write)
        dirty_by: dict[Ident, str] = {}
        for entry in self._identity.values():
            if entry.snapshot is None or entry.ident in self._deleted:
                continue
            explicit = self._writes.get(entry.ident)
            if explicit is not None and explicit.instance is entry.instance:
                continue  # already planned from put()
            snapshot = entry.info.codec.snapshot(entry.instance)
            if snapshot == entry.snapshot:
                continue
            if entry.ident in planned:
                other = dirty_by.get(entry.ident) or planned[entry.ident][1].info.name
                raise DynamapError(
                    f"{entry.info.name} and {other} instances of key {entry.ident[1]!r} in "
                    f"table {entry.ident[0]!r} would both be written; put only one of them"
                )
            key, _ = entry.info.key_of(entry.instance)
            item = _encode(entry.info, entry.instance, key)
            write = _PendingWrite("put", entry.instance, entry.info, key, snapshot)
            unit = WriteUnit(entry.ident[0], {"PutRequest": {"Item": item}}, entry.ident)
            planned[entry.ident] = (unit, write)
            dirty_by[entry.ident] = entry.info.name
        return planned

    def _load(self, info: ModelInfo, ident: Ident, item: Item) -> Model:
        instance: Model = info.codec.decode(item)
        snapshot = info.codec.snapshot(instance)
        self._identity[(info.model, ident[1])] = _Entry(instance, info, ident, snapshot)
        return instance

    def _absorb(self, engine: FlushEngine, gets: dict[Ident, _PendingGet]) -> None:
        """Decode the items read so far into instances and settle their deferreds."""
        found, engine.found = engine.found, {}
        for ident, item in found.items():
            for model, deferred in gets[ident].readers.items():
                existing = self._identity.get((model, ident[1]))
                if existing is not None:
                    resolve(deferred, existing.instance)
                    continue
                info = model_info(model)
                try:
                    resolve(deferred, self._load(info, ident, item))
                except ValidationError as exc:
                    fail(
                        deferred,
                        DecodeError(f"{info.name} item {ident[1]!r} in {ident[0]!r}: {exc}"),
                    )

    def _settle(
        self,
        engine: FlushEngine,
        gets: dict[Ident, _PendingGet],
        writes: dict[Ident, tuple[WriteUnit, _PendingWrite]],
    ) -> FlushReport:
        """Hand results to deferreds and the identity map; raise for what was not done."""
        self._absorb(engine, gets)
        for ident in engine.missing:
            for deferred in gets[ident].readers.values():
                resolve(deferred, None)
        puts = deletes = 0
        for unit in engine.written:
            if unit.kind == "delete":
                deletes += 1
                continue
            puts += 1
            write = writes[unit.ident][1]
            entry = self._identity.get((type(write.instance), unit.ident[1]))
            if entry is not None and entry.instance is write.instance:
                entry.snapshot = write.snapshot
        report = FlushReport(
            items_read=engine.stats.found,
            items_not_found=engine.stats.missing,
            items_written=puts,
            items_deleted=deletes,
            requests=engine.stats.requests,
            retries=engine.stats.retries,
            consumed_capacity=dict(engine.stats.capacity),
        )
        unfinished = engine.unfinished()
        if engine.fatal is None and not unfinished:
            return report
        error = self._flush_error(engine, unfinished, writes, report)
        for undone in unfinished:
            if isinstance(undone, GetUnit):
                for deferred in gets[undone.ident].readers.values():
                    fail(deferred, error)
        raise error

    def _flush_error(
        self,
        engine: FlushEngine,
        unfinished: list[Unit],
        writes: dict[Ident, tuple[WriteUnit, _PendingWrite]],
        report: FlushReport,
    ) -> FlushError:
        unprocessed: list[Unprocessed] = []
        for unit in unfinished:
            if isinstance(unit, GetUnit):
                unprocessed.append(Unprocessed("get", unit.table, unit.key))
                continue
            write = writes[unit.ident][1]
            item = unit.request["PutRequest"]["Item"] if unit.kind == "put" else None
            unprocessed.append(Unprocessed(unit.kind, unit.table, write.key, item, write.instance))
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
                f"{fatal.code}: {fatal.message} ({len(unprocessed)} key(s)/item(s) not done)",
                operation=request.operation,
                tables=tables,
                code=fatal.code,
                unprocessed=unprocessed,
            )
            error.__cause__ = fatal
        else:
            error = UnprocessedError(
                f"{len(unprocessed)} key(s)/item(s) were still unprocessed when the retry "
                f"budget ran out ({self.retry.max_attempts} attempts, "
                f"{self.retry.deadline:g}s deadline)",
                unprocessed=unprocessed,
            )
        error.report = report
        return error


def _encode(info: ModelInfo, instance: Model, key: Item) -> Item:
    """Encode a write, naming its key in the error when the item is too large."""
    try:
        return info.codec.encode_checked(instance)
    except ItemTooLargeError as exc:
        raise too_large(exc.size, f"{info.name} item {key}") from None
