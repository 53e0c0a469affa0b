"""The unit of work answers consistently with the session's own writes, and stays bounded."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import StringConstraints

from dynamap import DecodeError, Model, PartitionKey, SortKey
from tests.support.models import User
from tests.unit.session.helpers import UserName, make, seed_users, session


class Strict(Model, table="users"):
    """A stricter view of the users table: names of at least five characters."""

    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    name: Annotated[str, StringConstraints(min_length=5)]


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


def test_queued_view_of_a_put_item_that_fails_validation_fails_its_result():
    fake = make()
    s = session(fake)
    strict = s.get(Strict, "u1", "p")
    s.put(User(pk="u1", sk="p", name="Ann"))
    with pytest.raises(DecodeError, match=r"Strict item \('u1', 'p'\) in 'users'"):
        strict.result()
    assert s.flush().items_written == 1  # the put is unaffected
    assert fake.ops("BatchGetItem") == []
