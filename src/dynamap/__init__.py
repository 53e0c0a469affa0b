"""dynamap: a typed, batched, fault-tolerant data-mapper for Amazon DynamoDB on pydantic v2."""

# The implementation lives in the private package `_dynamap` (as pytest's lives in
# `_pytest`), so that editors completing `dynamap.` offer the public names only.
# Queries and scans (issue 10).
from _dynamap.core.cursor import Cursor, QueryError
from _dynamap.core.report import ConditionFailure, FlushReport, QueryReport, Unprocessed
from _dynamap.core.retry import RetryPolicy
from _dynamap.core.transact import CancellationReason, TransactionCanceledError
from _dynamap.declare.markers import (
    Attr,
    Discriminator,
    GlobalIndex,
    IndexProjection,
    LocalIndex,
    PartitionKey,
    SortKey,
    Version,
)
from _dynamap.errors import (
    ConditionFailedError,
    DecodeError,
    DynamapError,
    EncodeError,
    FlushError,
    InvalidCursorError,
    InvalidKeyError,
    ItemTooLargeError,
    ModelDefinitionError,
    RequestRejectedError,
    StaleDataError,
    TableNotFoundError,
    TransportError,
    UnprocessedError,
)
from _dynamap.expr.conditions import Condition
from _dynamap.expr.names import Projection
from _dynamap.expr.operands import Operand, SetValue, UpdateOperand
from _dynamap.expr.paths import AttrPath
from _dynamap.expr.render import render_expressions
from _dynamap.expr.sortkeys import SortCondition, begins_with, between, ge, gt, le, lt
from _dynamap.expr.updates import Update
from _dynamap.model.item import from_item, to_item
from _dynamap.model.keys import KeyValue
from _dynamap.model.model import Model
from _dynamap.model.projection import projection
from _dynamap.model.schema import create_table_params
from _dynamap.session.deferred import Deferred
from _dynamap.session.query import Page, Query, Scan
from _dynamap.session.readtx import ReadTransaction
from _dynamap.session.sync import Session
from _dynamap.session.transaction import Transaction
from _dynamap.transport.base import Transport
from _dynamap.transport.boto3 import Boto3Transport

# -- the fast transport (issue 12) --
from _dynamap.transport.fast import FastTransport

__version__ = "0.1.0"

__all__ = [
    "Attr",
    "AttrPath",
    "Boto3Transport",
    "Condition",
    "ConditionFailedError",
    "ConditionFailure",
    "DecodeError",
    "Deferred",
    "FlushReport",
    "KeyValue",
    "RetryPolicy",
    "Session",
    "Transport",
    "TransportError",
    "Unprocessed",
    "DynamapError",
    "EncodeError",
    "FlushError",
    "GlobalIndex",
    "IndexProjection",
    "InvalidKeyError",
    "ItemTooLargeError",
    "LocalIndex",
    "Model",
    "ModelDefinitionError",
    "Operand",
    "PartitionKey",
    "Projection",
    "RequestRejectedError",
    "SetValue",
    "SortKey",
    "StaleDataError",
    "TableNotFoundError",
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
