"""Decimal helpers shared by the engine: never float, always an explicit quantum."""

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from package_bundles.engine.errors import InvalidPrecisionError

ZERO = Decimal(0)


def to_decimal(value) -> Decimal:
	"""Exact Decimal of an int, str or Decimal; floats go through repr so 0.1 stays 0.1."""
	if isinstance(value, Decimal):
		return value
	if isinstance(value, float):
		return Decimal(repr(value))
	if value is None:
		return ZERO
	return Decimal(value)


def quantum(precision: int) -> Decimal:
	if not isinstance(precision, int) or isinstance(precision, bool) or not 0 <= precision <= 9:
		raise InvalidPrecisionError(
			f"Currency precision must be a whole number from 0 to 9, not {precision!r}"
		)
	return Decimal(1).scaleb(-precision)


def round_money(value: Decimal, precision: int) -> Decimal:
	return to_decimal(value).quantize(quantum(precision), rounding=ROUND_HALF_UP)


def floor_money(value: Decimal, precision: int) -> Decimal:
	"""Round toward zero at currency precision (amounts here are never negative)."""
	return to_decimal(value).quantize(quantum(precision), rounding=ROUND_DOWN)
