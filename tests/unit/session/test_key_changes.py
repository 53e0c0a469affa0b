"""A tracked instance's key cannot change: refused before anything is sent, never half-done."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import ConfigDict

from dynamap import InvalidKeyError, Model, PartitionKey
from tests.support.models import Order, User
from tests.unit.session.helpers import make, seed_users, session

CHANGED = (
    r"User\.pk of an instance tracked under key \{'pk': 'u0', 'sk': 'p'\} was changed: "
    r"its key is now \{'pk': 'u9', 'sk': 'p'\}"
)


class Loose(Model, table="orders"):
    """Assignment is not validated: pydantic changes `__dict__` in place."""

    model_config = ConfigDict(validate_assignment=False)

    pk: Annotated[str, PartitionKey()]
    total: int = 0


def test_changed_key_of_a_loaded_instance_fails_the_flush_before_anything_is_sent():
    fake = make()
    seed_users(fake, 1)
    s = session(fake)
    user = s.get(User, "u0", "p").result()
    assert user is not None
    other = s.get(Order, "o1")
    s.put(Order(pk="o2", total=2))
    calls = len(fake.calls)
    user.pk = "u9"
    with pytest.raises(InvalidKeyError, match=CHANGED):
        s.flush()
    assert len(fake.calls) == calls  # nothing sent
    assert not other.done  # and every pending get and write is still pending
    user.pk = "u0"  # set back: the flush goes through, and the unchanged user is not written
    report = s.flush()
    assert (report.items_written, report.items_not_found) == (1, 1)
    assert fake.data["orders"][("o2",)]["total"] == {"N": "2"}
    assert list(fake.data["users"]) == [("u0", "p")]


def test_unprocessed_write_of_a_rekeyed_instance_can_no_longer_be_lost():
    """The original bug: the put of a re-keyed instance was matched to its old key, so an
    UnprocessedItems answer for it matched nothing and the put counted as written."""
    fake = make()
    seed_users(fake, 1)
    seen: set[str] = set()

    def first_time(table, item):  # withhold each item the first time it is sent
        key = repr(sorted(item.items()))
        fresh = key not in seen
        seen.add(key)
        return fresh

    writes = len(fake.ops("BatchWriteItem"))  # the seed's
    s = session(fake)
    user = s.get(User, "u0", "p").result()
    assert user is not None
    fake.withhold = first_time
    user.pk, user.name = "u9", "moved"
    with pytest.raises(InvalidKeyError, match=CHANGED):
        s.flush()
    assert len(fake.ops("BatchWriteItem")) == writes
    # Moving an item is a delete of the old key and a put under the new one.
    user.pk = "u0"
    s.delete(user)
    s.put(user.model_copy(update={"pk": "u9"}))
    report = s.flush()
    assert (report.items_written, report.items_deleted, report.retries) == (1, 1, 2)
    assert list(fake.data["users"]) == [("u9", "p")]
    assert fake.data["users"][("u9", "p")]["name"] == {"S": "moved"}


def test_changed_key_of_a_put_instance_fails_the_flush():
    fake = make()
    s = session(fake)
    user = User(pk="u0", sk="p", name="Ann")
    s.put(user)
    user.pk = "u9"
    with pytest.raises(InvalidKeyError, match=CHANGED):
        s.flush()
    assert fake.calls == []
    user.pk = "u0"
    assert s.flush().items_written == 1
    assert list(fake.data["users"]) == [("u0", "p")]


def test_changed_key_is_found_when_assignment_is_not_validated():
    fake = make()
    s = session(fake)
    loose = Loose(pk="a")
    s.put(loose)
    loose.pk = "b"
    with pytest.raises(InvalidKeyError, match=r"Loose\.pk .* key \{'pk': 'a'\} was changed"):
        s.flush()
    assert fake.calls == []


def test_put_or_delete_of_an_instance_tracked_under_another_key_is_refused():
    s = session(make())
    user = User(pk="u0", sk="p", name="Ann")
    s.put(user)
    user.pk = "u9"
    with pytest.raises(InvalidKeyError, match=CHANGED + r".*put refused"):
        s.put(user)
    with pytest.raises(InvalidKeyError, match=CHANGED + r".*delete refused"):
        s.delete(user)
    # The identity map still holds the instance under its first key only.
    assert s.get(User, "u0", "p").result() is user
    assert not s.get(User, "u9", "p").done
