"""Key values by field name: `session.get(User, pk="u#1", sk="profile")`."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import pytest
from pydantic import Field

from dynamap import InvalidKeyError, Model, PartitionKey, SortKey
from tests.support.fake import FakeDynamo
from tests.support.models import Order, User
from tests.unit.session.helpers import make, seed_users, session


class Aliased(Model, table="users"):
    """Key fields stored under other names: callers still use the field names."""

    part: Annotated[str, PartitionKey()] = Field(alias="pk")
    sort: Annotated[str, SortKey()] = Field(alias="sk")
    name: str = ""


class Reading(Model, table="readings"):
    pk: Annotated[Decimal, PartitionKey()]
    consistent: int = 0  # a non-key field named like the keyword argument


def test_keys_by_name_read_the_same_item_as_positional_keys():
    fake = make()
    seed_users(fake, 1)
    with session(fake) as s:
        by_name = s.get(User, sk="p", pk="u0")  # any order
        positional = s.get(User, "u0", "p")
        assert by_name is positional  # one key, one pending read
        order = s.get(Order, pk="o1", consistent=True)
    assert by_name.result() == User(pk="u0", sk="p", name="name0")
    assert order.result() is None
    (read,) = fake.ops("BatchGetItem")
    assert read["RequestItems"]["users"]["Keys"] == [{"pk": {"S": "u0"}, "sk": {"S": "p"}}]
    assert read["RequestItems"]["orders"]["ConsistentRead"] is True


def test_keys_by_field_name_when_stored_under_an_alias():
    fake = make()
    seed_users(fake, 1)
    with session(fake) as s:
        found = s.get(Aliased, part="u0", sort="p")
    assert found.result() == Aliased(part="u0", sort="p", name="name0")
    with pytest.raises(
        InvalidKeyError,
        match=r"Aliased is keyed by part and sort.*'pk' is the stored name of part: "
        r"pass part=",
    ):
        session(fake).get(Aliased, pk="u0", sort="p")


def test_keyword_key_values_are_validated_like_positional_ones():
    s = session(make())
    with pytest.raises(InvalidKeyError, match=r"User\.pk is a key of DynamoDB type S; got int 5"):
        s.get(User, pk=5, sk="p")  # type: ignore[arg-type]
    with pytest.raises(InvalidKeyError, match="cannot be empty"):
        s.get(User, pk="", sk="p")
    assert s.get(Reading, pk=Decimal("1.50")) is s.get(Reading, Decimal("1.5"))


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("u0",), {"sk": "p"}, r"pass the key values positionally or by name, not both"),
        (("u0", "p"), {"pk": "u0"}, r"positionally or by name, not both"),
        ((), {"pk": "u0"}, r"missing sk"),
        ((), {}, r"expected 2 key value\(s\), got 0"),
        ((), {"pk": "u0", "sk": "p", "name": "Ann"}, r"'name' is not a key field"),
        ((), {"pk": "u0", "sort": "p"}, r"unknown key field 'sort'; missing sk"),
    ],
)
def test_mixed_missing_or_unknown_key_names_are_invalid(args, kwargs, message):
    s = session(make())
    with pytest.raises(InvalidKeyError, match=r"^User is keyed by pk and sk: .*" + message):
        s.get(User, *args, **kwargs)


def test_a_key_named_like_a_session_argument_is_given_positionally_or_by_name():
    class Odd(Model, table="odd"):
        model: Annotated[str, PartitionKey()]  # `model` is get()'s first, positional-only, name

    fake = FakeDynamo({"odd": ("model",)})
    with session(fake) as s:
        assert s.get(Odd, model="m1") is s.get(Odd, "m1")
    (read,) = fake.ops("BatchGetItem")
    assert read["RequestItems"]["odd"]["Keys"] == [{"model": {"S": "m1"}}]
