"""The version field of a model with optimistic locking (`Annotated[int, Version()]`)."""

from __future__ import annotations

from pydantic import BaseModel

from _dynamap.codec.modelcodec import FieldCodec, ModelCodec
from _dynamap.declare.annotations import strip_annotated
from _dynamap.declare.markers import PartitionKey, SortKey, Version
from _dynamap.errors import ModelDefinitionError

__all__ = ["find_version"]


def find_version(model: type[BaseModel], codec: ModelCodec) -> FieldCodec | None:
    """The field marked `Version()`, checked (one, a plain int, not a key), or None."""
    marked = [
        name
        for name, info in model.model_fields.items()
        if any(isinstance(m, Version) for m in info.metadata)
    ]
    if not marked:
        return None
    where = f"{model.__qualname__}.{marked[0]}"
    if len(marked) > 1:
        raise ModelDefinitionError(
            f"{model.__qualname__} declares {len(marked)} Version() fields "
            f"({', '.join(marked)}); at most one is allowed"
        )
    info = model.model_fields[marked[0]]
    if any(isinstance(m, PartitionKey | SortKey) for m in info.metadata):
        raise ModelDefinitionError(f"{where}: a key attribute cannot be the Version()")
    if strip_annotated(info.annotation) is not int:
        raise ModelDefinitionError(f"{where}: a Version() field must be a plain int")
    if info.is_required():
        raise ModelDefinitionError(f"{where}: a Version() field needs a default (usually 0)")
    return codec.by_name[marked[0]]
