"""dynamap quickstart: declare models, create tables, write and read through a Session.

Runs against an in-process moto backend by default. Set DYNAMAP_ENDPOINT_URL
(e.g. http://127.0.0.1:8000 for DynamoDB Local) to use a real endpoint instead;
AWS credentials and region then come from the usual boto3 settings (region
defaults to us-east-1 here).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Annotated, Any, ClassVar

import boto3

from dynamap import (
    Attr,
    GlobalIndex,
    Model,
    PartitionKey,
    Session,
    SortKey,
    create_table_params,
    projection,
)


class User(Model, table="users"):
    pk: Annotated[str, PartitionKey()]
    sk: Annotated[str, SortKey()]
    name: str
    status: str = "active"  # a DynamoDB reserved word: projected as #status
    user_id: Annotated[str, Attr("user-id")] = ""  # not an identifier: #user_id
    tags: set[str] = set()

    by_status: ClassVar[GlobalIndex] = GlobalIndex("status", projection="KEYS_ONLY")


class Order(Model, table="orders"):
    pk: Annotated[str, PartitionKey()]
    total: Decimal
    items: list[str] = []


@contextlib.contextmanager
def dynamodb_client() -> Iterator[Any]:
    """A DynamoDB client: the configured endpoint, or moto in-process."""
    endpoint = os.environ.get("DYNAMAP_ENDPOINT_URL")
    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    if endpoint:
        print(f"backend: {endpoint}")
        yield boto3.client("dynamodb", endpoint_url=endpoint, region_name=region)
        return
    from moto import mock_aws

    print("backend: moto (in-process); set DYNAMAP_ENDPOINT_URL to use a real endpoint")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("dynamodb", region_name=region)


def main() -> None:
    prefix = f"quickstart-{uuid.uuid4().hex[:6]}-"  # fresh tables on every run
    with dynamodb_client() as client:
        for model in (User, Order):
            params = create_table_params(model, table_prefix=prefix)
            client.create_table(**params)
            client.get_waiter("table_exists").wait(TableName=params["TableName"])
        print("projection for User:", projection(User).expression, dict(projection(User).names))

        # 1. Writes are collected and sent as batched BatchWriteItem calls at flush.
        with Session(client, table_prefix=prefix) as session:
            for i in range(60):
                session.put(User(pk=f"user#{i}", sk="profile", name=f"User {i}", tags={"new"}))
            session.put(Order(pk="order#1", total=Decimal("19.90"), items=["book", "pen"]))
            report = session.flush()
        print(f"wrote {report.items_written} items in {report.requests} requests")

        # 2. Gets are deferred, de-duplicated and read in BatchGetItem calls of up to 100 keys.
        with Session(client, table_prefix=prefix) as session:
            ann = session.get(User, "user#7", "profile")
            again = session.get(User, "user#7", "profile")  # same key: same deferred
            order = session.get(Order, "order#1")
            nobody = session.get(User, "user#999", "profile")
            report = session.flush()
            print(
                f"read {report.items_read} items, {report.items_not_found} missing, "
                f"in {report.requests} request(s); same object: {ann.result() is again.result()}"
            )
            print("order:", order.result())
            print("missing:", nobody.result())
            user = ann.result()
            assert user is not None
            user.status = "premium"  # changed instances are written back on exit

        with Session(client, table_prefix=prefix) as session:
            print("after write-back:", session.get(User, "user#7", "profile").result())


if __name__ == "__main__":
    main()
