"""Stripe's test cards, as the simulated gateway honours them: the tokens and numbers of
https://docs.stripe.com/testing, and what each does when saved and when charged."""

from __future__ import annotations

from dataclasses import dataclass

from commands.payment_ports import InvalidPaymentMethod


@dataclass(frozen=True)
class SimCard:
    number: str
    brand: str
    declines_on_save: str | None = None  # the failure code a SetupIntent gets
    declines_on_charge: str | None = None  # the failure code every later charge gets


_CARDS = (
    SimCard("4242424242424242", "visa"),
    SimCard("5555555555554444", "mastercard"),
    SimCard("4000000000000002", "visa", "card_declined", "card_declined"),
    SimCard("4000000000009995", "visa", None, "insufficient_funds"),
    SimCard("4000000000000341", "visa", None, "card_declined"),  # attaches, then fails
)
_BY_NUMBER = {card.number: card for card in _CARDS}
_TOKENS = {
    "pm_card_visa": "4242424242424242",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeCustomerFail": "4000000000000341",
}


def card_for(payment_method: str) -> SimCard:
    """The test card a token (`pm_card_visa`) or a number (spaces allowed) names."""
    number = _TOKENS.get(payment_method, payment_method.replace(" ", ""))
    card = _BY_NUMBER.get(number)
    if card is None:
        raise InvalidPaymentMethod(
            "use a Stripe test card: pm_card_visa, 4242 4242 4242 4242, 4000 0000 0000 0002, "
            "4000 0000 0000 9995 or 4000 0000 0000 0341"
        )
    return card
