"""Canonical numbers: DynamoDB's normalisation, used for key identity."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from _dynamap.codec.numbers import canonical_number, decimal_to_wire, float_to_wire, int_to_wire
from dynamap import EncodeError


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("1.50", "1.5"),
        ("1E2", "100"),
        ("007", "7"),
        ("-0", "0"),
        ("0.000", "0"),
        ("-12", "-12"),
        ("1.5e-7", "0.00000015"),
        ("-0.0010", "-0.001"),
        ("12345678901234567890123456789012345678", "12345678901234567890123456789012345678"),
    ],
)
def test_canonical_number(sent, stored):
    assert canonical_number(sent) == stored


@given(st.decimals(allow_nan=False, allow_infinity=False, places=6))
def test_canonical_is_spelling_independent(d: Decimal):
    spellings = {str(d), f"{d:f}", f"{d:E}", str(d) + ("0" if "." in str(d) else "")}
    assert len({canonical_number(s) for s in spellings}) == 1


def test_wire_forms():
    assert int_to_wire(-5) == "-5"
    assert float_to_wire(0.1) == "0.1"
    assert decimal_to_wire(Decimal("-0")) == "0"
    with pytest.raises(EncodeError, match="finite"):
        float_to_wire(float("nan"))
    with pytest.raises(EncodeError, match="not a number"):
        canonical_number("abc")


# --- no rounding, at any length ------------------------------------------------------------

LENGTHS = [39, 48, 49, 50, 100, 1000]


def long_numbers(n: int) -> list[object]:
    """Numbers of exactly `n` significant digits that a 48-digit context would round away."""
    tail_one = 10 ** (n - 1) + 1  # 1000...0001
    return [
        tail_one,
        -tail_one,
        Decimal(tail_one),
        Decimal("9" * n),  # rounds up to 1E+n
        Decimal("0." + "1" * n),
        Decimal("-" + "1" * (n - 1) + ".5"),
    ]


@pytest.mark.parametrize("n", LENGTHS)
def test_numbers_beyond_38_digits_are_refused_at_any_length(n: int):
    for value in long_numbers(n):
        encode = int_to_wire if isinstance(value, int) else decimal_to_wire
        with pytest.raises(EncodeError, match=rf"\b{n} significant digits.*at most 38"):
            encode(value)  # type: ignore[operator]


def test_trailing_zeros_of_a_long_integer_do_not_count():
    assert int_to_wire(12 * 10**60) == "12" + "0" * 60
    assert decimal_to_wire(Decimal("1" * 38 + "0" * 50)) == "1" * 38 + "0" * 50
    assert decimal_to_wire(Decimal("1.5" + "0" * 100)) == "1.5"


@pytest.mark.parametrize(
    "value",
    [
        Decimal("1E+1000000"),
        Decimal("-1E+1000000"),
        Decimal("1E-1000000"),
        Decimal("1E+126"),
        Decimal("-1E-131"),
        10**126,
    ],
)
def test_numbers_out_of_range_are_encode_errors_not_decimal_signals(value: object):
    encode = int_to_wire if isinstance(value, int) else decimal_to_wire
    with pytest.raises(EncodeError, match="range"):
        encode(value)  # type: ignore[operator]


def test_huge_zeros_are_zero():
    assert decimal_to_wire(Decimal("0E+1000000")) == "0"
    assert decimal_to_wire(Decimal("-0E-1000000")) == "0"
    assert canonical_number("0E+1000000") == "0"


def test_floats_are_exact_and_checked():
    for f in (1.2345678901234567e125, -9.99999999999999e125, 1e-130, 2.5e-130):
        assert float(float_to_wire(f)) == f
    assert canonical_number(float_to_wire(1e-130)) == "0." + "0" * 129 + "1"
    for bad in (1e126, 1e300, 5e-324, 1e-131):
        with pytest.raises(EncodeError, match="range"):
            float_to_wire(bad)


def test_error_states_the_digits_of_an_int_too_long_to_print():
    huge = 10**5000 + 1  # repr() of this int raises ValueError (int max str digits)
    with pytest.raises(EncodeError, match="5001 significant digits"):
        int_to_wire(huge)


@pytest.mark.parametrize("n", LENGTHS)
def test_canonical_number_never_rounds_two_numbers_into_one(n: int):
    a, b = 10 ** (n - 1), 10 ** (n - 1) + 1
    assert canonical_number(str(a)) != canonical_number(str(b))
    assert canonical_number("9" * n) != canonical_number(f"1E+{n}")
    assert canonical_number("0." + "1" * n) != canonical_number("0." + "1" * (n - 1))
    assert canonical_number(f"{b}E-{n + 200}") != canonical_number(f"{a}E-{n + 200}")


def test_canonical_number_of_huge_exponents():
    assert canonical_number("1E+1000000") == canonical_number("10E+999999")
    assert canonical_number("1E+1000000") != canonical_number("1E+999999")
    assert canonical_number("-1.50E-500") == canonical_number("-15E-501")


big_decimals = st.builds(
    lambda sign, digits, exp: Decimal((sign, tuple(int(c) for c in str(digits)), exp)),
    st.integers(0, 1),
    st.integers(1, 10**120),
    st.integers(-400, 400),
)


@given(big_decimals, big_decimals)
def test_canonical_identity_is_numeric_equality(a: Decimal, b: Decimal):
    assert (canonical_number(str(a)) == canonical_number(str(b))) == (a == b)
    assert canonical_number(str(a)) == canonical_number(f"{a:E}")
