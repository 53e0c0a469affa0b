"""`projection(Model)`: the ProjectionExpression that fetches exactly a model's attributes."""

from __future__ import annotations

from _dynamap.expr.names import Projection
from _dynamap.model.model import Model, model_info

__all__ = ["projection"]


def projection(model: type[Model]) -> Projection:
    """The projection fetching exactly `model`'s attributes (keys always included).

    Reserved words and names that are not plain identifiers become readable
    `#placeholders`; every other name stays bare. Computed once per class.

    Args:
        model: the model class whose attributes to fetch.
    """
    return model_info(model).projection
