"""Tax on a package row, from the tax rows of the invoice it is on (SPEC §3 Tax).

A package row must bear, for each tax row of its invoice, the tax its components would
bear on their allocated amounts on that invoice: a component bears its own item-wise rate
for the row's account where its item tax template has one, otherwise the row's rate. The
package row gets, per tax account, the rate that makes ERPNext's own tax engine charge it
exactly that (``invoice_tax``), for every charge type ERPNext computes from a rate:
On Net Total, On Previous Row Amount, On Previous Row Total, On Item Quantity; Actual
charges are spread by net amount and need none. With taxes included in the print rate the
row's rate is the gross of its net price, so ERPNext's own back-calculation lands on the
net price the balances and the ledger hold.

ERPNext reads item-wise rates at the precision of the tax row's rate field, so rates are
found at that precision, and where the exact quotient would round the row's tax to the
other side of a half cent, the neighbour that rounds like the components is chosen.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

from package_bundles.engine.errors import EngineError
from package_bundles.engine.money import ZERO, round_money, to_decimal

ON_NET_TOTAL = "On Net Total"
ON_PREVIOUS_ROW_AMOUNT = "On Previous Row Amount"
ON_PREVIOUS_ROW_TOTAL = "On Previous Row Total"
ON_ITEM_QUANTITY = "On Item Quantity"
ACTUAL = "Actual"
RATED_CHARGES = (ON_NET_TOTAL, ON_PREVIOUS_ROW_AMOUNT, ON_PREVIOUS_ROW_TOTAL, ON_ITEM_QUANTITY)
HUNDRED = Decimal(100)
# the finest rate ERPNext stores (Item Tax Template Detail.tax_rate is decimal(21,9))
RATE_QUANTUM = Decimal("1e-9")


class TaxConflictError(EngineError):
	"""Two tax rows of one account would need different rates on the package row."""

	def __init__(self, message: str, account: str = ""):
		super().__init__(message)
		self.account = account


@dataclass(frozen=True)
class TaxRow:
	"""One row of the invoice's taxes table."""

	account: str
	charge_type: str
	rate: Decimal = ZERO
	row_id: int | None = None  # 1-based, for the "On Previous Row" charges
	inclusive: bool = False

	def __post_init__(self):
		object.__setattr__(self, "rate", to_decimal(self.rate))


@dataclass(frozen=True)
class Component:
	"""An included item: its allocated (net) amount, units, and its item tax template's rates."""

	amount: Decimal
	rates: Mapping[str, Decimal] = field(default_factory=dict)
	qty: Decimal = Decimal(1)

	def __post_init__(self):
		object.__setattr__(self, "amount", to_decimal(self.amount))
		object.__setattr__(self, "qty", to_decimal(self.qty))


@dataclass(frozen=True)
class PackageTax:
	rates: dict[str, Decimal]  # account -> the package row's item-wise rate
	taxes: tuple[Decimal, ...]  # per tax row, what the components bear (unrounded)
	inclusive_fraction: Decimal  # ERPNext's cumulated tax fraction of the package row

	def gross(self, net_price, precision: int) -> Decimal:
		"""The print rate whose tax-exclusive part ERPNext works back to ``net_price``."""
		return round_money(to_decimal(net_price) * (1 + self.inclusive_fraction), precision)


def invoice_tax(
	components: Sequence[Component],
	rows: Sequence[TaxRow],
	price,
	currency_precision: int,
	rate_precision: int = 9,
	rounding: str = ROUND_HALF_UP,
) -> PackageTax:
	"""The package row's item-wise rates on an invoice with these tax rows.

	``rate_precision`` is the precision ERPNext reads tax rates at (the tax row's rate field);
	``rounding`` the site's rounding of amounts (ROUND_HALF_EVEN for banker's rounding).
	"""
	price = to_decimal(price)
	quantum = Decimal(1).scaleb(-rate_precision)
	component_taxes = [_component_taxes(component, rows, quantum) for component in components]
	package_qty = Decimal(1)

	rates: dict[str, Decimal] = {}
	package_tax: list[Decimal] = []
	package_total: list[Decimal] = []
	taxes = []
	for index, row in enumerate(rows):
		target = sum((tax[index][0] for tax in component_taxes), ZERO)
		taxes.append(target)
		base = _package_base(row, price, package_qty, package_tax, package_total)
		if row.charge_type not in RATED_CHARGES or not base:
			rate = rates.get(row.account, row.rate)
		else:
			rate = _rate_for(target, base, row, quantum, currency_precision, rounding)
			if (
				row.account in rates
				and rates[row.account] != rate
				and _row_tax(row, rate, base) != _row_tax(row, rates[row.account], base)
			):
				raise TaxConflictError(
					f"Tax account {row.account} is on two rows that would need different rates", row.account
				)
			rates.setdefault(row.account, rate)
		tax = (
			_row_tax(row, rates.get(row.account, row.rate), base)
			if row.charge_type in RATED_CHARGES
			else ZERO
		)
		package_tax.append(tax)
		package_total.append((package_total[-1] if package_total else price) + tax)
	return PackageTax(rates, tuple(taxes), _inclusive_fraction(rows, rates, quantum))


def _component_taxes(component: Component, rows: Sequence[TaxRow], quantum) -> list[tuple[Decimal, Decimal]]:
	"""(tax, running total) per row, as ERPNext would charge the component on a row of its own."""
	result: list[tuple[Decimal, Decimal]] = []
	for row in rows:
		rate = _item_rate(component.rates, row, quantum)
		if row.charge_type == ON_NET_TOTAL:
			tax = rate / HUNDRED * component.amount
		elif row.charge_type == ON_PREVIOUS_ROW_AMOUNT:
			tax = rate / HUNDRED * result[row.row_id - 1][0]
		elif row.charge_type == ON_PREVIOUS_ROW_TOTAL:
			tax = rate / HUNDRED * result[row.row_id - 1][1]
		elif row.charge_type == ON_ITEM_QUANTITY:
			tax = rate * component.qty
		else:
			tax = ZERO  # Actual: spread by net amount, the package's share is its components' share
		total = (result[-1][1] if result else component.amount) + tax
		result.append((tax, total))
	return result


def _item_rate(item_rates: Mapping[str, Decimal], row: TaxRow, quantum) -> Decimal:
	if row.account in item_rates:
		return to_decimal(item_rates[row.account]).quantize(quantum, rounding=ROUND_HALF_UP)
	return row.rate


def _package_base(row: TaxRow, price, qty, package_tax, package_total) -> Decimal:
	if row.charge_type == ON_NET_TOTAL:
		return price
	if row.charge_type == ON_PREVIOUS_ROW_AMOUNT:
		return package_tax[row.row_id - 1]
	if row.charge_type == ON_PREVIOUS_ROW_TOTAL:
		return package_total[row.row_id - 1]
	if row.charge_type == ON_ITEM_QUANTITY:
		return qty
	return ZERO


def _row_tax(row: TaxRow, rate: Decimal, base: Decimal) -> Decimal:
	if row.charge_type == ON_ITEM_QUANTITY:
		return rate * base
	return rate / HUNDRED * base


def _rate_for(target: Decimal, base: Decimal, row: TaxRow, quantum, precision: int, rounding: str) -> Decimal:
	"""The rate at ``quantum`` whose tax on ``base`` rounds to the cent the components' tax rounds to."""
	exact = target / base if row.charge_type == ON_ITEM_QUANTITY else target * HUNDRED / base
	cent = Decimal(1).scaleb(-precision)
	wanted = target.quantize(cent, rounding=rounding)
	candidates = [
		exact.quantize(quantum, rounding=ROUND_HALF_UP),
		exact.quantize(quantum, rounding=ROUND_FLOOR),
		exact.quantize(quantum, rounding=ROUND_CEILING),
	]
	for rate in candidates:
		if _row_tax(row, rate, base).quantize(cent, rounding=rounding) == wanted:
			return rate
	return candidates[0]


def _inclusive_fraction(rows: Sequence[TaxRow], rates: Mapping[str, Decimal], quantum) -> Decimal:
	"""ERPNext's cumulated tax fraction of the package row (determine_exclusive_rate)."""
	fractions: list[Decimal] = []
	grand: list[Decimal] = []
	for row in rows:
		fraction = ZERO
		if row.inclusive:
			rate = _item_rate(rates, row, quantum) / HUNDRED
			if row.charge_type == ON_NET_TOTAL:
				fraction = rate
			elif row.charge_type == ON_PREVIOUS_ROW_AMOUNT:
				fraction = rate * fractions[row.row_id - 1]
			elif row.charge_type == ON_PREVIOUS_ROW_TOTAL:
				fraction = rate * grand[row.row_id - 1]
		fractions.append(fraction)
		grand.append((grand[-1] if grand else Decimal(1)) + fraction)
	return sum(fractions, ZERO)


# --- the single-account helpers the package form's preview uses ---------------------------------


def weighted_tax_rates(
	components: Sequence[tuple[Decimal, Mapping[str, Decimal]]], package_price, precision: int | None = None
) -> dict[str, Decimal]:
	"""Per tax account, the allocation-weighted rate of the components (every row On Net Total)."""
	accounts = sorted({account for _, rates in components for account in rates})
	rows = [TaxRow(account, ON_NET_TOTAL, ZERO) for account in accounts]
	result = invoice_tax(
		[Component(amount, rates) for amount, rates in components],
		rows,
		package_price,
		precision if precision is not None else 9,
		9,
	)
	return {account: result.rates.get(account, ZERO) for account in accounts}


def component_tax(
	components: Sequence[tuple[Decimal, Mapping[str, Decimal]]], precision: int
) -> dict[str, Decimal]:
	"""Tax the components would bear per account on their allocated amounts."""
	accounts = sorted({account for _, rates in components for account in rates})
	return {
		account: round_money(
			sum((to_decimal(alloc) * to_decimal(rates.get(account, 0)) for alloc, rates in components), ZERO)
			/ 100,
			precision,
		)
		for account in accounts
	}
