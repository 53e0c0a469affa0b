"""The unit of work answers consistently with the session's own writes, and stays bounded."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import pytest
from pydantic import StringConstraints, field_validator

from _dynamap.model.model import model_info
from dynamap import DecodeError, DynamapError, Model, PartitionKey, SortKey
from tests.support.models import Order, User
from tests.unit.session.helpers import UserName, make, seed_users, session


class Strict(Model, table="users"):
    """A stricter view of the users table: names of at least five characters."""

    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    name: Annotated[str, StringConstraints(min_length=5)]


class Tagged(Model, table="orders"):
    """A model with a mutable container: it can change without any assignment."""

    pk: Annotated[str, PartitionKey()]
    tags: list[str] = []


@contextmanager
def counting_snapshots(*models: type[Model]) -> Iterator[dict[str, int]]:
    """Count the calls of each model's snapshot function while the block runs."""
    counts = {m.__qualname__: 0 for m in models}
    originals: list[tuple[Any, Callable[[Any], tuple[Any, ...]]]] = []
    for model in models:
        codec = model_info(model).codec
        original = codec.snapshot

        def counted(obj: Any, _name: str = model.__qualname__, _f: Any = original) -> Any:
            counts[_name] += 1
            return _f(obj)

        originals.append((codec, original))
        codec.snapshot = counted
    try:
        yield counts
    finally:
        for codec, original in originals:
            codec.snapshot = original


# -- a get queued before a write of its key (issue 12) -----------------------------------------


def test_get_queued_before_a_delete_resolves_to_none():
    fake = make()
    seed_users(fake, 1)
    s = session(fake)
    full = s.get(User, "u0", "p")
    view = s.get(UserName, "u0", "p")
    s.delete(User(pk="u0", sk="p", name="whoever"))
    s.flush()
    assert full.result() is None and view.result() is None
    assert fake.ops("BatchGetItem") == []  # the session's own delete answers the read
    assert fake.data["users"] == {}


def test_get_queued_before_a_put_resolves_to_what_is_put():
    fake = make()
    seed_users(fake, 1)  # stored name: "name0"
    s = session(fake)
    full = s.get(User, "u0", "p")
    view = s.get(UserName, "u0", "p")
    new = User(pk="u0", sk="p", name="new")
    s.put(new)
    s.flush()
    assert full.result() is new
    assert view.result() == UserName(pk="u0", sk="p", name="new")
    assert fake.ops("BatchGetItem") == []
    assert s.get(UserName, "u0", "p").result() is view.result()  # and it is tracked


# -- a view that cannot decode what the session put (issue 16) ---------------------------------


def test_view_of_a_put_item_that_fails_validation_is_a_decode_error_on_the_result():
    s = session(make())
    s.put(User(pk="u1", sk="p", name="Ann"))
    strict = s.get(Strict, "u1", "p")  # no raw pydantic ValidationError from the call
    assert strict.done
    with pytest.raises(
        DecodeError, match=r"(?s)Strict item \('u1', 'p'\) in 'users': .*at least 5"
    ):
        strict.result()


class Picky(Model, table="users"):
    """A view whose validator fails with something other than a ValidationError."""

    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    name: str

    @field_validator("name")
    @classmethod
    def _no_ann(cls, value: str) -> str:
        if value == "Ann":
            raise AttributeError("a validator that meets an unexpected value")
        return value


def test_view_of_a_put_item_whose_validator_raises_anything_is_a_decode_error():
    s = session(make())
    s.put(User(pk="u1", sk="p", name="Ann"))
    picky = s.get(Picky, "u1", "p")  # no raw AttributeError from the call
    with pytest.raises(DecodeError, match=r"Picky item \('u1', 'p'\) in 'users': AttributeError"):
        picky.result()


def test_queued_view_of_a_put_item_that_fails_validation_fails_its_result():
    fake = make()
    s = session(fake)
    strict = s.get(Strict, "u1", "p")
    s.put(User(pk="u1", sk="p", name="Ann"))
    with pytest.raises(DecodeError, match=r"Strict item \('u1', 'p'\) in 'users'"):
        strict.result()
    assert s.flush().items_written == 1  # the put is unaffected
    assert fake.ops("BatchGetItem") == []


# -- close() inside `with` (issue 21) ----------------------------------------------------------


def test_leaving_the_block_after_close_does_nothing():
    fake = make()
    with session(fake) as s:
        s.put(User(pk="u1", sk="p", name="Ann"))
        d = s.get(Order, "o1")
        s.close()
        s.close()  # twice is fine
    assert fake.calls == []  # what close() discarded stays discarded
    with pytest.raises(DynamapError, match="never sent"):
        d.result()
    with pytest.raises(DynamapError, match="closed"):
        s.flush()


# -- expunge() and clear() (issue 20) ----------------------------------------------------------


def test_expunged_instance_is_no_longer_tracked_or_written_back():
    fake = make()
    seed_users(fake, 2)
    s = session(fake)
    kept = s.get(User, "u0", "p").result()
    gone = s.get(User, "u1", "p").result()
    assert kept is not None and gone is not None
    s.expunge(gone)
    s.expunge(gone)  # not tracked: nothing to do
    gone.name = "not written"
    kept.name = "written"
    assert s.flush().items_written == 1
    assert fake.data["users"][("u0", "p")]["name"] == {"S": "written"}
    assert fake.data["users"][("u1", "p")]["name"] == {"S": "name1"}
    again = s.get(User, "u1", "p")
    assert not again.done  # read from the table again, into a new instance
    assert again.result() == User(pk="u1", sk="p", name="name1")
    assert again.result() is not gone


def test_expunge_keeps_an_explicit_put_queued():
    fake = make()
    s = session(fake)
    user = User(pk="u1", sk="p", name="Ann")
    s.put(user)
    s.expunge(user)
    assert s.get(User, "u1", "p").result() is user  # answered by the queued put
    assert s.flush().items_written == 1
    user.name = "changed after the flush"
    assert s.flush().items_written == 0  # not tracked: not written back
    assert fake.data["users"][("u1", "p")]["name"] == {"S": "Ann"}


def test_expunge_lets_go_of_an_instance_whose_key_changed():
    fake = make()
    seed_users(fake, 1)
    s = session(fake)
    user = s.get(User, "u0", "p").result()
    assert user is not None
    user.pk = "u9"
    with pytest.raises(DynamapError, match="was changed"):
        s.flush()
    s.expunge(user)
    assert s.flush().items_written == 0
    s.put(user)  # now a new item: a copy under the new key
    s.flush()
    assert sorted(fake.data["users"]) == [("u0", "p"), ("u9", "p")]


def test_clear_forgets_every_instance_and_keeps_pending_work():
    fake = make()
    seed_users(fake, 3)
    s = session(fake)
    loaded = s.get(User, "u0", "p").result()
    assert loaded is not None
    s.delete(User(pk="u1", sk="p", name="x"))
    s.flush()
    put = User(pk="u5", sk="p", name="queued")
    s.put(put)
    s.delete(User(pk="u2", sk="p", name="x"))
    queued = s.get(Order, "o1")
    s.clear()
    loaded.name = "not written back"
    reads = len(fake.ops("BatchGetItem"))
    assert s.get(User, "u5", "p").result() is put  # the queued put answers
    assert s.get(User, "u2", "p").result() is None  # the queued delete answers
    assert len(fake.ops("BatchGetItem")) == reads
    report = s.flush()
    assert (report.items_written, report.items_deleted) == (1, 1)
    assert queued.done and queued.result() is None
    assert sorted(fake.data["users"]) == [("u0", "p"), ("u5", "p")]
    assert fake.data["users"][("u0", "p")]["name"] == {"S": "name0"}
    # The deletes done before clear() are forgotten too: the table is asked again.
    assert s.get(User, "u1", "p").result() is None
    assert len(fake.ops("BatchGetItem")) == reads + 2


def test_planning_skips_unchanged_instances_of_immutable_only_models():
    fake = make()
    seed_users(fake, 50)
    with session(fake) as s:
        for i in range(3):
            s.put(Tagged(pk=f"t{i}", tags=["a"]))
    s = session(fake)
    users = [s.get(User, f"u{i}", "p") for i in range(50)]
    tagged = [s.get(Tagged, f"t{i}") for i in range(3)]
    s.flush()
    with counting_snapshots(User, Order, Tagged) as counts:
        s.put(Order(pk="o1"))
        s.flush()
    # The one put is snapshotted; Tagged can change in place, so it is checked each flush;
    # fifty untouched users are not even looked at.
    assert counts == {"User": 0, "Order": 1, "Tagged": 3}
    first = users[0].result()
    assert first is not None
    first.name = "renamed"
    first_tags = tagged[0].result()
    assert first_tags is not None
    first_tags.tags.append("b")
    with counting_snapshots(User, Order, Tagged) as counts:
        assert s.flush().items_written == 2
    # The order written by the last flush is checked once more, then skipped too.
    assert counts == {"User": 1, "Order": 1, "Tagged": 3}
    assert fake.data["users"][("u0", "p")]["name"] == {"S": "renamed"}
    # Written back: one more check of that user (its new state), then it is skipped again.
    with counting_snapshots(User) as counts:
        assert s.flush().items_written == 0
        assert s.flush().items_written == 0
    assert counts == {"User": 1}


def test_reassigning_an_equal_value_is_checked_and_not_written():
    fake = make()
    seed_users(fake, 1)
    s = session(fake)
    user = s.get(User, "u0", "p").result()
    assert user is not None
    user.name = "name0"  # assigned, but equal
    with counting_snapshots(User) as counts:
        assert s.flush().items_written == 0
        assert s.flush().items_written == 0
    assert counts == {"User": 1}


def test_an_entry_whose_snapshot_is_replaced_is_compared_again():
    """The skip holds only for the very snapshot it was checked against: code that resets
    an entry's snapshot (say, after a write that failed) gets a real comparison."""
    fake = make()
    seed_users(fake, 1)
    s = session(fake)
    user = s.get(User, "u0", "p").result()
    assert user is not None
    state = s._state  # the unit of work itself
    (entry,) = state.identity.values()
    assert state.changed() == []
    entry.snapshot = ("an older state",)
    assert [e.instance for e, _ in state.changed()] == [user]


def test_a_put_of_a_view_does_not_leave_a_stale_full_instance_to_overwrite_it():
    # Review: the full instance loaded before stayed tracked with its old state; a get
    # returned it, and its next write-back silently undid the view's put.
    fake = make()
    seed_users(fake, 1)
    s = session(fake)
    full = s.get(User, "u0", "p").result()
    assert full is not None
    s.put(UserName(pk="u0", sk="p", name="new"))
    again = s.get(User, "u0", "p").result()
    assert again is not None and again is not full and again.name == "new"
    s.flush()
    full.status = "edited after it was replaced"  # no longer tracked: not written back
    s.flush()
    assert fake.data["users"][("u0", "p")]["name"] == {"S": "new"}
    reread = s.get(User, "u0", "p").result()
    assert reread is not None and reread.name == "new"


def test_a_put_of_a_view_over_a_changed_full_instance_is_refused_at_flush():
    fake = make()
    seed_users(fake, 1)
    s = session(fake)
    full = s.get(User, "u0", "p").result()
    assert full is not None
    full.status = "changed"
    s.put(UserName(pk="u0", sk="p", name="new"))
    sent = len(fake.calls)
    with pytest.raises(DynamapError, match="would both be written"):
        s.flush()  # not a silent choice between the two
    assert len(fake.calls) == sent
