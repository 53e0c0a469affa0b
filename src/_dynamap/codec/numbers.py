"""DynamoDB numbers: exact encoding, range checks and the canonical form used for key identity."""

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
# A context wide enough that normalising never rounds a value DynamoDB accepts.
_CTX = decimal.Context(prec=MAX_DIGITS + 10, Emax=999_999, Emin=-999_999)
_INT_FAST_LIMIT = 10**MAX_DIGITS


def _check_decimal(value: Decimal, original: object) -> Decimal:
    if not value.is_finite():
        raise EncodeError(f"DynamoDB numbers must be finite, got {original!r}")
    if not value:
        return value
    normal = _CTX.normalize(value)
    digits = len(normal.as_tuple().digits)
    if digits > MAX_DIGITS:
        raise EncodeError(
            f"{original!r} has {digits} significant digits; DynamoDB keeps at most {MAX_DIGITS}"
        )
    adjusted = normal.adjusted()
    if not _MIN_ADJUSTED <= adjusted <= _MAX_ADJUSTED:
        raise EncodeError(
            f"{original!r} is outside DynamoDB's number range (magnitude 1E-130 to 9.9E+125)"
        )
    return normal


def int_to_wire(value: int) -> str:
    """Encode an int exactly; very long ints are checked against the 38-digit limit."""
    if isinstance(value, bool):
        raise EncodeError(f"{value!r} is a bool, not a number")
    if -_INT_FAST_LIMIT < value < _INT_FAST_LIMIT:
        return str(value)
    return _wire(_check_decimal(Decimal(value), value))


def float_to_wire(value: float) -> str:
    """Encode a float as the shortest decimal that reads back as the same float."""
    if not math.isfinite(value):
        raise EncodeError(f"DynamoDB numbers must be finite, got {value!r}")
    text = repr(value)  # shortest round-tripping form
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
    """Return the canonical spelling DynamoDB stores: `1.50`->`1.5`, `1E2`->`100`, `-0`->`0`."""
    # Fast path: plain integers without leading zeros are already canonical.
    if text.isdigit():
        if text[0] != "0" or text == "0":
            return text
    elif text[:1] == "-" and text[1:].isdigit() and text[1:2] != "0":
        return text
    try:
        value = Decimal(text)
    except decimal.InvalidOperation:
        raise EncodeError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise EncodeError(f"DynamoDB numbers must be finite, got {text!r}")
    if not value:
        return "0"
    # Fixed-point spelling of the normalised value is unique per number.
    return format(_CTX.normalize(value), "f")
