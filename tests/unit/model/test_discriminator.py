"""Discriminator declarations and the kinds items hold."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest

from _dynamap.model.discriminator import KindMismatch, check_kind, kind_of
from _dynamap.model.model import model_info
from dynamap import Discriminator, Model, ModelDefinitionError, PartitionKey, SortKey


class Numbered(Model, table="kinds-numbered"):
    pk: Annotated[str, PartitionKey()]
    kind: Annotated[Literal[7], Discriminator()] = 7


def test_an_int_kind_is_stored_as_a_number() -> None:
    kind = model_info(Numbered).kind
    assert kind is not None and kind.wire == {"N": "7"} and kind.value == 7
    assert kind_of({"kind": {"N": "7"}}, "kind") == 7
    assert kind_of({"kind": {"N": "7.5"}}, "kind") == "7.5"  # not an int: kept as text
    assert kind_of({"kind": {"BOOL": True}}, "kind") is None
    assert kind_of({}, "kind") is None
    check_kind(kind, "Numbered", {"kind": {"N": "7"}})
    check_kind(kind, "Numbered", {})  # written before the model had a discriminator
    with pytest.raises(KindMismatch, match="kind=8, not Numbered's 7"):
        check_kind(kind, "Numbered", {"kind": {"N": "8"}})


def test_declaration_errors_name_the_field() -> None:
    with pytest.raises(ModelDefinitionError, match="2 Discriminator"):

        class Two(Model, table="kinds-two"):
            pk: Annotated[str, PartitionKey()]
            a: Annotated[Literal["a"], Discriminator()] = "a"
            b: Annotated[Literal["b"], Discriminator()] = "b"

    with pytest.raises(ModelDefinitionError, match=r"Keyed\.sk: a key attribute"):

        class Keyed(Model, table="kinds-keyed"):
            pk: Annotated[str, PartitionKey()]
            sk: Annotated[Literal["x"], SortKey(), Discriminator()] = "x"

    with pytest.raises(ModelDefinitionError, match="Literal of one"):

        class Two_values(Model, table="kinds-values"):
            pk: Annotated[str, PartitionKey()]
            kind: Annotated[Literal["a", "b"], Discriminator()] = "a"


def test_an_abstract_model_claims_no_value() -> None:
    class Base(Model):
        pk: Annotated[str, PartitionKey()]
        kind: Annotated[Literal["base"], Discriminator()] = "base"

    class Concrete(Base, table="kinds-abstract"):
        pass

    assert model_info(Concrete).kind is not None
