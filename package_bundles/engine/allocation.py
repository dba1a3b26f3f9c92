"""Allocation of a package price over its items (SPEC §3 Allocation).

The price is split in proportion to each line's standard amount (relative
standalone selling price, IFRS 15 / ASC 606), at currency precision, by the
largest-remainder method so the parts add up to the price to the cent. When
every standard amount is zero the split follows quantity instead.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from package_bundles.engine.errors import (
	DuplicateItemError,
	FractionalQuantityError,
	InvalidQuantityError,
	NegativePriceError,
	NoItemsError,
)
from package_bundles.engine.money import ZERO, floor_money, quantum, round_money, to_decimal


@dataclass(frozen=True)
class PackageLine:
	"""One included item of a package: ``qty`` units at standard ``rate``."""

	item_code: str
	qty: Decimal
	rate: Decimal
	whole_number: bool = True

	def __post_init__(self):
		object.__setattr__(self, "qty", to_decimal(self.qty))
		object.__setattr__(self, "rate", to_decimal(self.rate))


def validate_quantity(qty, whole_number: bool, label: str = "") -> Decimal:
	"""A quantity must be positive, and whole where the UOM says so."""
	qty = to_decimal(qty)
	where = f" for {label}" if label else ""
	if not qty.is_finite() or qty <= 0:
		raise InvalidQuantityError(f"Quantity{where} must be greater than zero, not {qty}")
	if whole_number and qty != qty.to_integral_value():
		raise FractionalQuantityError(f"Quantity{where} must be a whole number, not {qty}")
	return qty


def validate_package_lines(lines: Sequence[PackageLine]) -> None:
	if not lines:
		raise NoItemsError("A package needs at least one item")
	seen: set[str] = set()
	for line in lines:
		if line.item_code in seen:
			raise DuplicateItemError(f"Item {line.item_code} is listed more than once")
		seen.add(line.item_code)
		validate_quantity(line.qty, line.whole_number, line.item_code)
		if not line.rate.is_finite() or line.rate < 0:
			raise NegativePriceError(f"Standard rate of {line.item_code} cannot be negative")


def standard_amounts(lines: Sequence[PackageLine], precision: int) -> list[Decimal]:
	return [round_money(line.qty * line.rate, precision) for line in lines]


def default_price(lines: Sequence[PackageLine], precision: int) -> Decimal:
	"""Sum of the lines' standard amounts: what the items cost bought one by one."""
	validate_package_lines(lines)
	return sum(standard_amounts(lines, precision), ZERO)


def allocate(lines: Sequence[PackageLine], package_price, precision: int) -> list[Decimal]:
	"""Split ``package_price`` over ``lines``; the result sums to the price exactly."""
	validate_package_lines(lines)
	price = to_decimal(package_price)
	if not price.is_finite() or price < 0:
		raise NegativePriceError(f"Package price cannot be negative, not {price}")
	price = round_money(price, precision)

	weights = standard_amounts(lines, precision)
	if not any(weights):
		weights = [line.qty for line in lines]
	return largest_remainder(price, weights, precision)


def largest_remainder(total: Decimal, weights: Sequence[Decimal], precision: int) -> list[Decimal]:
	"""Proportional parts of ``total`` at ``precision`` that add up to it exactly.

	Each part is first rounded down; the cents left over go one by one to the
	parts with the largest remainders (ties: the earlier line first).
	"""
	step = quantum(precision)
	weight_sum = sum(weights, ZERO)
	exact = [total * weight / weight_sum for weight in weights]
	parts = [floor_money(value, precision) for value in exact]
	leftover_steps = int((total - sum(parts, ZERO)) / step)
	by_remainder = sorted(range(len(parts)), key=lambda i: (-(exact[i] - parts[i]), i))
	for index in by_remainder[:leftover_steps]:
		parts[index] += step
	return parts
