"""The public surface is curated: changing it must be a deliberate act."""

from __future__ import annotations

import dynamap

PINNED = [
    "Attr",
    "AttrPath",
    "Boto3Transport",
    "Condition",
    "ConditionFailedError",
    "ConditionFailure",
    "DecodeError",
    "Deferred",
    "DynamapError",
    "EncodeError",
    "FlushError",
    "FlushReport",
    "GlobalIndex",
    "IndexProjection",
    "InvalidKeyError",
    "ItemTooLargeError",
    "KeyValue",
    "LocalIndex",
    "Model",
    "ModelDefinitionError",
    "Operand",
    "PartitionKey",
    "Projection",
    "RequestRejectedError",
    "SetValue",
    "RetryPolicy",
    "Session",
    "SortKey",
    "StaleDataError",
    "TableNotFoundError",
    "Transport",
    "TransportError",
    "Unprocessed",
    "UnprocessedError",
    "Update",
    "UpdateOperand",
    "Version",
    "__version__",
    "create_table_params",
    "from_item",
    "projection",
    "render_expressions",
    "to_item",
    # Queries and scans.
    "Cursor",
    "Discriminator",
    "InvalidCursorError",
    "Page",
    "Query",
    "QueryError",
    "QueryReport",
    "Scan",
    "SortCondition",
    "begins_with",
    "between",
    "ge",
    "gt",
    "le",
    "lt",
    # Transactions (issue 11).
    "CancellationReason",
    "ReadTransaction",
    "Transaction",
    "TransactionCanceledError",
    # -- the fast transport (issue 12) --
    "FastTransport",
]


def test_all_is_pinned():
    assert sorted(dynamap.__all__) == sorted(PINNED)
    assert len(set(dynamap.__all__)) == len(dynamap.__all__)


def test_every_name_exists_and_is_documented():
    for name in dynamap.__all__:
        obj = getattr(dynamap, name)
        if name not in ("__version__", "KeyValue", "IndexProjection"):
            assert obj.__doc__, f"{name} has no docstring"


def test_errors_share_a_base():
    for name in dynamap.__all__:
        obj = getattr(dynamap, name)
        if isinstance(obj, type) and name.endswith("Error") and name != "TransportError":
            assert issubclass(obj, dynamap.DynamapError), name
