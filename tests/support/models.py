"""Models shared by the unit tests."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field

from dynamap import GlobalIndex, LocalIndex, Model, PartitionKey, SortKey


class Color(enum.Enum):
    RED = "red"
    BLUE = 2


class Address(BaseModel):
    city: str
    zip: int | None = None


class User(Model, table="users"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    name: str
    status: str = "active"
    user_id: str = Field(default="", alias="user-id")


class Order(Model, table="orders"):
    pk: Annotated[str, PartitionKey()]
    total: int = 0


class Everything(Model, table="everything"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[int, SortKey()]
    s: str = ""
    i: int = 0
    f: float = 0.0
    d: Decimal = Decimal(0)
    b: bool = False
    raw: bytes = b""
    opt: str | None = None
    ss: set[str] = set()
    ns_int: set[int] = set()
    ns_float: set[float] = set()
    ns_dec: set[Decimal] = set()
    bs: set[bytes] = set()
    lst: list[int] = []
    tup: tuple[str, int] = ("", 0)
    anything: Any = None
    any_list: list[Any] = []
    mapping: dict[str, Any] = {}
    typed_map: dict[str, float] = {}
    nested: Address | None = None
    nested_list: list[Address] = []
    when: dt.datetime | None = None
    day: dt.date | None = None
    uid: uuid.UUID | None = None
    color: Color = Color.RED
    lit: Literal["a", "b"] = "a"


class Indexed(Model, table="indexed"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    email: str | None = None
    created: int = 0
    score: Decimal = Decimal(0)
    name: str = ""

    by_email: ClassVar[GlobalIndex] = GlobalIndex("email", "created", projection=["name"])
    by_score: ClassVar[GlobalIndex] = GlobalIndex(
        "score", name="score-index", projection="KEYS_ONLY"
    )
    by_created: ClassVar[LocalIndex] = LocalIndex("created")


# Table and index keys at DynamoDB's limits (tests/unit/model/test_limits.py and the backend twin).
class Keyed(Model, table="keyed"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    email: str | None = None
    rank: str | None = None
    code: bytes | None = None

    by_email: ClassVar[GlobalIndex] = GlobalIndex("email", "rank")
    by_code: ClassVar[GlobalIndex] = GlobalIndex("code")
    by_rank: ClassVar[LocalIndex] = LocalIndex("rank")


class BinKeyed(Model, table="binkeyed"):
    pk: Annotated[bytes, PartitionKey()]
    sk: Annotated[bytes, SortKey()]
