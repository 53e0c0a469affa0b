"""Creating the tables of dynamap models on a test backend."""

from __future__ import annotations

from typing import Any

from dynamap import Model, create_table_params


def create_tables(client: Any, prefix: str, *models: type[Model]) -> None:
    """Create (and wait for) the table of each model, named with `prefix`."""
    seen: set[str] = set()
    for model in models:
        params = create_table_params(model, table_prefix=prefix)
        if params["TableName"] in seen:
            continue
        seen.add(params["TableName"])
        client.create_table(**params)
        client.get_waiter("table_exists").wait(
            TableName=params["TableName"], WaiterConfig={"Delay": 0.1, "MaxAttempts": 200}
        )


def scan_all(client: Any, table: str) -> list[dict[str, Any]]:
    """Every item of `table`, read directly with paginated Scan (not through dynamap)."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = client.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
