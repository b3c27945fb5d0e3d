"""The publishers' ledger's rules, as pure functions: the accounts, the split of a charge
into platform fee and publisher share, and the reversal of a refund.

Entries are signed integers in minor units: positive is a debit, negative a credit. A
transaction's entries sum to zero in its one currency (`check_balanced`), so the books
balance after every transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from domain.errors import InvalidInput, NotFound

BPS = 10_000  # basis points in a whole


class Account(StrEnum):
    # Debit-normal: what customers paid (net of refunds), what a publisher owes us.
    CUSTOMER_PAYMENTS = "customer_payments"
    PUBLISHER_RECEIVABLE = "publisher_receivable"
    # Credit-normal: what we owe the publisher, our fee, payouts sent and not yet
    # confirmed, and what has been transferred to the publisher.
    PUBLISHER_PAYABLE = "publisher_payable"
    PLATFORM_FEES = "platform_fees"
    PAYOUTS_IN_TRANSIT = "payouts_in_transit"
    PAID_OUT = "paid_out"


DEBIT_NORMAL = frozenset({Account.CUSTOMER_PAYMENTS, Account.PUBLISHER_RECEIVABLE})


class UnbalancedTransaction(InvalidInput):
    code = "unbalanced_transaction"


class RefundExceedsCharge(InvalidInput):
    code = "refund_exceeds_charge"


class ChargeNotRecorded(NotFound):
    code = "charge_not_recorded"


class LedgerCurrencyMismatch(InvalidInput):
    code = "currency_mismatch"


@dataclass(frozen=True)
class Split:
    fee: int  # the platform's
    share: int  # the publisher's


def check_fee_bps(fee_bps: int) -> None:
    if not 0 <= fee_bps <= BPS:
        raise InvalidInput(f"the platform fee is 0 to {BPS} basis points")


def split(gross: int, fee_bps: int) -> Split:
    """The rounding rule, stated once: the fee is rounded down to the minor unit, so any
    fraction of a cent goes to the publisher, who gets the remainder."""
    check_fee_bps(fee_bps)
    if gross < 0:
        raise InvalidInput("a charge is zero or more minor units")
    fee = gross * fee_bps // BPS
    return Split(fee=fee, share=gross - fee)


def reversal(gross: int, fee: int, refunded_before: int, amount: int) -> Split:
    """What a refund of `amount` takes back from fee and share, proportionally to the
    charge: the fee reversed so far is always floor(fee x refunded / gross), so partial
    refunds add up to exactly the fee and the share when the whole charge is refunded,
    and neither reversal ever exceeds what the charge gave."""
    if amount <= 0:
        raise InvalidInput("a refund is one minor unit or more")
    refunded_after = refunded_before + amount
    if refunded_after > gross:
        raise RefundExceedsCharge(
            f"refunds would reach {refunded_after}, more than the {gross} charged"
        )
    fee_reversed = fee * refunded_after // gross - fee * refunded_before // gross
    return Split(fee=fee_reversed, share=amount - fee_reversed)


def check_balanced(entries: Mapping[str, int]) -> None:
    if sum(entries.values()) != 0:
        raise UnbalancedTransaction(f"debits and credits differ: {dict(entries)}")


def natural_balance(account: str, raw: int) -> int:
    """A balance as its account reads it: debits less credits for debit-normal accounts,
    credits less debits for the others. The ledger keeps every one at zero or more."""
    return raw if account in DEBIT_NORMAL else -raw


def period_of(at: datetime) -> str:
    """The billing period, a calendar month in UTC: YYYY-MM."""
    at = at.astimezone(UTC)
    return f"{at.year:04d}-{at.month:02d}"
