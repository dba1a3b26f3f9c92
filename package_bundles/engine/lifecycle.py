"""Status of a balance, and what a refund returns (SPEC §2, §3 Refund)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from package_bundles.engine.errors import RefundNotAllowedError
from package_bundles.engine.money import ZERO, to_decimal
from package_bundles.engine.recognition import deferred_value

AWAITING_PAYMENT = "Awaiting Payment"
ACTIVE = "Active"
EXHAUSTED = "Exhausted"
EXPIRED = "Expired"
REFUNDED = "Refunded"
CANCELLED = "Cancelled"
STATUSES = (AWAITING_PAYMENT, ACTIVE, EXHAUSTED, EXPIRED, REFUNDED, CANCELLED)


@dataclass(frozen=True)
class LineState:
	allocated: Decimal
	qty_purchased: Decimal
	qty_redeemed: Decimal

	def __post_init__(self):
		for name in ("allocated", "qty_purchased", "qty_redeemed"):
			object.__setattr__(self, name, to_decimal(getattr(self, name)))


def balance_status(
	*,
	cancelled: bool,
	refunded: bool,
	paid: bool,
	qty_remaining: Decimal,
	expiry_date: date | None,
	today: date,
) -> str:
	if cancelled:
		return CANCELLED
	if refunded:
		return REFUNDED
	if to_decimal(qty_remaining) <= 0:
		return EXHAUSTED
	if expiry_date is not None and expiry_date < today:
		return EXPIRED
	return ACTIVE if paid else AWAITING_PAYMENT


def refund_value(lines: Sequence[LineState], allow_unused_refund: bool, precision: int) -> Decimal:
	"""Deferred value a credit note may return for one balance.

	An unused balance returns its whole price. A used one is refused unless the
	practice allows refunding the unused remainder, which goes back at its
	deferred value.
	"""
	if any(line.qty_redeemed > 0 for line in lines) and not allow_unused_refund:
		raise RefundNotAllowedError("A package with redemptions cannot be refunded")
	return sum(
		(deferred_value(line.allocated, line.qty_purchased, line.qty_redeemed, precision) for line in lines),
		ZERO,
	)
