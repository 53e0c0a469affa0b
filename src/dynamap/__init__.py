"""dynamap: a typed, batched, fault-tolerant data-mapper for Amazon DynamoDB on pydantic v2."""

from ._declare import GlobalIndex, IndexProjection, LocalIndex, PartitionKey, SortKey
from ._deferred import Deferred
from ._errors import (
    DecodeError,
    DynamapError,
    EncodeError,
    FlushError,
    InvalidKeyError,
    ItemTooLargeError,
    ModelDefinitionError,
    RequestRejectedError,
    TableNotFoundError,
    UnprocessedError,
)
from ._item import from_item, to_item
from ._model import Model
from ._names import Projection
from ._paths import AttrPath
from ._projection import projection
from ._report import FlushReport, Unprocessed
from ._retry import RetryPolicy
from ._schema import create_table_params
from ._session import KeyValue, Session
from ._transport import Boto3Transport, Transport, TransportError

__version__ = "0.1.0"

__all__ = [
    "AttrPath",
    "Boto3Transport",
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
    "PartitionKey",
    "Projection",
    "RequestRejectedError",
    "SortKey",
    "TableNotFoundError",
    "UnprocessedError",
    "__version__",
    "create_table_params",
    "from_item",
    "projection",
    "to_item",
]
