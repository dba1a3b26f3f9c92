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


def redemption_value(
	allocated, qty_purchased, qty_consumed_before, qty, precision: int, recognized_before=None
) -> Decimal:
	"""Value moved by redeeming ``qty`` more units of a line.

	``recognized_before`` is what the line has actually moved so far; it equals
	the cumulative value except after an undo of an earlier redemption, and
	using it keeps the total moved equal to the allocation when the line is used up.
	"""
	qty = to_decimal(qty)
	if qty <= 0:
		raise InvalidQuantityError(f"Quantity redeemed must be greater than zero, not {qty}")
	before = to_decimal(qty_consumed_before)
	target = recognized_value(allocated, qty_purchased, before + qty, precision)
	if recognized_before is None:
		recognized_before = recognized_value(allocated, qty_purchased, before, precision)
	return max(target - round_money(to_decimal(recognized_before), precision), ZERO)


def reversal_value(moved, qty_moved, qty_returned_before, qty, precision: int) -> Decimal:
	"""Value given back when ``qty`` more of a redemption's ``qty_moved`` units are returned.

	Cumulative over the redemption itself, so returning all of it gives back
	exactly what it moved.
	"""
	before = to_decimal(qty_returned_before)
	return recognized_value(moved, qty_moved, before + to_decimal(qty), precision) - recognized_value(
		moved, qty_moved, before, precision
	)


def deferred_value(allocated, qty_purchased, qty_consumed, precision: int) -> Decimal:
	"""What still sits in deferred revenue for a line (also its breakage at expiry)."""
	return round_money(to_decimal(allocated), precision) - recognized_value(
		allocated, qty_purchased, qty_consumed, precision
	)


def breakage_amount(allocated, qty_purchased, qty_consumed, precision: int) -> Decimal:
	"""Deferred value left in an expired line, recognized as breakage income."""
	return max(deferred_value(allocated, qty_purchased, qty_consumed, precision), ZERO)
