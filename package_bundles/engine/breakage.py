"""Breakage: the value of units a customer will never use (SPEC §3 Breakage method, issue 21).

*At expiry* (the default) recognizes nothing ahead: what is still deferred when a balance
expires is broken then. *Proportional* (IFRS 15 B46, ASC 606-10-55-48) expects a share ``r``
of what is sold never to be used and recognizes it with each use: a unit of value ``v``
recognizes ``v x r / (1 - r)`` of breakage as well, and what is left is broken at expiry
(the true-up). The rate is locked on a balance line at sale; a rate of 0 is the At expiry
method. This module holds the numbers; ``state`` moves them.
"""

from collections.abc import Iterable
from decimal import ROUND_DOWN, Decimal

from package_bundles.engine.errors import InvalidBreakageRateError
from package_bundles.engine.money import ZERO, quantum, round_money, to_decimal

AT_EXPIRY = "At expiry"
PROPORTIONAL = "Proportional"
BREAKAGE_METHODS = (AT_EXPIRY, PROPORTIONAL)


def validate_breakage_rate(rate) -> Decimal:
	"""The expected breakage rate as a Decimal fraction, refused unless 0 <= r < 1."""
	rate = to_decimal(rate)
	if not rate.is_finite() or rate < 0 or rate >= 1:
		raise InvalidBreakageRateError(
			f"Expected breakage rate must be at least 0 and less than 1 (100%), not {rate}"
		)
	return rate


def line_breakage_rate(method: str | None, rate=ZERO) -> Decimal:
	"""The rate a balance line locks at sale: 0 for At expiry (or no method), ``rate`` for Proportional."""
	if not method or method == AT_EXPIRY:
		return ZERO
	if method != PROPORTIONAL:
		raise InvalidBreakageRateError(f"Unknown breakage method {method!r}")
	return validate_breakage_rate(rate)


def expected_breakage(recognized, rate, precision: int) -> Decimal:
	"""Breakage that goes with ``recognized`` of revenue by use: ``recognized x r / (1 - r)``, rounded."""
	rate = validate_breakage_rate(rate)
	if not rate:
		return ZERO
	return round_money(to_decimal(recognized) * rate / (1 - rate), precision)


def propose_breakage_rate(ended: Iterable[tuple], minimum_count: int, precision: int = 4) -> Decimal | None:
	"""A rate to expect from history: value broken / value sold over ended balances.

	``ended`` holds (value sold, value broken) of each balance that ended (used up or
	expired). None when fewer than ``minimum_count`` balances ended or nothing was sold.
	Rounded down (expecting less breakage is the prudent side of IFRS 15's constraint on
	variable consideration) and kept below 1.
	"""
	sold, broken, count = ZERO, ZERO, 0
	for sold_value, broken_value in ended:
		sold += to_decimal(sold_value)
		broken += to_decimal(broken_value)
		count += 1
	if count < minimum_count or sold <= 0:
		return None
	step = quantum(precision)
	rate = (broken / sold).quantize(step, rounding=ROUND_DOWN)
	return min(max(rate, ZERO), 1 - step)
