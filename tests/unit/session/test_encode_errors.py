"""A write that cannot be encoded fails the flush before anything is sent, names the model,
the field and the key, and leaves every pending write pending so it can be fixed."""

from __future__ import annotations

import random
from typing import Annotated

import pytest
from pydantic import BaseModel

from dynamap import EncodeError, Model, PartitionKey, Session, SortKey
from tests.support.fake import FakeClock, FakeDynamo


class Stats(BaseModel):
    """A plain nested model: assignments to it are not validated."""

    rating: int = 0


class User(Model, table="users"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    score: float = 0.0
    ranks: list[int] = []
    stats: Stats = Stats()


def session(fake: FakeDynamo) -> Session:
    clock = FakeClock()
    return Session(transport=fake, clock=clock, sleep=clock.sleep, rng=random.Random(2))


def make() -> tuple[FakeDynamo, Session]:
    fake = FakeDynamo({"users": ("pk", "sk")})
    return fake, session(fake)


def test_one_bad_put_among_1001_is_named_and_everything_stays_pending():
    fake, s = make()
    users = [User(pk=f"u#{i}", sk="x", score=i) for i in range(1001)]
    users[7].score = float("nan")
    for user in users:
        s.put(user)
    s.delete(User(pk="gone", sk="x"))
    with pytest.raises(EncodeError) as info:
        s.flush()
    assert str(info.value) == (
        "User.score (key pk='u#7', sk='x'): DynamoDB numbers must be finite, got nan"
    )
    assert info.value.path == "User.score"
    assert info.value.key == "pk='u#7', sk='x'"
    assert isinstance(info.value.__cause__, EncodeError)
    assert fake.calls == []
    users[7].score = 7.0  # fix the value: the same put is still pending
    report = s.flush()
    assert (report.items_written, report.items_deleted) == (1001, 1)
    assert len(fake.data["users"]) == 1001
    assert fake.data["users"][("u#7", "x")]["score"] == {"N": "7.0"}


def test_a_bad_write_back_is_named_and_stays_pending_with_the_rest():
    fake, s = make()
    with s:
        s.put(User(pk="a", sk="x"))
        s.put(User(pk="b", sk="x"))
    s = session(fake)
    a = s.get(User, "a", "x").result()
    b = s.get(User, "b", "x").result()
    assert a is not None and b is not None
    a.ranks.append("7")  # type: ignore[arg-type] # list.append skips validation
    b.stats.rating = 8.25  # type: ignore[assignment] # so does a plain nested model
    s.put(User(pk="c", sk="x", score=1.5))
    writes = len(fake.ops("BatchWriteItem"))
    with pytest.raises(EncodeError, match=r"^User\.ranks\[0\] \(key pk='a', sk='x'\): expected"):
        s.flush()
    assert len(fake.ops("BatchWriteItem")) == writes
    a.ranks[0] = 7
    with pytest.raises(EncodeError, match=r"^User\.stats\.rating \(key pk='b', sk='x'\): expected"):
        s.flush()
    assert len(fake.ops("BatchWriteItem")) == writes
    b.stats.rating = 8
    assert s.flush().items_written == 3
    assert fake.data["users"][("a", "x")]["ranks"] == {"L": [{"N": "7"}]}
    assert fake.data["users"][("b", "x")]["stats"] == {"M": {"rating": {"N": "8"}}}
    assert fake.data["users"][("c", "x")]["score"] == {"N": "1.5"}
    s.close()


def test_pending_reads_survive_a_failed_flush():
    fake, s = make()
    with s:
        s.put(User(pk="a", sk="x"))
    s = session(fake)
    bad = User(pk="bad", sk="x")
    bad.__dict__["score"] = "high"
    s.put(bad)
    read = s.get(User, "a", "x")
    with pytest.raises(EncodeError, match=r"^User\.score \(key pk='bad', sk='x'\)"):
        s.flush()
    assert not read.done
    bad.score = 1.0
    s.flush()
    assert read.result() == User(pk="a", sk="x")
    s.close()
