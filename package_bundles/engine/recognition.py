"""Value moved out of deferred revenue as units are used (SPEC §3).

Cumulative rounding: after ``c`` of ``Q`` units are consumed the value
recognized so far is ``A * c / Q`` rounded *down* to currency precision, so a
redemption of ``q`` more units moves ``f(c + q) - f(c)`` and a fully used line
has moved exactly ``A``. Rounding down never recognizes revenue ahead of the
service delivered and reproduces the worked example (3 units of 100.00 move
33.33, 33.33, 33.34).
"""

from decimal import Decimal

from package_bundles.engine.errors import InvalidQuantityError, OverRedemptionError
from package_bundles.engine.money import ZERO, floor_money, round_money, to_decimal


def recognized_value(allocated, qty_purchased, qty_consumed, precision: int) -> Decimal:
	allocated, purchased, consumed = map(to_decimal, (allocated, qty_purchased, qty_consumed))
	if purchased <= 0:
		raise InvalidQuantityError(f"Quantity purchased must be greater than zero, not {purchased}")
	if consumed < 0:
		raise InvalidQuantityError(f"Quantity consumed cannot be negative, not {consumed}")
	if consumed > purchased:
		raise OverRedemptionError(f"Cannot consume {consumed} of {purchased} units")
	if consumed == purchased:
		return round_money(allocated, precision)
	return floor_money(allocated * consumed / purchased, precision)


def redemption_value(allocated, qty_purchased, qty_consumed_before, qty, precision: int) -> Decimal:
	"""Value moved by redeeming ``qty`` more units of a line."""
	qty = to_decimal(qty)
	if qty <= 0:
		raise InvalidQuantityError(f"Quantity redeemed must be greater than zero, not {qty}")
	before = to_decimal(qty_consumed_before)
	return recognized_value(allocated, qty_purchased, before + qty, precision) - recognized_value(
		allocated, qty_purchased, before, precision
	)


def deferred_value(allocated, qty_purchased, qty_consumed, precision: int) -> Decimal:
	"""What still sits in deferred revenue for a line (also its breakage at expiry)."""
	return round_money(to_decimal(allocated), precision) - recognized_value(
		allocated, qty_purchased, qty_consumed, precision
	)


def breakage_amount(allocated, qty_purchased, qty_consumed, precision: int) -> Decimal:
	"""Deferred value left in an expired line, recognized as breakage income."""
	return max(deferred_value(allocated, qty_purchased, qty_consumed, precision), ZERO)
