"""Adversarial: the JSON shortcut writes exactly what the checked encoder writes."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Annotated, Any

import pytest

from _dynamap.model.limits import encode_json
from _dynamap.model.model import model_info
from _dynamap.transport.wire import RawItem
from dynamap import Attr, Model, PartitionKey, SortKey, to_item

HOSTILE = ['"', "\\", '\\"', "\x00", "\x1f\x7f", "\u2028\u2029", "😀𝄞", "a\tb\nc", "é", "]}"]


class Wild(Model, table="wild"):
    pk: Annotated[str, PartitionKey(), Attr('p"k\\')]
    sk: Annotated[int, SortKey(), Attr("s\x01k😀")]
    a: Annotated[str, Attr("\u2028")] = ""
    b: Annotated[float, Attr("}{")] = 0.0
    c: Annotated[Decimal, Attr('"\\"')] = Decimal(0)
    d: Annotated[dict[str, Any], Attr("\t")] = {}
    e: Annotated[list[int], Attr("𝄞")] = []
    f: Annotated[set[str], Attr("\x7f")] = set()
    g: Annotated[list[str], Attr(" ")] = []
    h: Annotated[Any, Attr("é")] = None
    i: datetime.datetime | None = None
    j: uuid.UUID | None = None
    k: int | None = None
    m: list[Any] = []


NUMBERS: list[Any] = [
    Decimal("9.9999999999999999999999999999999999999E+125"),
    Decimal("-9.9999999999999999999999999999999999999E+125"),
    Decimal("1E-130"),
    Decimal("-1E-130"),
    Decimal("12345678901234567890123456789012345678"),
    Decimal("-0.00000000000000000000000000000000000001"),
    Decimal("1.50"),
    Decimal("-0"),
    Decimal("0E-10"),
    Decimal("1E+2"),
    1e-130,
    -1e-130,
    9.99e125,
    -9.99e125,
    5e-324,
    1e-05,
    -0.0,
    2**63,
    -(2**63),
    10**37,
    -(10**38) + 1,
    True,
]


def _cases() -> list[Wild]:
    out: list[Wild] = []
    for n, s in enumerate(HOSTILE):
        out.append(
            Wild(
                pk=s + "x",
                sk=-n,
                a=s,
                d={s or "k": s, "n" + s: {s + "z": [s, 1, None, True, 2.5]}},
                e=[1, -2, 3],
                f={s + "1", s + "2"},
                g=[s, ""],
                h={"x": s},
                i=datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc),
                j=uuid.UUID(int=n),
                k=-(10**20),
                m=[s, {s + "m": s}],
            )
        )
    for n, num in enumerate(NUMBERS):
        values: dict[str, Any] = {"pk": "n", "sk": n, "h": num, "d": {"v": num}, "m": [num]}
        if isinstance(num, float):
            values["b"] = num
        if isinstance(num, Decimal):
            values["c"] = num
        out.append(Wild(**values))
    return out


@pytest.mark.parametrize("instance", _cases())
def test_shortcut_json_reads_back_as_the_checked_item(instance: Wild):
    raw = encode_json(model_info(Wild), instance)
    try:
        expected = to_item(instance)
    except Exception:
        assert raw is None
        return
    if raw is not None:
        assert RawItem(raw).item() == expected
