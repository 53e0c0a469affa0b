"""DynamoDB numbers: exact encoding, range checks and the canonical form used for key identity.

Nothing here rounds. A number DynamoDB cannot store exactly (more than 38 significant
digits, or a magnitude outside [1E-130, 1E+126)) is an EncodeError at any length.
"""

from __future__ import annotations

import decimal
import math
from decimal import Decimal

from _dynamap.errors import EncodeError

__all__ = ["canonical_number", "decimal_to_wire", "float_to_wire", "int_to_wire", "MAX_DIGITS"]

MAX_DIGITS = 38
# DynamoDB stores magnitudes from 1E-130 to 9.99...E+125 (adjusted exponent -130..125).
_MIN_ADJUSTED = -130
_MAX_ADJUSTED = 125
# Normalising in this context is exact or raises Inexact: a value keeps at most 38
# significant digits (dropping trailing zeros is exact), and no exponent can overflow.
_EXACT = decimal.Context(
    prec=MAX_DIGITS,
    Emax=decimal.MAX_EMAX,
    Emin=decimal.MIN_EMIN,
    traps=[decimal.Inexact, decimal.InvalidOperation],
)
_INT_FAST_LIMIT = 10**MAX_DIGITS
_ZERO = Decimal(0)


def _show(value: object) -> str:
    """A short repr for messages (repr() of a huge int raises; long ones are cut)."""
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(Decimal(value))  # exact, and free of int's str() digit limit
    else:
        text = repr(value)
    return text if len(text) <= 60 else f"{text[:28]}...{text[-28:]} ({len(text)} characters)"


def _significant_digits(value: Decimal) -> int:
    # Trailing zeros of the coefficient are not significant (1E+50 has one digit).
    return len(bytes(value.as_tuple().digits).rstrip(b"\x00"))


def _check_decimal(value: Decimal, original: object) -> Decimal:
    """The normalised value, or EncodeError if DynamoDB cannot store it exactly."""
    if not value.is_finite():
        raise EncodeError(f"DynamoDB numbers must be finite, got {_show(original)}")
    if not value:
        return _ZERO
    try:
        normal = _EXACT.normalize(value)
    except decimal.Inexact:
        raise EncodeError(
            f"{_show(original)} has {_significant_digits(value)} significant digits; DynamoDB "
            f"keeps at most {MAX_DIGITS} and would have to round it"
        ) from None
    adjusted = normal.adjusted()
    if adjusted > _MAX_ADJUSTED:
        raise EncodeError(
            f"{_show(original)} is outside DynamoDB's number range: too large "
            f"(magnitudes must be below 1E+126)"
        )
    if adjusted < _MIN_ADJUSTED:
        raise EncodeError(
            f"{_show(original)} is outside DynamoDB's number range: too small "
            f"(magnitudes other than 0 must be at least 1E-130)"
        )
    return normal


def int_to_wire(value: int) -> str:
    """Encode an int exactly; very long ints are checked against the 38-digit limit."""
    if isinstance(value, bool):
        raise EncodeError(f"{value!r} is a bool, not a number")
    if -_INT_FAST_LIMIT < value < _INT_FAST_LIMIT:
        return str(value)
    return _wire(_check_decimal(Decimal(value), value))  # Decimal(int) is exact


def float_to_wire(value: float) -> str:
    """Encode a float as the shortest decimal that reads back as the same float."""
    if not math.isfinite(value):
        raise EncodeError(f"DynamoDB numbers must be finite, got {value!r}")
    text = repr(value)  # shortest round-tripping form: at most 17 significant digits
    if value and not 1e-130 <= abs(value) < 1e126:
        _check_decimal(Decimal(text), value)
    return text


def decimal_to_wire(value: Decimal) -> str:
    """Encode a Decimal exactly, after checking precision and range."""
    if value.is_finite():
        text = str(value)
        # Fast path: a short fixed-point spelling without trailing fractional zeros is
        # already canonical, and 38 characters cannot hold more than 38 digits.
        plain = len(text) <= 38 and "E" not in text and text != "-0"
        if plain and ("." not in text or text[-1] != "0"):
            return text
    return _wire(_check_decimal(value, value))


def _wire(value: Decimal) -> str:
    # The spelling DynamoDB itself stores, so every backend keeps the same text.
    return format(value, "f") if value else "0"


def canonical_number(text: str) -> str:
    """Return the canonical spelling DynamoDB stores: `1.50`->`1.5`, `1E2`->`100`, `-0`->`0`.

    Exact for every finite number, storable or not: two different numbers never share
    a canonical form, so they never share a key identity.
    """
    # Fast path: plain integers without leading zeros are already canonical.
    if text.isdigit():
        if text[0] != "0" or text == "0":
            return text
    elif text[:1] == "-" and text[1:].isdigit() and text[1:2] != "0":
        return text
    try:
        value = Decimal(text)
    except decimal.InvalidOperation:
        raise EncodeError(f"{_show(text)} is not a number") from None
    if not value.is_finite():
        raise EncodeError(f"DynamoDB numbers must be finite, got {text!r}")
    if not value:
        return "0"
    try:
        normal = _EXACT.normalize(value)
    except decimal.Inexact:
        # Too many digits for DynamoDB, but its identity must stay exact all the same.
        digits = len(value.as_tuple().digits)
        wide = decimal.Context(prec=digits, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
        normal = wide.normalize(value)
    if _MIN_ADJUSTED <= normal.adjusted() <= _MAX_ADJUSTED:
        # Fixed-point spelling of the normalised value is unique per number.
        return format(normal, "f")
    # Out of range: never stored, and its fixed-point spelling could be huge. Scientific
    # notation of a normalised value is unique too, and never looks like a fixed-point one.
    return str(normal)
