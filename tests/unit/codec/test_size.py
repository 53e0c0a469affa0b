"""Item size exactly as DynamoDB counts it, and the limits found while sizing.

The figures marked "measured" were measured byte for byte on DynamoDB Local 3.3.1 (see
tests/backend/test_limits_dynamodb.py, which checks these rules against the server).
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _dynamap.codec.size import MAX_DEPTH, item_size, number_size, value_size
from _dynamap.codec.values import encode_any, sized_any, sized_list, sized_map
from dynamap import EncodeError

# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [  # measured
        ("0", 1),
        ("-0", 1),
        ("0.000", 1),
        ("1", 2),
        ("9", 2),
        ("10", 2),
        ("99", 2),
        ("100", 2),
        ("101", 3),
        ("1.01", 3),
        ("1000010", 5),
        ("1.5", 3),
        ("-1.5", 4),
        ("0.5", 2),
        ("0.05", 2),
        ("0.005", 2),
        ("3.14159", 5),
        ("-1", 3),
        ("1" * 38, 20),
        ("-" + "1" * 38, 21),
        ("1." + "1" * 37, 21),
        ("-1." + "1" * 37, 21),
        ("1" + "0" * 125, 2),
        ("1E-130", 2),
        ("1.50", 3),
        ("1E2", 2),
        ("007", 2),
        ("+.5e+1", 2),
        ("1e-07", 2),
        ("1.5e+16", 3),
    ],
)
def test_number_size(text: str, size: int):
    assert number_size(text) == size


def reference_number_size(d: Decimal) -> int:
    """Independent of number_size: lay the digits out in pairs around the point and count."""
    if d == 0:
        return 1
    sign, digits, exp = d.as_tuple()
    assert isinstance(exp, int)
    text = "".join(map(str, digits))
    if exp >= 0:
        whole, frac = text + "0" * exp, ""
    elif len(text) + exp > 0:
        whole, frac = text[: len(text) + exp], text[len(text) + exp :]
    else:
        whole, frac = "", "0" * -(len(text) + exp) + text
    whole = "0" * (len(whole) % 2) + whole
    frac += "0" * (len(frac) % 2)
    pairs = [s[i : i + 2] for s in (whole, frac) for i in range(0, len(s), 2)]
    while pairs[0] == "00":
        pairs.pop(0)
    while pairs[-1] == "00":
        pairs.pop()
    return min(1 + len(pairs) + sign, 21)


WIDE = decimal.Context(prec=100)


def spellings(d: Decimal) -> set[str]:
    """Every way of writing `d` that DynamoDB accepts and normalises to the same number."""
    fixed = f"{d:f}"
    out = {str(d), fixed, f"{d:E}", f"{d:e}", f"{WIDE.normalize(d):f}"}
    unsigned = fixed.lstrip("-")
    sign = "-" if fixed.startswith("-") else ""
    out.add(sign + "00" + unsigned)
    out.add(fixed + ("0" if "." in fixed else ".00"))
    if not sign:
        out.add("+" + fixed)
    sig, _, exp = f"{d:E}".partition("E")
    out.add(f"{sig}0e{int(exp)}" if "." in sig else f"{sig}.0E{int(exp):+d}")
    return out


storable_decimals = st.builds(
    lambda sign, digits, exp: Decimal((sign, tuple(int(c) for c in str(digits)), exp)),
    st.integers(0, 1),
    st.one_of(st.integers(1, 10**38 - 1), st.integers(1, 999), st.sampled_from([1, 10, 100])),
    st.integers(-130, 88),
).filter(lambda d: -130 <= d.adjusted() <= 125)


@settings(max_examples=500)
@given(storable_decimals)
def test_number_size_of_any_spelling(d: Decimal):
    expected = reference_number_size(d)
    for text in spellings(d):
        assert number_size(text) == expected, text


@settings(max_examples=500)
@given(storable_decimals)
def test_a_numbers_text_length_plus_one_bounds_its_size(d: Decimal):
    """encode_checked counts len(text) + 1 for a number (codec/generate.py): never less."""
    from _dynamap.codec.numbers import decimal_to_wire

    for text in {*spellings(d), decimal_to_wire(d), str(float(d))}:
        assert len(text) + 1 >= number_size(text), text


@settings(max_examples=300)
@given(st.integers(-(10**38) + 1, 10**38 - 1) | st.sampled_from([0, 100, -100, 10**37, 1000010]))
def test_sizes_of_ints_on_every_encoding_path(i: int):
    expected = reference_number_size(Decimal(i))
    assert number_size(str(i)) == expected
    assert sized_any(i)[1] == expected
    assert sized_list([i])[1] == 3 + 1 + expected
    assert sized_map({"k": i})[1] == 3 + 1 + 1 + expected
    assert value_size(encode_any(i)) == expected


# --- names and map keys count UTF-8 bytes ------------------------------------------------------


def test_map_keys_count_utf8_bytes():
    assert sized_map({"日本": "x"}) == ({"M": {"日本": {"S": "x"}}}, 3 + 1 + 6 + 1)
    assert sized_map({"é": 1.5})[1] == 3 + 1 + 2 + 3
    assert sized_any([{"😀": None}])[1] == 3 + 1 + 3 + 1 + 4 + 1
    assert value_size({"M": {"日本": {"S": "x"}}}) == 11
    assert item_size({"日本": {"M": {"é": {"NULL": True}}}}) == 6 + 3 + 1 + 2 + 1


def reference_value_size(av: dict[str, Any]) -> int:
    ((kind, value),) = av.items()
    if kind == "S":
        return len(value.encode())
    if kind == "N":
        return reference_number_size(Decimal(value))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "B":
        return len(value)
    if kind == "L":
        return 3 + sum(1 + reference_value_size(v) for v in value)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + reference_value_size(v) for k, v in value.items())
    if kind == "SS":
        return sum(len(s.encode()) for s in value)
    if kind == "NS":
        return sum(reference_number_size(Decimal(n)) for n in value)
    assert kind == "BS"
    return sum(len(b) for b in value)


keys = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=4)
numbers = st.one_of(
    st.integers(-(10**38) + 1, 10**38 - 1),
    storable_decimals,
    st.floats(allow_nan=False, allow_infinity=False).filter(
        lambda f: f == 0 or 1e-130 <= abs(f) < 1e125
    ),
)
leaves = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",))),
    numbers,
    st.booleans(),
    st.none(),
    st.binary(),
    st.frozensets(st.text(max_size=3), min_size=1, max_size=3),
    st.frozensets(st.integers(-1000, 10**20), min_size=1, max_size=3),
)
values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=16,
)


@settings(max_examples=300)
@given(values)
def test_size_while_encoding_is_exact(value: Any):
    av, size = sized_any(value)
    assert size == value_size(av) == reference_value_size(av)


# --- what sizing refuses: lone surrogates, deep nesting, duplicate numbers --------------------


@pytest.mark.parametrize(
    "size",
    [
        lambda: value_size({"S": "a\ud800"}),
        lambda: value_size({"SS": ["ok", "\udfff"]}),
        lambda: value_size({"M": {"\ud800": {"NULL": True}}}),
        lambda: item_size({"\ud800": {"NULL": True}}),
        lambda: sized_any("é\ud800"),
        lambda: sized_list(["x", "é\ud800"]),
        lambda: sized_map({"k": "\ud800"}),
        lambda: sized_map({"\ud800": 1}),
    ],
)
def test_text_without_a_utf8_form_is_an_encode_error(size: Any):
    with pytest.raises(EncodeError, match="lone surrogate"):
        size()


def nested_lists(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def nested_avs(depth: int) -> dict[str, Any]:
    av: dict[str, Any] = {"L": []}
    for i in range(depth - 1):
        av = {"M": {"a": av}} if i % 2 else {"L": [{"NULL": True}, av]}
    return av


def test_nesting_is_counted_exactly():
    assert MAX_DEPTH == 31  # measured: 31 maps or lists in one attribute; 32 are refused
    assert value_size(nested_avs(31)) > 0
    assert sized_any(nested_lists(31))[1] == 3 * 31 + 30
    with pytest.raises(EncodeError, match="nested more than 31"):
        value_size(nested_avs(32))
    with pytest.raises(EncodeError, match="nested more than 31"):
        sized_any(nested_lists(32))
    with pytest.raises(EncodeError, match="nested more than 31"):
        sized_map({"a": nested_lists(31)})


@pytest.mark.parametrize("depth", [1000, 5000])
def test_deep_nesting_is_an_encode_error_not_a_recursion_error(depth: int):
    deep = nested_lists(depth)
    with pytest.raises(EncodeError, match="nested more than 31"):
        encode_any(deep)
    with pytest.raises(EncodeError, match="nested more than 31"):
        sized_any({"x": deep})
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(EncodeError, match="nested more than 31"):
        encode_any(cycle)


@pytest.mark.parametrize(
    "members",
    [["0.1", "0.10"], ["1", "1.0"], ["-0", "0"], ["0.1", "0.1"], ["1E2", "5", "100"]],
)
def test_numbers_equal_after_normalisation_are_duplicates(members: list[str]):
    with pytest.raises(EncodeError, match="duplicate"):
        value_size({"NS": members})


def test_a_float_and_a_decimal_of_one_number_in_one_set():
    assert len({0.1, Decimal("0.1")}) == 2  # different Python numbers, one DynamoDB number
    for members in ({0.1, Decimal("0.1")}, {1.5e-07, Decimal("0.00000015")}):
        with pytest.raises(EncodeError, match="duplicate"):
            sized_any(members)
    assert value_size({"NS": ["1", "-1", "0.1", "0.01"]}) == 2 + 3 + 2 + 2
