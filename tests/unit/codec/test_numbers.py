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
