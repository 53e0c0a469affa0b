"""pydynox peers for `bench_session.py`: its Model path and its raw client (Rust core).

pydynox sends its own HTTP from Rust, so no botocore hook sees its requests: the request
count is what DynamoDB Local must have received, ceil(n / 25) BatchWriteItem and
ceil(n / 100) BatchGetItem (DynamoDB Local never leaves work unprocessed; items read back
are checked, so a missing retry would show).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import _shared
import pydynox
from pydynox import DynamoDBClient, ModelConfig, SyncBatchWriter
from pydynox import Model as PydynoxModel
from pydynox.attributes import (
    BooleanAttribute,
    DatetimeAttribute,
    DecimalAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    StringAttribute,
    StringSetAttribute,
)

from tests.support import ddblocal

BenchItem = _shared.BenchItem
VERSION = pydynox.__version__


def make_client(endpoint: str) -> DynamoDBClient:
    return DynamoDBClient(
        region=ddblocal.REGION,
        access_key=ddblocal.ACCESS_KEY,
        secret_key=ddblocal.SECRET_KEY,
        endpoint_url=endpoint,
    )


def model_for(table: str, client: DynamoDBClient) -> type[PydynoxModel]:
    """A pydynox Model equivalent to BenchItem on `table`."""

    class PydynoxItem(PydynoxModel):
        model_config = ModelConfig(table=table, client=client)
        pk = StringAttribute(partition_key=True)
        sk = StringAttribute(sort_key=True)
        name = StringAttribute()
        email = StringAttribute()
        description = StringAttribute()
        status = StringAttribute()
        country = StringAttribute()
        quantity = NumberAttribute()
        version = NumberAttribute()
        score = NumberAttribute()
        ratio = NumberAttribute()
        price = DecimalAttribute()
        balance = DecimalAttribute()
        active = BooleanAttribute()
        verified = BooleanAttribute()
        tags = StringSetAttribute()
        history = ListAttribute()
        settings = MapAttribute()
        note = StringAttribute()
        created_at = DatetimeAttribute()

    return PydynoxItem


def plain(instance: BenchItem) -> dict[str, Any]:
    """A plain dict for pydynox's raw client: floats as Decimal, datetimes as text."""
    data = instance.model_dump(exclude_none=True)
    for name in ("score", "ratio"):
        data[name] = Decimal(str(data[name]))
    data["created_at"] = data["created_at"].isoformat()
    return data


def to_bench(values: dict[str, Any]) -> BenchItem:
    return BenchItem.model_validate({k: v for k, v in values.items() if v is not None})


def requests(count: int) -> tuple[int, int]:
    """The BatchWriteItem and BatchGetItem requests `count` items take."""
    return math.ceil(count / 25), math.ceil(count / 100)


class ModelPath:
    """pydynox's Model path: `to_dict()` into a SyncBatchWriter, `Model.sync_batch_get`."""

    def __init__(self, endpoint: str) -> None:
        self.name = f"pydynox {VERSION} Model (sync)"
        self.client = make_client(endpoint)
        self.model: Any = None
        self.table = ""

    def prepare(self, table: str, items: list[BenchItem]) -> list[Any]:
        self.table = table
        self.model = model_for(table, self.client)
        return [self.model(**instance.model_dump(exclude_none=True)) for instance in items]

    def write(self, data: list[Any]) -> None:
        with SyncBatchWriter(self.client, self.table) as batch:
            for obj in data:
                batch.put(obj.to_dict())

    def read(self, keys: list[tuple[str, str]]) -> list[Any]:
        return self.model.sync_batch_get([{"pk": pk, "sk": sk} for pk, sk in keys])

    def to_model(self, result: Any) -> BenchItem:
        return to_bench(result.to_dict())


class RawClient:
    """pydynox's raw client on plain dicts: `sync_batch_write`, `sync_batch_get`."""

    def __init__(self, endpoint: str) -> None:
        self.name = f"pydynox {VERSION} raw client"
        self.client = make_client(endpoint)
        self.table = ""

    def prepare(self, table: str, items: list[BenchItem]) -> list[Any]:
        self.table = table
        return [plain(instance) for instance in items]

    def write(self, data: list[dict[str, Any]]) -> None:
        self.client.sync_batch_write(self.table, put_items=data)

    def read(self, keys: list[tuple[str, str]]) -> list[Any]:
        return self.client.sync_batch_get(self.table, [{"pk": pk, "sk": sk} for pk, sk in keys])

    def to_model(self, result: Any) -> BenchItem:
        return to_bench(result)
