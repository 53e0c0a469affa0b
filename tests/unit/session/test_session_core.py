"""Session behaviour over an in-memory transport: no server, fake clock."""

from __future__ import annotations

import logging
import random
from decimal import Decimal
from typing import Annotated, Any

import pytest

from dynamap import (
    DecodeError,
    DynamapError,
    EncodeError,
    InvalidKeyError,
    ItemTooLargeError,
    Model,
    PartitionKey,
    RequestRejectedError,
    RetryPolicy,
    Session,
    SortKey,
    TableNotFoundError,
    TransportError,
    UnprocessedError,
)
from tests.support.fake import FakeDynamo
from tests.support.models import Address, Order, User
from tests.unit.session.helpers import seed_users, session


class UserName(Model, table="users"):
    """A view: same table, fewer attributes."""

    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    name: str


class Reading(Model, table="readings"):
    pk: Annotated[Decimal, PartitionKey()]
    value: int = 0


def make(seed: int = 0) -> FakeDynamo:
    return FakeDynamo(
        {"users": ("pk", "sk"), "orders": ("pk",), "readings": ("pk",), "p-users": ("pk", "sk")},
        seed=seed,
    )


def test_put_get_delete_round_trip():
    fake = make()
    with session(fake) as s:
        s.put(User(pk="u1", sk="p", name="Ann"))
        s.put(Order(pk="o1", total=5))
    with session(fake) as s:
        user = s.get(User, "u1", "p")
        order = s.get(Order, "o1")
        missing = s.get(User, "nobody", "p")
        report = s.flush()
        assert user.result() == User(pk="u1", sk="p", name="Ann")
        assert order.result() == Order(pk="o1", total=5)
        assert missing.result() is None
        assert (report.items_read, report.items_not_found, report.requests) == (2, 1, 1)
        s.delete(user.result())
    assert ("u1",) not in {k[:1] for k in fake.data["users"]}


def test_result_flushes_pending_gets_only():
    fake = make()
    seed_users(fake, 1)
    with session(fake) as s:
        s.put(Order(pk="o1"))
        d = s.get(User, "u0", "p")
        assert not d.done
        assert d.result() is not None
        assert fake.ops("BatchWriteItem") == [fake.ops("BatchWriteItem")[0]]  # the seed only
        assert len(fake.ops("BatchWriteItem")) == 1
    assert len(fake.ops("BatchWriteItem")) == 2  # the put went at exit


def test_identity_map_returns_the_same_object_without_requests():
    fake = make()
    seed_users(fake, 1)
    with session(fake) as s:
        a = s.get(User, "u0", "p")
        b = s.get(User, "u0", "p")
        assert a is b  # one pending read per key
        s.flush()
        calls = len(fake.calls)
        c = s.get(User, "u0", "p")
        assert c.result() is a.result()
        new = User(pk="u9", sk="p", name="New")
        s.put(new)
        assert s.get(User, "u9", "p").result() is new
        s.delete(new)
        assert s.get(User, "u9", "p").result() is None
        assert len(fake.calls) == calls


def test_view_of_a_pending_put_is_derived_locally():
    fake = make()
    with session(fake) as s:
        s.put(User(pk="u1", sk="p", name="Ann"))
        view = s.get(UserName, "u1", "p").result()
        assert view == UserName(pk="u1", sk="p", name="Ann")
        assert fake.calls == []


def test_last_write_per_key_wins():
    fake = make()
    with session(fake) as s:
        s.put(User(pk="u1", sk="p", name="first"))
        s.put(User(pk="u1", sk="p", name="second"))
        s.put(User(pk="u2", sk="p", name="gone"))
        s.delete(User(pk="u2", sk="p", name="gone"))
    (write,) = fake.ops("BatchWriteItem")
    requests = write["RequestItems"]["users"]
    assert len(requests) == 2
    assert requests[0]["PutRequest"]["Item"]["name"] == {"S": "second"}
    assert requests[1] == {"DeleteRequest": {"Key": {"pk": {"S": "u2"}, "sk": {"S": "p"}}}}


def test_changed_instances_are_written_back_and_unchanged_are_not():
    fake = make()
    seed_users(fake, 3)
    writes_before = len(fake.ops("BatchWriteItem"))
    with session(fake) as s:
        users = [s.get(User, f"u{i}", "p") for i in range(3)]
        s.flush()
        changed = users[1].result()
        assert changed is not None
        changed.name = "renamed"
    assert fake.ops("BatchWriteItem")[writes_before:] == []
    (write,) = fake.ops("UpdateItem")  # only the changed attribute, and only if still stored
    assert write["Key"] == {"pk": {"S": "u1"}, "sk": {"S": "p"}}
    assert write["UpdateExpression"] == "SET #name = :v0"
    assert write["ConditionExpression"] == "attribute_exists(pk)"
    assert write["ExpressionAttributeNames"] == {"#name": "name"}
    assert write["ExpressionAttributeValues"] == {":v0": {"S": "renamed"}}
    assert fake.data["users"][("u1", "p")]["name"] == {"S": "renamed"}
    # A second flush with nothing changed sends nothing.
    with session(fake) as s:
        s.get(User, "u1", "p").result()
        calls = len(fake.calls)
    assert len(fake.calls) == calls


def test_in_place_mutation_of_containers_is_detected():
    fake = make()
    with session(fake) as s:
        s.put(Order(pk="o1", total=1))
    from tests.support.models import Everything  # noqa: F401 - a model with containers

    class Tagged(Model, table="orders"):
        pk: Annotated[str, PartitionKey()]
        tags: list[str] = []

    with session(fake) as s:
        s.put(Tagged(pk="t1", tags=["a"]))
    with session(fake) as s:
        t = s.get(Tagged, "t1").result()
        assert t is not None
        t.tags.append("b")
    assert fake.data["orders"][("t1",)]["tags"] == {"L": [{"S": "a"}, {"S": "b"}]}


def test_exception_in_block_sends_no_write():
    fake = make()
    with pytest.raises(RuntimeError, match="boom"), session(fake) as s:
        s.put(User(pk="u1", sk="p", name="Ann"))
        raise RuntimeError("boom")
    assert fake.calls == []


def test_pending_read_after_exception_says_it_was_never_sent():
    fake = make()
    with pytest.raises(RuntimeError), session(fake) as s:
        d = s.get(User, "u1", "p")
        raise RuntimeError
    with pytest.raises(DynamapError, match="never sent"):
        d.result()
    with pytest.raises(DynamapError, match="closed"):
        s.get(User, "u1", "p")


def test_key_errors_at_the_call():
    s = session(make())
    with pytest.raises(
        InvalidKeyError, match=r"keyed by pk and sk: expected 2 key value\(s\), got 1"
    ):
        s.get(User, "u1")
    with pytest.raises(InvalidKeyError, match=r"User\.pk is a key of DynamoDB type S; got int 5"):
        s.get(User, 5, "p")  # type: ignore[arg-type]
    with pytest.raises(InvalidKeyError, match="expected 1"):
        s.get(Order, "o1", "extra")
    with pytest.raises(InvalidKeyError, match="cannot be empty"):
        s.get(Order, "")
    with pytest.raises(InvalidKeyError, match="type N; got bool"):
        s.get(Reading, True)


def test_bad_items_fail_the_flush_before_anything_is_sent():
    class Big(Model, table="orders"):
        pk: Annotated[str, PartitionKey()]
        body: str = ""
        ratio: float = 0.0

    fake = make()
    s = session(fake)
    s.put(Order(pk="fine"))
    s.put(Big(pk="b", body="x" * 500_000))
    with pytest.raises(
        ItemTooLargeError, match=r"Big item \{'pk': \{'S': 'b'\}\} is 500,\d{3} bytes"
    ):
        s.flush()
    assert fake.calls == []
    s.put(Big(pk="b", ratio=float("nan")))  # replaces the oversized one
    with pytest.raises(EncodeError, match="finite"):
        s.flush()
    assert fake.calls == []
    s.put(Big(pk="b", body="ok"))
    assert s.flush().items_written == 2


def test_numeric_keys_are_deduplicated_canonically():
    fake = make()
    with session(fake) as s:
        s.put(Reading(pk=Decimal("1.50"), value=1))
        s.put(Reading(pk=Decimal("1.5"), value=2))
    (write,) = fake.ops("BatchWriteItem")
    assert len(write["RequestItems"]["readings"]) == 1
    with session(fake) as s:
        a = s.get(Reading, Decimal("1.5"))
        b = s.get(Reading, Decimal("1.50"))
        c = s.get(Reading, Decimal("15E-1"))
        assert a is b is c
        s.flush()
        result = a.result()
        assert result is not None and result.value == 2
    (read,) = fake.ops("BatchGetItem")
    assert read["RequestItems"]["readings"]["Keys"] == [{"pk": {"N": "1.5"}}]


def test_call_counts_250_keys_two_tables_with_repeats():
    fake = make()
    with session(fake) as s:
        for i in range(150):
            s.get(User, f"u{i}", "p")
        for i in range(100):
            s.get(Order, f"o{i}")
        for i in range(0, 250, 7):  # repeats
            s.get(User, f"u{i % 150}", "p")
            s.get(Order, f"o{i % 100}")
        report = s.flush()
    reads = fake.ops("BatchGetItem")
    assert len(reads) == 3
    assert sum(len(e["Keys"]) for r in reads for e in r["RequestItems"].values()) == 250
    assert report.items_not_found == 250


def test_call_counts_65_writes():
    fake = make()
    with session(fake) as s:
        for i in range(40):
            s.put(User(pk=f"u{i}", sk="p", name="n"))
        for i in range(25):
            s.put(Order(pk=f"o{i}"))
        report = s.flush()
    writes = fake.ops("BatchWriteItem")
    assert [sum(len(v) for v in w["RequestItems"].values()) for w in writes] == [25, 25, 15]
    assert report.items_written == 65 and report.requests == 3
    assert report.consumed_capacity == {"users": 40.0, "orders": 25.0}


def test_views_merge_projections_into_one_entry():
    fake = make()
    seed_users(fake, 2)
    with session(fake) as s:
        full = s.get(User, "u0", "p")
        view = s.get(UserName, "u0", "p")
        other_view = s.get(UserName, "u1", "p")
        s.flush()
        assert full.result() is not None and view.result() is not None
        assert view.result().name == full.result().name  # type: ignore[union-attr]
        assert other_view.result() is not None
    (read,) = fake.ops("BatchGetItem")
    entry = read["RequestItems"]["users"]
    assert entry["ProjectionExpression"] == "pk, sk, #name, #status, #user_id"
    assert len(entry["Keys"]) == 2  # the shared key is read once


def test_mixed_consistency_reads_strongly():
    fake = make()
    with session(fake) as s:
        s.get(User, "u0", "p")
        s.get(User, "u1", "p", consistent=True)
        s.get(Order, "o1")
    (read,) = fake.ops("BatchGetItem")
    assert read["RequestItems"]["users"]["ConsistentRead"] is True
    assert "ConsistentRead" not in read["RequestItems"]["orders"]


def test_table_prefix():
    fake = make()
    with session(fake, table_prefix="p-") as s:
        s.put(User(pk="u1", sk="p", name="Ann"))
    assert ("u1", "p") in fake.data["p-users"]


def test_unprocessed_work_is_retried_until_done():
    fake = make(seed=5)
    rng = random.Random(11)
    fake.withhold = lambda table, key: rng.random() < 0.4
    with session(fake, concurrency=4) as s:
        for i in range(300):
            s.put(User(pk=f"u{i}", sk="p", name=f"n{i}"))
        report = s.flush()
    assert len(fake.data["users"]) == 300
    assert report.retries > 0 and report.items_written == 300
    with session(fake, concurrency=4) as s:
        ds = [s.get(User, f"u{i}", "p") for i in range(330)]
        s.flush()
        assert [d.result() is None for d in ds] == [False] * 300 + [True] * 30
        assert all(d.result().name == f"n{i}" for i, d in enumerate(ds[:300]))  # type: ignore[union-attr]


def test_read_budget_exhausted_names_exactly_the_stuck_key():
    fake = make()
    seed_users(fake, 3)
    fake.withhold = lambda table, key: key["pk"]["S"] == "u1"
    policy = RetryPolicy(max_attempts=10, base_delay=0.05, max_delay=5.0, deadline=60.0)
    s = session(fake, retry=policy)
    ds = [s.get(User, f"u{i}", "p") for i in range(3)]
    with pytest.raises(UnprocessedError) as info:
        s.flush()
    assert [u.key for u in info.value.unprocessed] == [{"pk": {"S": "u1"}, "sk": {"S": "p"}}]
    assert info.value.unprocessed[0].operation == "get"
    assert len(fake.ops("BatchGetItem")) == 10
    assert ds[0].result() is not None and ds[2].result() is not None  # done stays done
    with pytest.raises(UnprocessedError):
        ds[1].result()


def test_write_budget_exhausted_hands_back_the_item():
    fake = make()
    fake.withhold = lambda table, item: item["pk"]["S"] == "u1"
    s = session(fake, retry=RetryPolicy(max_attempts=3))
    stuck = User(pk="u1", sk="p", name="stuck")
    s.put(User(pk="u0", sk="p", name="fine"))
    s.put(stuck)
    with pytest.raises(UnprocessedError, match="1 key") as info:
        s.flush()
    (lost,) = info.value.unprocessed
    assert lost.operation == "put" and lost.instance is stuck
    assert lost.item["name"] == {"S": "stuck"}
    assert list(fake.data["users"]) == [("u0", "p")]
    assert info.value.report.items_written == 1


def test_throttling_errors_are_retried():
    fake = make()
    fake.errors = [
        TransportError("ProvisionedThroughputExceededException", "slow", 400),
        TransportError("ThrottlingException", "slow", 400),
        TransportError("ConnectionError", "reset"),
    ]
    with session(fake) as s:
        s.put(User(pk="u1", sk="p", name="Ann"))
        report = s.flush()
    assert report.retries == 3 and report.requests == 4
    assert ("u1", "p") in fake.data["users"]


def test_validation_error_is_raised_with_table_and_operation():
    fake = make()
    fake.errors = [TransportError("ValidationException", "bad thing", 400)]
    s = session(fake)
    s.put(User(pk="u1", sk="p", name="Ann"))
    with pytest.raises(
        RequestRejectedError, match=r"BatchWriteItem on table 'users'.*bad thing"
    ) as info:
        s.flush()
    assert info.value.operation == "BatchWriteItem" and info.value.tables == ["users"]
    assert [u.key for u in info.value.unprocessed] == [{"pk": {"S": "u1"}, "sk": {"S": "p"}}]


def test_missing_table():
    fake = make()
    s = session(fake)

    class Ghost(Model, table="ghost"):
        pk: Annotated[str, PartitionKey()]

    d = s.get(Ghost, "g")
    with pytest.raises(TableNotFoundError, match="BatchGetItem on table 'ghost'"):
        s.flush()
    with pytest.raises(TableNotFoundError):
        d.result()


def test_decode_error_is_reported_on_the_result():
    fake = make()
    fake.data["orders"][("o1",)] = {"pk": {"S": "o1"}, "total": {"S": "not a number"}}
    with session(fake) as s:
        d = s.get(Order, "o1")
        s.flush()
        with pytest.raises(DecodeError, match="Order item"):
            d.result()


def test_two_changed_models_of_one_key_are_refused():
    fake = make()
    seed_users(fake, 1)
    s = session(fake)
    full = s.get(User, "u0", "p").result()
    view = s.get(UserName, "u0", "p").result()
    assert full is not None and view is not None
    full.name = "a"
    view.name = "b"
    with pytest.raises(DynamapError, match="would both be written"):
        s.flush()


def test_models_of_one_table_must_share_keys():
    class Wrong(Model, table="users"):
        pk: Annotated[str, PartitionKey()]

    s = session(make())
    s.get(User, "u", "p")
    with pytest.raises(DynamapError, match="different keys"):
        s.get(Wrong, "u")


def test_debug_log_per_request_and_no_values_above_debug(caplog):
    fake = make()
    caplog.set_level(logging.DEBUG, logger="dynamap")
    with session(fake) as s:
        s.put(User(pk="secret-key", sk="p", name="secret-name"))
        s.get(Order, "o1")
    messages = [r for r in caplog.records if r.name == "dynamap"]
    assert any("BatchWriteItem: 1 items over 1 table(s)" in r.getMessage() for r in messages)
    assert any("BatchGetItem: 1 keys" in r.getMessage() for r in messages)
    for record in messages:
        assert "secret" not in record.getMessage()


class Profile(Model, table="orders"):
    pk: Annotated[str, PartitionKey()]
    address: Address | None = None
    extra: dict[str, Any] = {}
    flags: set[str] = set()
    score: float = 0.0


@pytest.mark.parametrize(
    "change",
    [
        lambda p: setattr(p.address, "city", "Bergen"),  # nested model, in place
        lambda p: p.extra["k"].append(3),  # a list inside a map, in place
        lambda p: p.extra.update(flag=1),  # True -> 1 is another DynamoDB type
        lambda p: p.flags.add("new"),
        lambda p: setattr(p, "score", 0.5),
    ],
)
def test_every_kind_of_change_is_written_back(change):
    fake = make()
    with session(fake) as s:
        s.put(Profile(pk="p", address=Address(city="Oslo"), extra={"k": [1, 2], "flag": True}))
    before = dict(fake.data["orders"][("p",)])
    with session(fake) as s:
        profile = s.get(Profile, "p").result()
        assert profile is not None
        change(profile)
    assert fake.data["orders"][("p",)] != before


def test_reading_and_reassigning_equal_values_writes_nothing():
    fake = make()
    with session(fake) as s:
        s.put(Profile(pk="p", address=Address(city="Oslo"), extra={"k": [1]}, flags={"a"}))
    writes = len(fake.ops("BatchWriteItem"))
    with session(fake) as s:
        profile = s.get(Profile, "p").result()
        assert profile is not None
        profile.address = Address(city="Oslo")  # a new but equal object
        profile.extra = {"k": [1]}
        profile.flags = {"a"}
    assert len(fake.ops("BatchWriteItem")) == writes


def test_flush_pauses_the_cyclic_collector_and_restores_it():
    import gc

    seen: list[bool] = []

    class Spy(FakeDynamo):
        def call(self, operation, params):
            seen.append(gc.isenabled() and gc.get_threshold()[0] > 0)  # collecting
            return super().call(operation, params)

    spy = Spy({"orders": ("pk",)})
    assert gc.isenabled()
    with session(spy) as s:
        s.put(Order(pk="o"))
    assert seen == [False]
    assert gc.isenabled()
    seen.clear()
    with session(spy, pause_gc=False) as s:
        s.put(Order(pk="p"))
    assert seen == [True]
    gc.disable()
    try:  # an application that runs with the collector off keeps it off
        with session(spy) as s:
            s.put(Order(pk="q"))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_unexpected_client_failure_hands_back_every_unit():
    class Broken(FakeDynamo):
        def call(self, operation, params):
            raise RuntimeError("socket exploded")

    s = session(Broken({"orders": ("pk",)}), concurrency=2)
    for i in range(30):
        s.put(Order(pk=f"o{i}"))
    with pytest.raises(
        RequestRejectedError, match="ClientError: RuntimeError: socket exploded"
    ) as info:
        s.flush()
    # Sent, with no answer: maybe applied (a custom transport may fail after sending).
    undone = info.value.unprocessed + info.value.unknown
    assert sorted(u.key["pk"]["S"] for u in undone) == sorted(f"o{i}" for i in range(30))
    assert len(info.value.unknown) == 30


def test_a_key_is_never_in_two_requests_at_once():
    """Writes to one key cannot be reordered: each key is in at most one request in flight,
    and no more than `concurrency` requests are in flight."""
    import threading
    import time as real_time

    class Watchful(FakeDynamo):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.in_flight: dict[tuple, int] = {}
            self.overlaps = 0
            self.calls_now = self.most_calls = 0
            self.watch = threading.Lock()

        def call(self, operation, params):
            keys = [
                (t, self.ident(t, w.get("PutRequest", {}).get("Item") or w["DeleteRequest"]["Key"]))
                for t, ws in params["RequestItems"].items()
                for w in ws
            ]
            with self.watch:
                self.calls_now += 1
                self.most_calls = max(self.most_calls, self.calls_now)
                for k in keys:
                    self.overlaps += self.in_flight.get(k, 0)
                    self.in_flight[k] = self.in_flight.get(k, 0) + 1
            real_time.sleep(0.002)  # let requests overlap
            try:
                return super().call(operation, params)
            finally:
                with self.watch:
                    self.calls_now -= 1
                    for k in keys:
                        self.in_flight[k] -= 1

    fake = Watchful({"orders": ("pk",)}, seed=9)
    rng = random.Random(4)
    fake.withhold = lambda table, item: rng.random() < 0.3  # retries overlap fresh requests
    policy = RetryPolicy(base_delay=0.001, max_delay=0.01)
    with Session(transport=fake, concurrency=4, rng=random.Random(1), retry=policy) as s:
        for round_ in range(3):
            for i in range(200):
                s.put(Order(pk=f"o{i}", total=round_))
    assert fake.overlaps == 0
    assert 1 < fake.most_calls <= 4  # the pool is used, and bounded
    assert all(item["total"] == {"N": "2"} for item in fake.data["orders"].values())
    assert len(fake.data["orders"]) == 200


def test_consumed_capacity_is_summed_across_retries():
    fake = make()
    seen = set()

    def once(table, key):  # withhold every key the first time it is seen
        ident = key["pk"]["S"]
        if ident in seen:
            return False
        seen.add(ident)
        return True

    seed_users(fake, 10)
    fake.withhold = once
    with session(fake) as s:
        for i in range(10):
            s.get(User, f"u{i}", "p")
        report = s.flush()
    # The fake charges 0.5 per key sent: 10 keys, each sent twice.
    assert report.retries == 10
    assert report.consumed_capacity == {"users": 10.0}
