"""Which balance serves which invoice row (SPEC §3 Redemption).

Balances that hold the item and are usable on the posting date are used
earliest expiry first (no expiry last), then oldest purchase, then by name;
the customer's own balances before balances shared with them (household
sharing, issue 20), each in that order.
A row is split across balances as needed; what no balance covers stays a
normal charged quantity. Rows share the pool, so two rows of one item never
take the same unit twice.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from package_bundles.engine.money import ZERO, to_decimal


@dataclass(frozen=True)
class Holding:
	"""Units of one item that one balance still holds."""

	balance: str
	item_code: str
	qty_remaining: Decimal
	purchase_date: date
	expiry_date: date | None = None
	paid: bool = True
	shared: bool = False  # another customer's balance shared with the invoice's customer

	def __post_init__(self):
		object.__setattr__(self, "qty_remaining", to_decimal(self.qty_remaining))

	def usable_on(self, posting_date: date) -> bool:
		"""Paid, holding units, bought on or before the date and not expired on it."""
		if not self.paid or self.qty_remaining <= 0 or self.purchase_date > posting_date:
			return False
		return self.expiry_date is None or self.expiry_date >= posting_date

	def order_key(self):
		return (
			self.shared,
			self.expiry_date is None,
			self.expiry_date or date.max,
			self.purchase_date,
			self.balance,
		)


@dataclass(frozen=True)
class InvoiceRow:
	key: str
	item_code: str
	qty: Decimal
	skip: bool = False

	def __post_init__(self):
		object.__setattr__(self, "qty", to_decimal(self.qty))


@dataclass(frozen=True)
class Portion:
	balance: str
	qty: Decimal


@dataclass
class RowPlan:
	key: str
	item_code: str
	portions: list[Portion] = field(default_factory=list)
	uncovered: Decimal = ZERO

	@property
	def covered(self) -> Decimal:
		return sum((portion.qty for portion in self.portions), ZERO)


def plan_redemption(
	rows: Sequence[InvoiceRow], holdings: Sequence[Holding], posting_date: date
) -> list[RowPlan]:
	"""One plan per row, in row order; rows with no usable balance get no portions."""
	pools: dict[str, list[list]] = {}
	for holding in sorted(holdings, key=Holding.order_key):
		if holding.usable_on(posting_date):
			pools.setdefault(holding.item_code, []).append([holding.balance, holding.qty_remaining])

	plans = []
	for row in rows:
		plan = RowPlan(key=row.key, item_code=row.item_code, uncovered=max(row.qty, ZERO))
		if not row.skip and row.qty > 0:
			for slot in pools.get(row.item_code, ()):
				if plan.uncovered <= 0:
					break
				take = min(slot[1], plan.uncovered)
				if take <= 0:
					continue
				slot[1] -= take
				plan.uncovered -= take
				plan.portions.append(Portion(balance=slot[0], qty=take))
		plans.append(plan)
	return plans
