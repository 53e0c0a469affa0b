"""Adversarial reads straight into models (codec/wireread.py) through the fault proxy.

Flushes of hundreds of gets of a model that has a reader, on the fast transports (sync
Session at concurrency 1 and 4, and AsyncSession), with keys withheld, throttles, server
errors, dropped connections and corrupted bodies: every get resolves once to what is
stored (checked against a direct scan), or fails with a clear error; a corrupted body
never decodes. Hostile attribute names and numbers at DynamoDB's limits read back
exactly; items another client wrote as other types fail alone; a table read as two
models (no reader) shares a flush with one read by a reader.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Annotated, Any

import pytest

from _dynamap.codec.wireread import ItemReader
from dynamap import (
    Attr,
    DecodeError,
    Model,
    PartitionKey,
    RetryPolicy,
    Session,
    SortKey,
    from_item,
    to_item,
)
from tests.support.faultproxy import Corrupt, DropAfter, DropBefore, FaultPlan, ServerError
from tests.support.tables import create_tables, scan_all

# Every test runs for Session and for AsyncSession (tests/conftest.py: session_flavor).
pytestmark = pytest.mark.usefixtures("session_flavor")

PATIENT = RetryPolicy(max_attempts=25, base_delay=0.005, max_delay=0.05, deadline=60.0)
FAULTS = FaultPlan(
    withhold=0.3, throttle=0.1, server_error=0.05, drop_before=0.02, drop_after=0.02, seed=11
)
ODD = 'ü名 "q" \\ \u2028 𝄞'


class Typed(Model, table="tr-typed"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[int, SortKey()]
    label: str
    value: float
    exact: Decimal
    ok: bool
    tags: set[str]
    history: list[int]
    extra: dict[str, Any] = {}
    note: str | None = None
    at: dt.datetime


class Hostile(Model, table="tr-hostile"):
    pk: Annotated[str, PartitionKey(), Attr("#p.k ü")]
    size: Annotated[str, Attr("size")]  # a reserved word
    hash: Annotated[int, Attr("#n.:x")]
    dotted: Annotated[float, Attr("a.b[0]")]
    uni: Annotated[Decimal, Attr("ü名 {n} \u2028")]
    quote: Annotated[bool, Attr('a"b\\c')]
    names: Annotated[set[str], Attr("S")]  # an attribute named like a type tag
    big: int = 0
    tiny: Decimal = Decimal(0)
    huge: float = 0.0


class Left(Model, table="tr-shared"):
    pk: Annotated[str, PartitionKey()]
    a: str = ""


class Right(Model, table="tr-shared"):
    pk: Annotated[str, PartitionKey()]
    b: int = 0


def typed(i: int) -> Typed:
    return Typed(
        pk=f"p{i % 7}{ODD}",
        sk=i,
        label=f"label {i} {ODD}",
        value=i / 7,
        exact=Decimal(i).scaleb(-3),
        ok=i % 2 == 0,
        tags={f"t{i}", "all", ODD},
        history=list(range(i % 5 + 1)),
        extra={"i": i, "nested": {"on": True, "list": ["a", i]}} if i % 4 else {},
        note=None if i % 3 else f"note {i}",
        at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=i),
    )


@pytest.fixture
def fast_only(dynamap_transport: str) -> None:
    if dynamap_transport != "fast":
        pytest.skip("answers are read straight into models by the fast transports only")


@pytest.fixture
def tables(direct_client, table_prefix, fast_only):
    create_tables(direct_client, table_prefix, Typed, Hostile, Left)
    return table_prefix


@pytest.fixture
def built(monkeypatch) -> list[Any]:
    """Every instance an ItemReader builds in this test."""
    seen: list[Any] = []
    instance = ItemReader.instance

    def spy(self: ItemReader, item: Any) -> Any:
        seen.append(made := instance(self, item))
        return made

    monkeypatch.setattr(ItemReader, "instance", spy)
    return seen


def put_all(client: Any, table: str, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), 25):
        chunk = items[start : start + 25]
        client.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": i}} for i in chunk]})


def stored(direct_client: Any, table: str, model: type[Model]) -> dict[Any, Any]:
    """The table's items decoded the general way, by key (as written, not via the proxy)."""
    out: dict[Any, Any] = {}
    for item in scan_all(direct_client, table):
        instance = from_item(model, item)
        out[
            tuple(getattr(instance, k) for k in ("pk", "sk") if k in type(instance).model_fields)
        ] = instance
    return out


@pytest.mark.parametrize("concurrency", [1, 4])
def test_reads_under_faults_resolve_once_to_what_is_stored(
    proxy, proxy_client, direct_client, tables, built, concurrency
):
    table = tables + "tr-typed"
    written = [typed(i) for i in range(400)]
    put_all(direct_client, table, [to_item(w) for w in written])
    truth = stored(direct_client, table, Typed)
    assert len(truth) == 400
    keys = [(w.pk, w.sk) for w in written] + [(f"gone{i}", i) for i in range(40)]
    random.Random(concurrency).shuffle(keys)
    proxy.set_plan(FAULTS)
    proxy.enqueue(Corrupt(), DropAfter(), Corrupt(), DropBefore(), ServerError(), Corrupt())
    with Session(proxy_client, table_prefix=tables, retry=PATIENT, concurrency=concurrency) as s:
        deferred = {key: s.get(Typed, *key) for key in keys}
        report = s.flush()
        assert (report.items_read, report.items_not_found) == (400, 40)
        for key, d in deferred.items():
            got = d.result()
            if key[0].startswith("gone"):
                assert got is None
            else:
                assert got == truth[key], key
                assert (got.pk, got.sk) == key
                # The same instance again: tracked once.
                assert s.get(Typed, *key).result() is got
    assert proxy.counts.faults["corrupt"] == 3
    assert proxy.counts.withheld["BatchGetItem"] > 0
    assert proxy.counts.faults["throttle"] + proxy.counts.faults["server_error"] > 0
    # Read straight into models, each once: none of a corrupted answer, none twice.
    assert len(built) == 400 and len({id(b) for b in built}) == 400
    assert {id(b) for b in built} == {id(d.result()) for d in deferred.values() if d.result()}


def test_a_corrupted_body_never_decodes(proxy, proxy_client, direct_client, tables, built):
    table = tables + "tr-typed"
    written = [typed(i) for i in range(50)]
    put_all(direct_client, table, [to_item(w) for w in written])
    proxy.enqueue(*[Corrupt()] * 4)
    with Session(proxy_client, table_prefix=tables, retry=PATIENT) as s:
        got = [s.get(Typed, w.pk, w.sk) for w in written]
        report = s.flush()
        assert [d.result() for d in got] == written
    assert proxy.counts.faults["corrupt"] == 4 and report.retries >= 4
    assert len(built) == 50


def hostile(i: int) -> Hostile:
    return Hostile(
        pk=f"h{i} {ODD}",
        size=ODD * (i % 3 + 1),
        hash=(-1) ** i * (10**38 - 1 - i),  # 38 digits
        dotted=[1e-130, 9.99999999999999e125, -1e125, 0.1, 1 / 3][i % 5],
        uni=[
            Decimal("1E+125"),
            Decimal("1E-130"),
            Decimal("-9.9999999999999999999999999999999999999E+125"),
            Decimal("0.00000000000000000000000000000000000001"),
            Decimal("12345678901234567890123456789012345678"),
        ][i % 5],
        quote=i % 2 == 1,
        names={"S", "N", "#", ".", ODD, f"n{i}"},
        big=[10**125, -(10**125), 10**37, 0, 1][i % 5],
        tiny=[Decimal("1E-130"), Decimal("-1E-130"), Decimal("1E+125"), Decimal(0), 1][i % 5],
        huge=[1e-130, 1e125, -1e-130, 0.0, 2.0**60][i % 5],
    )


def test_hostile_names_and_numbers_at_the_limits_read_back_exactly(
    proxy, proxy_client, direct_client, tables, built
):
    written = [hostile(i) for i in range(300)]
    with Session(direct_client, table_prefix=tables) as s:
        for w in written:
            s.put(w)
    proxy.set_plan(FaultPlan(withhold=0.3, throttle=0.1, seed=5))
    with Session(proxy_client, table_prefix=tables, retry=PATIENT) as s:
        got = [s.get(Hostile, w.pk) for w in written]
        s.flush()
        read = [d.result() for d in got]
    assert read == written
    for r, w in zip(read, written, strict=True):  # exactly: same types, same digits
        assert type(r.hash) is int and type(r.big) is int and r.big == w.big
        assert str(r.uni) == str(w.uni) or r.uni == w.uni
        assert r.dotted == w.dotted and r.huge == w.huge
    assert len(built) == 300  # every answer read straight into the model


def test_items_of_other_types_fail_alone_under_faults(
    proxy, proxy_client, direct_client, tables, built
):
    table = tables + "tr-typed"
    written = [typed(i) for i in range(400)]
    items = [to_item(w) for w in written]
    odd = {  # another client's items: one attribute each of another type, refused
        3: {"label": {"N": "1"}},
        120: {"tags": {"NS": ["1"]}},
        200: {"history": {"SS": ["a"]}},
        260: {"at": {"S": "not a time"}},
        399: {"extra": {"S": "x"}},
    }
    lax = {  # others that pydantic's lax mode takes on the general path: read as it reads them
        50: {"ok": {"S": "true"}},
        300: {"exact": {"S": "1.5"}},
        333: {"value": {"BOOL": True}},
    }
    for i, change in {**odd, **lax}.items():
        items[i] = {**items[i], **change}
    put_all(direct_client, table, items)
    proxy.set_plan(FaultPlan(withhold=0.3, throttle=0.1, server_error=0.05, seed=3))
    with Session(proxy_client, table_prefix=tables, retry=PATIENT, concurrency=3) as s:
        got = [s.get(Typed, w.pk, w.sk) for w in written]
        s.flush()
        for i, d in enumerate(got):
            if i in odd:
                with pytest.raises(DecodeError, match="Typed") as info:
                    d.result()
                assert str(written[i].sk) in str(info.value)
            elif i in lax:
                assert d.result() == from_item(Typed, items[i])
            else:
                assert d.result() == written[i]
    assert proxy.counts.withheld["BatchGetItem"] > 0
    # Answers without an odd item still went straight into models.
    assert 0 < len(built) < 400 - len(odd) - len(lax)


def test_a_table_read_as_two_models_shares_a_flush_with_a_reader(
    proxy, proxy_client, direct_client, tables, built
):
    typed_items = [typed(i) for i in range(300)]
    put_all(direct_client, tables + "tr-typed", [to_item(w) for w in typed_items])
    shared = [{"pk": {"S": f"s{i}"}, "a": {"S": f"a{i}"}, "b": {"N": str(i)}} for i in range(150)]
    put_all(direct_client, tables + "tr-shared", shared)
    proxy.set_plan(FaultPlan(withhold=0.3, throttle=0.1, drop_before=0.03, seed=9))
    with Session(proxy_client, table_prefix=tables, retry=PATIENT) as s:
        lefts = [s.get(Left, f"s{i}") for i in range(0, 150, 2)]
        rights = [s.get(Right, f"s{i}") for i in range(0, 150, 3)]
        typeds = [s.get(Typed, w.pk, w.sk) for w in typed_items]
        s.flush()
        assert [d.result() for d in lefts] == [
            Left(pk=f"s{i}", a=f"a{i}") for i in range(0, 150, 2)
        ]
        assert [d.result() for d in rights] == [Right(pk=f"s{i}", b=i) for i in range(0, 150, 3)]
        assert [d.result() for d in typeds] == typed_items
    # Only Typed has a reader in this flush: the shared table was read as plain items.
    assert len(built) == 300 and all(isinstance(b, Typed) for b in built)


def test_instances_read_by_a_reader_write_back_their_changes(
    proxy, proxy_client, direct_client, tables, built
):
    table = tables + "tr-typed"
    written = [typed(i) for i in range(120)]
    put_all(direct_client, table, [to_item(w) for w in written])
    proxy.set_plan(FaultPlan(withhold=0.3, throttle=0.1, seed=2))
    with Session(proxy_client, table_prefix=tables, retry=PATIENT) as s:
        got = [s.get(Typed, w.pk, w.sk) for w in written]
        s.flush()
        read = [d.result() for d in got]
        assert len(built) == 120
        for i, r in enumerate(read):
            if i % 3 == 0:
                r.label = "assigned"
            elif i % 3 == 1:
                r.tags.add("in place")
                r.extra["deep"] = [i]
        report = s.flush()
    assert report.items_written == 80
    truth = stored(direct_client, table, Typed)
    for i, w in enumerate(written):
        after = truth[(w.pk, w.sk)]
        if i % 3 == 0:
            assert after == w.model_copy(update={"label": "assigned"})
        elif i % 3 == 1:
            assert after.tags == w.tags | {"in place"} and after.extra == {**w.extra, "deep": [i]}
        else:
            assert after == w
