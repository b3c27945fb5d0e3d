"""Money on the pages: minor units shown as 12.50 EUR, and typed back in the same way."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from domain.errors import InvalidInput

DIGITS = 2  # every currency the marketplace prices in has cents


class InvalidAmount(InvalidInput):
    code = "invalid_amount"


def money(amount: int, currency: str) -> str:
    sign = "-" if amount < 0 else ""
    whole, cents = divmod(abs(amount), 10**DIGITS)
    return f"{sign}{whole}.{cents:0{DIGITS}d} {currency}"


def minor_units(text: str) -> int:
    """`12.5` -> 1250; anything else than a non-negative amount with at most two decimals
    is refused (422 invalid_amount)."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidAmount(f"{text!r} is not an amount") from None
    cents = value * 10**DIGITS
    if not value.is_finite() or value < 0 or cents != cents.to_integral_value():
        raise InvalidAmount(f"{text!r} is not an amount in cents")
    return int(cents)
