"""Tax on a package row (SPEC §3 Tax).

A package row must bear the tax its components would bear on their allocated
amounts. ERPNext taxes a row at ``item_tax_rate[account]`` when the row has a
rate for that tax account, so the package row gets, per account, the
allocation-weighted average of its components' rates; ERPNext's own tax
engine then computes the tax.
"""

from collections.abc import Mapping, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from package_bundles.engine.money import ZERO, round_money, to_decimal

# item_tax_rate is stored as JSON numbers; nine places keep price * rate within
# 0.0001 of the components' tax for any price below ten million. That is not
# enough on its own when the components' tax sits exactly on a half cent, so with
# ``precision`` the ninth place is rounded toward the components' rounded tax.
RATE_QUANTUM = Decimal("1e-9")


def weighted_tax_rates(
	components: Sequence[tuple[Decimal, Mapping[str, Decimal]]], package_price, precision: int | None = None
) -> dict[str, Decimal]:
	"""Per tax account, sum(allocated_i * rate_i) / package_price.

	``components`` pairs each line's allocated amount with its rates in percent
	per tax account (0 for an exempt line). Given the currency ``precision``, the
	rate is such that ``package_price * rate / 100`` rounds to ``component_tax``
	(e.g. 2.00 at 7.25% in a 7.00 package bears 0.145 -> 0.15; 7.00 x 2.071428571%
	would round to 0.14, so the rate becomes 2.071428572).
	"""
	price = to_decimal(package_price)
	accounts = sorted({account for _, rates in components for account in rates})
	if price <= 0:
		return {account: ZERO for account in accounts}
	weighted = {}
	for account in accounts:
		total = sum(
			(to_decimal(alloc) * to_decimal(rates.get(account, 0)) for alloc, rates in components), ZERO
		)
		rate = (total / price).quantize(RATE_QUANTUM, rounding=ROUND_HALF_UP)
		if precision is not None:
			target = round_money(total / 100, precision)
			charged = round_money(price * rate / 100, precision)
			if charged != target:
				toward = ROUND_CEILING if charged < target else ROUND_FLOOR
				rate = (total / price).quantize(RATE_QUANTUM, rounding=toward)
		weighted[account] = rate
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
