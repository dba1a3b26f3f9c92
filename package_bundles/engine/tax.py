"""Tax on a package row (SPEC §3 Tax).

A package row must bear the tax its components would bear on their allocated
amounts. ERPNext taxes a row at ``item_tax_rate[account]`` when the row has a
rate for that tax account, so the package row gets, per account, the
allocation-weighted average of its components' rates; ERPNext's own tax
engine then computes the tax.
"""

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal

from package_bundles.engine.money import ZERO, round_money, to_decimal

# item_tax_rate is stored as JSON numbers; nine places keep the tax exact to the
# cent for any price below ten million.
RATE_QUANTUM = Decimal("1e-9")


def weighted_tax_rates(
	components: Sequence[tuple[Decimal, Mapping[str, Decimal]]], package_price
) -> dict[str, Decimal]:
	"""Per tax account, sum(allocated_i * rate_i) / package_price.

	``components`` pairs each line's allocated amount with its rates in percent
	per tax account (0 for an exempt line).
	"""
	price = to_decimal(package_price)
	accounts = sorted({account for _, rates in components for account in rates})
	if price <= 0:
		return {account: ZERO for account in accounts}
	weighted = {}
	for account in accounts:
		total = sum((to_decimal(alloc) * to_decimal(rates.get(account, 0)) for alloc, rates in components), ZERO)
		weighted[account] = (total / price).quantize(RATE_QUANTUM, rounding=ROUND_HALF_UP)
	return weighted


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
