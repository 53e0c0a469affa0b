"""Deriving boto3 `create_table` parameters from a model."""

from __future__ import annotations

from typing import Any, Literal

from _dynamap.model.keys import KeyAttr
from _dynamap.model.model import Model, ResolvedIndex, model_info

__all__ = ["create_table_params"]


def _key_schema(pk: KeyAttr, sk: KeyAttr | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": pk.attr, "KeyType": "HASH"}]
    if sk is not None:
        schema.append({"AttributeName": sk.attr, "KeyType": "RANGE"})
    return schema


def _projection(index: ResolvedIndex) -> dict[str, Any]:
    projection: dict[str, Any] = {"ProjectionType": index.projection}
    if index.projection == "INCLUDE":
        projection["NonKeyAttributes"] = list(index.non_key_attributes)
    return projection


def create_table_params(
    model: type[Model],
    *,
    table_prefix: str = "",
    billing_mode: Literal["PAY_PER_REQUEST", "PROVISIONED"] = "PAY_PER_REQUEST",
    read_capacity: int | None = None,
    write_capacity: int | None = None,
) -> dict[str, Any]:
    """Keyword arguments for boto3's `create_table` for `model`'s table.

    `KeySchema`, `AttributeDefinitions` (key attributes of the table and its
    indexes only), `GlobalSecondaryIndexes`, `LocalSecondaryIndexes` and the
    billing mode. A global index without its own capacity uses the table's.

    Args:
        model: a model class with `table=`.
        table_prefix: prepended to the table name, as the session's `table_prefix` is.
        billing_mode: "PAY_PER_REQUEST" (on demand) or "PROVISIONED".
        read_capacity: read capacity units; required with "PROVISIONED" only.
        write_capacity: write capacity units; required with "PROVISIONED" only.
    """
    info = model_info(model)
    table = info.require_table()
    assert info.partition_key is not None  # a table model always has one
    provisioned = billing_mode == "PROVISIONED"
    if provisioned and (read_capacity is None or write_capacity is None):
        raise ValueError("billing_mode='PROVISIONED' needs read_capacity and write_capacity")
    if not provisioned and (read_capacity is not None or write_capacity is not None):
        raise ValueError("read_capacity/write_capacity need billing_mode='PROVISIONED'")

    definitions: dict[str, str] = {}
    for key in info.key_attrs:
        definitions[key.attr] = key.type
    for index in info.indexes:
        for index_key in (index.partition_key, index.sort_key):
            if index_key is None:
                continue
            if definitions.setdefault(index_key.attr, index_key.type) != index_key.type:
                raise ValueError(f"{info.name}: attribute {index_key.attr!r} has two key types")

    params: dict[str, Any] = {
        "TableName": table_prefix + table,
        "KeySchema": _key_schema(info.partition_key, info.sort_key),
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": kind} for name, kind in definitions.items()
        ],
        "BillingMode": billing_mode,
    }
    if provisioned:
        params["ProvisionedThroughput"] = {
            "ReadCapacityUnits": read_capacity,
            "WriteCapacityUnits": write_capacity,
        }
    gsis: list[dict[str, Any]] = []
    lsis: list[dict[str, Any]] = []
    for index in info.indexes:
        entry: dict[str, Any] = {
            "IndexName": index.name,
            "KeySchema": _key_schema(index.partition_key, index.sort_key),
            "Projection": _projection(index),
        }
        if index.kind == "local":
            lsis.append(entry)
            continue
        if provisioned:
            entry["ProvisionedThroughput"] = {
                "ReadCapacityUnits": index.read_capacity or read_capacity,
                "WriteCapacityUnits": index.write_capacity or write_capacity,
            }
        gsis.append(entry)
    if gsis:
        params["GlobalSecondaryIndexes"] = gsis
    if lsis:
        params["LocalSecondaryIndexes"] = lsis
    return params
