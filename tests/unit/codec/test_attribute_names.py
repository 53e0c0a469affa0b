"""Attribute names are data: generated code never reads them as source or as a template."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import Field, create_model

from _dynamap.model.model import model_info
from dynamap import Model, PartitionKey, from_item, projection, to_item

# Names that would break code generated through str.format, f-strings or bare source text.
HOSTILE = [
    "{{",
    "}}",
    "{data}",
    "{0}",
    "{!r}",
    "a'b",
    'a"b',
    "'''",
    "a\\b",
    "\\",
    "line\nbreak",
    "tab\there",
    "%s",
    "%(x)s",
    "#hash",
    "a:b",
    ":v",
    "naïve 名前 🙂",
    "__import__('os').system('false')",
    ")]; raise SystemExit #",
]


def hostile_model(name: str = "Hostile") -> type[Model]:
    fields: dict[str, Any] = {
        f"f{i}": (str, Field(default="", alias=attr)) for i, attr in enumerate(HOSTILE)
    }
    return create_model(  # type: ignore[call-overload, no-any-return]
        name,
        __base__=Model,
        __cls_kwargs__={"table": "hostile"},
        pk=(Annotated[str, PartitionKey()], ...),
        count=(int, Field(default=0, alias="{n}")),
        **fields,
    )


def test_hostile_names_are_stored_verbatim_and_round_trip():
    hostile = hostile_model()
    values = {f"f{i}": f"value {i}" for i in range(len(HOSTILE))}
    instance = hostile(pk="k", count=7, **values)
    item = to_item(instance)
    assert set(item) == {"pk", "{n}", *HOSTILE}
    assert item["{n}"] == {"N": "7"}
    for i, attr in enumerate(HOSTILE):
        assert item[attr] == {"S": f"value {i}"}
    # Read back as stored, never as the field's default (a write-back would then erase it).
    back = from_item(hostile, item)
    assert back == instance
    assert back.model_dump()["f2"] == "value 2"
    codec = model_info(hostile).codec
    assert codec.to_python(item)["{data}"] == "value 2"


def test_hostile_names_read_inline_fallback_and_absent():
    hostile = hostile_model("HostileRead")
    item: dict[str, Any] = {"pk": {"S": "k"}, "{n}": {"N": "5.0"}, "{{": {"NULL": True}}
    back = from_item(hostile, item)
    assert back.model_dump(by_alias=True)["{n}"] == 5  # via the full decoder
    assert back.model_dump()["f0"] == ""  # NULL reads as absent


def test_hostile_names_in_projection():
    p = projection(hostile_model("HostileProjection"))
    assert set(p.names.values()) == {"{n}", *HOSTILE}
    assert all(token.startswith("#") for token in p.names)


@pytest.mark.parametrize(
    ("annotation", "value", "wire"),
    [
        (int | None, 3, {"N": "3"}),  # read inline
        (list[int] | None, [3], {"L": [{"N": "3"}]}),  # read by the field's decoder
    ],
)
@pytest.mark.parametrize("attr", HOSTILE)
def test_each_hostile_name_alone(attr: str, annotation: Any, value: Any, wire: Any):
    model = create_model(  # type: ignore[call-overload]
        "One",
        __base__=Model,
        __cls_kwargs__={"table": "one"},
        pk=(Annotated[str, PartitionKey()], ...),
        value=(annotation, Field(default=None, alias=attr)),
    )
    instance = model(pk="k", value=value)
    assert to_item(instance) == {"pk": {"S": "k"}, attr: wire}
    assert from_item(model, to_item(instance)).value == value
