"""Field names that could be read as another field's, and undeclared attributes."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from _dynamap.model.model import model_info
from dynamap import Model, ModelDefinitionError, PartitionKey, from_item, to_item


def test_alias_equal_to_another_fields_name_is_refused():
    """`x` stored as "y" would be read back as field `y` whenever `y` is absent."""
    with pytest.raises(ModelDefinitionError, match=r"Swapped: fields 'x' and 'y'.*'y'"):

        class Swapped(Model, table="swapped"):
            pk: Annotated[str, PartitionKey()]
            x: str = Field(default="", alias="y")
            y: str | None = Field(default=None, alias="z")


def test_alias_equal_to_an_earlier_fields_name_is_refused():
    with pytest.raises(ModelDefinitionError, match=r"Later: fields 'a' and 'b' both use .*'a'"):

        class Later(Model, table="later"):
            pk: Annotated[str, PartitionKey()]
            a: int = Field(default=0, alias="aa")
            b: int = Field(default=0, alias="a")


def test_alias_choice_equal_to_another_fields_name_is_refused():
    with pytest.raises(ModelDefinitionError, match=r"Choices: fields 'a' and 'b'"):

        class Choices(Model, table="choices"):
            pk: Annotated[str, PartitionKey()]
            a: int = 0
            b: int = Field(default=0, validation_alias=AliasChoices("bee", "a"))


def test_two_fields_stored_under_one_name_are_refused():
    with pytest.raises(
        ModelDefinitionError, match=r"Twice: two fields are stored as attribute 'n' \('a' and 'b'\)"
    ):

        class Twice(Model, table="twice"):
            pk: Annotated[str, PartitionKey()]
            a: int = Field(default=0, alias="n")
            b: int = Field(default=0, alias="n")


def test_collision_in_a_nested_model_is_refused_at_class_creation():
    class Info(BaseModel):
        plot: str = Field(default="", alias="rank")
        rank: int | None = Field(default=None, alias="position")

    with pytest.raises(ModelDefinitionError, match=r"Info: fields 'plot' and 'rank'"):

        class Movie(Model, table="movies"):
            pk: Annotated[str, PartitionKey()]
            info: dict[str, list[Info]] = {}


def test_a_field_read_back_is_its_own_value_not_anothers():
    """With distinct names, an absent attribute reads as the field's own default."""

    class Distinct(Model, table="distinct"):
        pk: Annotated[str, PartitionKey()]
        x: str = Field(default="", alias="ex")
        y: str | None = Field(default=None, alias="why")

    value = Distinct(pk="k", x="only x")
    assert to_item(value) == {"pk": {"S": "k"}, "ex": {"S": "only x"}}
    assert from_item(Distinct, to_item(value)) == value


def test_alias_generator_with_separate_validation_alias_reads_back():
    """A field whose stored name (alias) is not what pydantic reads is read by name."""

    class Generated(Model, table="generated"):
        model_config = ConfigDict(alias_generator=str.upper)
        pk: Annotated[str, PartitionKey()]
        b: int = Field(default=0, validation_alias="bee")

    value = Generated(pk="k", b=5)
    assert to_item(value) == {"PK": {"S": "k"}, "B": {"N": "5"}}
    assert from_item(Generated, to_item(value)) == value
    assert model_info(Generated).codec.by_name["b"].key == "b"


# --- extra="allow": undeclared attributes would be dropped by the next write ---------------


def test_extra_allow_on_a_model_is_refused():
    with pytest.raises(ModelDefinitionError, match=r"Loose: extra='allow' is not supported"):

        class Loose(Model, table="loose", extra="allow"):
            pk: Annotated[str, PartitionKey()]


def test_extra_allow_on_a_nested_model_is_refused_at_class_creation():
    class Info(BaseModel):
        model_config = ConfigDict(extra="allow")
        title: str = ""

    with pytest.raises(ModelDefinitionError, match=r"Info: extra='allow'.*dropped by the next"):

        class Movie(Model, table="movies"):
            pk: Annotated[str, PartitionKey()]
            info: Info | None = None


@pytest.mark.parametrize("extra", ["ignore", "forbid"])
def test_other_extra_settings_are_accepted(extra: Any):
    class Info(BaseModel):
        model_config = ConfigDict(extra=extra)
        title: str = ""

    class Movie(Model, table="movies"):
        pk: Annotated[str, PartitionKey()]
        info: Info | None = None

    value = Movie(pk="m", info=Info(title="t"))
    assert from_item(Movie, to_item(value)) == value
