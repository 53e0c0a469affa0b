"""Declarations users write on models: key markers and secondary indexes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["GlobalIndex", "LocalIndex", "PartitionKey", "SortKey", "IndexProjection"]

IndexProjection = Literal["ALL", "KEYS_ONLY"] | Sequence[str]
"""`"ALL"`, `"KEYS_ONLY"`, or a sequence of field names for an INCLUDE projection."""


@dataclass(frozen=True)
class PartitionKey:
    """Marks the table's partition (hash) key: `pk: Annotated[str, PartitionKey()]`."""


@dataclass(frozen=True)
class SortKey:
    """Marks the table's sort (range) key: `sk: Annotated[str, SortKey()]`."""


class _Index:
    """Shared behaviour of the index declarations."""

    kind = ""

    def __init__(self, *, name: str | None, projection: IndexProjection) -> None:
        if isinstance(projection, str):
            if projection not in ("ALL", "KEYS_ONLY"):
                raise ValueError(
                    f"index projection must be 'ALL', 'KEYS_ONLY' or a list of field names, "
                    f"got {projection!r}"
                )
            self.projection: Literal["ALL", "KEYS_ONLY"] | tuple[str, ...] = projection
        else:
            self.projection = tuple(projection)
        self._name = name

    def __set_name__(self, owner: type, attr: str) -> None:
        # An index declared as a class attribute is named after it unless named explicitly.
        if self._name is None:
            self._name = attr

    @property
    def name(self) -> str:
        """The DynamoDB index name."""
        if self._name is None:
            raise AttributeError(f"{type(self).__name__} has no name: pass name= or assign it")
        return self._name


class GlobalIndex(_Index):
    """A global secondary index, declared as a `ClassVar` on a model.

    ```python
    by_email: ClassVar[GlobalIndex] = GlobalIndex("email", "created", projection="KEYS_ONLY")
    ```
    Key fields are given by their Python field names.
    """

    kind = "global"

    def __init__(
        self,
        partition_key: str,
        sort_key: str | None = None,
        *,
        name: str | None = None,
        projection: IndexProjection = "ALL",
        read_capacity: int | None = None,
        write_capacity: int | None = None,
    ) -> None:
        super().__init__(name=name, projection=projection)
        self.partition_key = partition_key
        self.sort_key = sort_key
        self.read_capacity = read_capacity
        self.write_capacity = write_capacity

    def __repr__(self) -> str:
        return (
            f"GlobalIndex({self.partition_key!r}, {self.sort_key!r}, name={self._name!r}, "
            f"projection={self.projection!r})"
        )


class LocalIndex(_Index):
    """A local secondary index: the table's partition key with another sort key.

    ```python
    by_created: ClassVar[LocalIndex] = LocalIndex("created")
    ```
    """

    kind = "local"

    def __init__(
        self,
        sort_key: str,
        *,
        name: str | None = None,
        projection: IndexProjection = "ALL",
    ) -> None:
        super().__init__(name=name, projection=projection)
        self.sort_key = sort_key

    def __repr__(self) -> str:
        return f"LocalIndex({self.sort_key!r}, name={self._name!r}, projection={self.projection!r})"
