"""create_table_params."""

from __future__ import annotations

import pytest

from _dynamap.model.model import model_info
from dynamap import ModelDefinitionError, create_table_params
from tests.support.models import Indexed, Order


def test_simple_table():
    assert create_table_params(Order) == {
        "TableName": "orders",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }


def test_indexes_and_definitions():
    params = create_table_params(Indexed, table_prefix="dev-")
    assert params["TableName"] == "dev-indexed"
    # Only key attributes of the table and its indexes are defined.
    assert params["AttributeDefinitions"] == [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
        {"AttributeName": "email", "AttributeType": "S"},
        {"AttributeName": "created", "AttributeType": "N"},
        {"AttributeName": "score", "AttributeType": "N"},
    ]
    gsis = {g["IndexName"]: g for g in params["GlobalSecondaryIndexes"]}
    assert gsis["by_email"] == {
        "IndexName": "by_email",
        "KeySchema": [
            {"AttributeName": "email", "KeyType": "HASH"},
            {"AttributeName": "created", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["name"]},
    }
    assert gsis["score-index"]["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert params["LocalSecondaryIndexes"] == [
        {
            "IndexName": "by_created",
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "created", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ]


def test_provisioned():
    params = create_table_params(
        Indexed, billing_mode="PROVISIONED", read_capacity=5, write_capacity=2
    )
    assert params["BillingMode"] == "PROVISIONED"
    assert params["ProvisionedThroughput"] == {"ReadCapacityUnits": 5, "WriteCapacityUnits": 2}
    for gsi in params["GlobalSecondaryIndexes"]:
        assert gsi["ProvisionedThroughput"] == {"ReadCapacityUnits": 5, "WriteCapacityUnits": 2}
    assert "ProvisionedThroughput" not in params["LocalSecondaryIndexes"][0]
    with pytest.raises(ValueError, match="needs read_capacity"):
        create_table_params(Indexed, billing_mode="PROVISIONED")
    with pytest.raises(ValueError, match="need billing_mode"):
        create_table_params(Indexed, read_capacity=1)


def test_abstract_model_has_no_table():
    from typing import Annotated

    from dynamap import Model, PartitionKey

    class Base(Model):
        pk: Annotated[str, PartitionKey()]

    with pytest.raises(ModelDefinitionError, match="maps to no table"):
        create_table_params(Base)
    assert model_info(Base).indexes == ()
