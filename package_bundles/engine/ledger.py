"""Journal lines for the postings of one voucher.

The state transitions say what value moves between which roles (deferred
revenue, income, breakage income, opening); the app turns each role into an
account key (account, cost center, project, accounting dimensions) and this
module nets them into the balanced lines of one Journal Entry.
"""

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from package_bundles.engine.money import ZERO, to_decimal


@dataclass(frozen=True)
class Entry:
	"""Move ``amount`` from the account behind ``credit`` to the one behind ``debit``."""

	debit: Hashable
	credit: Hashable
	amount: Decimal


@dataclass(frozen=True)
class JournalLine:
	key: Hashable
	debit: Decimal
	credit: Decimal


def journal_lines(entries: Iterable[Entry]) -> list[JournalLine]:
	"""Balanced lines, one per key in order of first appearance, netted debit against credit."""
	net: dict[Hashable, Decimal] = {}
	for entry in entries:
		amount = to_decimal(entry.amount)
		if amount < 0:
			entry, amount = Entry(entry.credit, entry.debit, -amount), -amount
		if not amount:
			continue
		net[entry.debit] = net.get(entry.debit, ZERO) + amount
		net[entry.credit] = net.get(entry.credit, ZERO) - amount
	return [
		JournalLine(key, value if value > 0 else ZERO, -value if value < 0 else ZERO)
		for key, value in net.items()
		if value
	]
