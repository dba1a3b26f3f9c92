"""Journal lines for moving value out of deferred revenue.

One journal entry per event: debit the deferred revenue account with the total,
credit each (income account, cost center) with its share. Reversal swaps sides.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from package_bundles.engine.money import ZERO, to_decimal


@dataclass(frozen=True)
class Credit:
	account: str
	cost_center: str | None
	amount: Decimal


@dataclass(frozen=True)
class JournalLine:
	account: str
	cost_center: str | None
	debit: Decimal
	credit: Decimal


def recognition_lines(
	deferred_account: str,
	credits: Iterable[Credit],
	deferred_cost_center: str | None = None,
	reverse: bool = False,
) -> list[JournalLine]:
	"""Balanced lines: Dr deferred / Cr income per account and cost center (or the reverse)."""
	grouped: dict[tuple[str, str | None], Decimal] = {}
	for credit in credits:
		amount = to_decimal(credit.amount)
		if amount:
			key = (credit.account, credit.cost_center)
			grouped[key] = grouped.get(key, ZERO) + amount
	grouped = {key: amount for key, amount in grouped.items() if amount}
	total = sum(grouped.values(), ZERO)
	if not total and not grouped:
		return []

	lines = [JournalLine(deferred_account, deferred_cost_center, total, ZERO)]
	lines += [
		JournalLine(account, cost_center, ZERO, amount) for (account, cost_center), amount in grouped.items()
	]
	if reverse:
		lines = [JournalLine(line.account, line.cost_center, line.credit, line.debit) for line in lines]
	return lines
