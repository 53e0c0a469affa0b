"""Values to DynamoDB AttributeValues and back: numbers, sizes, compiled per-class codecs."""

# Registers the nested-model lookup that value codecs call through (see `nested`).
from _dynamap.codec import modelcodec as _modelcodec  # noqa: F401  # pyright: ignore[reportUnusedImport]
