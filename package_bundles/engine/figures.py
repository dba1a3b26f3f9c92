"""The Package Ledger's summed figures and their month-end snapshots (SPEC §5, issue 22).

Which ledger rows each figure of the reports sums, defined once: the reports' ledger queries,
the month-end snapshots (package_bundles.ledger.closing, in SQL) and the carrying of a
back-dated movement into them (here, in Python) all read these definitions. And the rules a
snapshot keeps, as plain functions over ledger rows:

- a month end's snapshot is the previous one plus the movements dated after it, up to it;
- a figure as of a date is the last snapshot on or before it plus the movements after it;
- a movement written (or cancelled) after a snapshot was taken, dated on or before it, is
  carried into it and every later one (added, or taken out), which leaves each snapshot equal
  to the whole ledger summed up to its month end.

Plain Python: no frappe. A ledger row is a mapping with ``posting_date``, ``event`` and the
three signed changes ``qty_change``, ``deferred_change`` and ``revenue_change``.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from package_bundles.engine.state import (
	BREAKAGE,
	BREAKAGE_REVERSAL,
	BREAKAGE_WITH_USE,
	BREAKAGE_WITH_USE_REVERSAL,
	OPENING,
	RECOGNITION,
	REDEMPTION,
	REFUND,
	REFUND_REVERSAL,
	RETURN,
	ROUNDING,
	SALE,
	TRANSFER_IN,
	TRANSFER_OUT,
	UPGRADE,
)

# --- the reports' groups of ledger events -------------------------------------------------------

REDEMPTION_EVENTS = (REDEMPTION, RETURN)
# a transfer's receiving line is sold by it (issue 20)
SALE_EVENTS = (SALE, OPENING, TRANSFER_IN)
# units and value that left a line for another customer or a new package: the line's purchase
# and allocation are what it still holds, so allocated = recognized + broken + refunded + deferred
MOVED_OUT_EVENTS = (TRANSFER_OUT, UPGRADE)
HELD_EVENTS = (*SALE_EVENTS, *MOVED_OUT_EVENTS)
RECOGNIZING_EVENTS = (RECOGNITION, REDEMPTION, RETURN, ROUNDING, REFUND_REVERSAL)
# breakage at expiry and, with the Proportional method, breakage recognized with use
BREAKAGE_WITH_USE_EVENTS = (BREAKAGE_WITH_USE, BREAKAGE_WITH_USE_REVERSAL)
BREAKAGE_EVENTS = (BREAKAGE, BREAKAGE_REVERSAL, *BREAKAGE_WITH_USE_EVENTS)

# The roll-forward's movements, in the schedule's order: the events each sums and, where the
# figure takes only one direction of them, that direction of the deferred change ("<": taken
# from deferred revenue, ">": given back to it). Reversing entries of an immutable ledger carry
# their event and net out in the same figure, except breakage's (issue 21): breakage recognized
# with use and at expiry are apart from breakage given back to deferred revenue, whatever gave
# it back; the re-booking of breakage given back counts as breakage again.
TAKEN, GIVEN_BACK = "<", ">"
MOVEMENTS = (
	("sold", (SALE,), None),
	("redeemed", (REDEMPTION, ROUNDING), None),
	("recognized_upon_purchase", (RECOGNITION, REFUND_REVERSAL), None),
	("breakage_with_use", (BREAKAGE_WITH_USE, BREAKAGE_WITH_USE_REVERSAL), TAKEN),
	("breakage_at_expiry", (BREAKAGE, BREAKAGE_REVERSAL), TAKEN),
	(
		"breakage_reversed",
		(BREAKAGE, BREAKAGE_REVERSAL, BREAKAGE_WITH_USE, BREAKAGE_WITH_USE_REVERSAL),
		GIVEN_BACK,
	),
	("refunded", (REFUND,), None),
	("returned", (RETURN,), None),
	("opening_imports", (OPENING,), None),
	# after the sale (issue 20): deferred revenue that moved between customers' balances, and
	# the unused value of exchanged balances credited toward the new packages' prices
	("transferred_in", (TRANSFER_IN,), None),
	("transferred_out", (TRANSFER_OUT,), None),
	("credited_to_upgrades", (UPGRADE,), None),
)

# Billed revenue: the ledger's revenue events by the source a practice reports them under
EVENTS_BY_SOURCE = {
	"Redemption": (REDEMPTION, RETURN, ROUNDING),
	"Purchase": (RECOGNITION, REFUND_REVERSAL),
	"Breakage": (BREAKAGE, BREAKAGE_REVERSAL, BREAKAGE_WITH_USE, BREAKAGE_WITH_USE_REVERSAL),
}
SOURCE_COLUMNS = {"Redemption": "redemption", "Purchase": "purchase", "Breakage": "breakage"}


# --- figures ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
	"""One summed figure: the ledger rows it takes (events, direction) and the signed change it sums."""

	name: str
	events: tuple[str, ...] | None  # None: every event
	field: str  # qty_change, deferred_change or revenue_change
	sign: int = 1
	direction: str | None = None  # TAKEN: only decreases of deferred revenue; GIVEN_BACK: increases

	def of(self, row: Mapping) -> Decimal:
		"""The figure of one ledger row."""
		if self.events is not None and row["event"] not in self.events:
			return Decimal(0)
		change = Decimal(str(row["deferred_change"] or 0))
		if (self.direction == TAKEN and change >= 0) or (self.direction == GIVEN_BACK and change <= 0):
			return Decimal(0)
		return self.sign * Decimal(str(row[self.field] or 0))


FIGURES = (
	# Package Deferred Revenue
	Figure("qty_purchased", HELD_EVENTS, "qty_change"),
	Figure("qty_redeemed", REDEMPTION_EVENTS, "qty_change", -1),
	Figure("qty_remaining", (*HELD_EVENTS, *REDEMPTION_EVENTS), "qty_change"),
	Figure("allocated", HELD_EVENTS, "deferred_change"),
	Figure("recognized", RECOGNIZING_EVENTS, "revenue_change"),
	Figure("broken", BREAKAGE_EVENTS, "revenue_change"),
	Figure("refunded", (REFUND,), "deferred_change", -1),
	Figure("deferred", None, "deferred_change"),
	# Package Liability Roll-forward
	*(
		Figure(f"moved_{name}", events, "deferred_change", direction=direction)
		for name, events, direction in MOVEMENTS
	),
	# Package Billed Revenue
	*(
		Figure(f"billed_{field}", EVENTS_BY_SOURCE[source], "revenue_change")
		for source, field in SOURCE_COLUMNS.items()
	),
)
FIGURE_NAMES = tuple(figure.name for figure in FIGURES)

Key = tuple
Figures = dict[str, Decimal]


def zero_figures() -> Figures:
	return dict.fromkeys(FIGURE_NAMES, Decimal(0))


def add_row(figures: Figures, row: Mapping, sign: int = 1) -> None:
	for figure in FIGURES:
		figures[figure.name] += sign * figure.of(row)


def summed(
	rows: Iterable[Mapping], key: Callable[[Mapping], Key], up_to=None, after=None
) -> dict[Key, Figures]:
	"""The figures per key of the rows dated after ``after`` (exclusive) and up to ``up_to`` (inclusive)."""
	sums: dict[Key, Figures] = {}
	for row in rows:
		if up_to is not None and row["posting_date"] > up_to:
			continue
		if after is not None and row["posting_date"] <= after:
			continue
		add_row(sums.setdefault(key(row), zero_figures()), row)
	return sums


def plus(*parts: dict[Key, Figures]) -> dict[Key, Figures]:
	"""Figures per key added up (a snapshot and the movements after it)."""
	total: dict[Key, Figures] = {}
	for part in parts:
		for key, figures in part.items():
			into = total.setdefault(key, zero_figures())
			for name, value in figures.items():
				into[name] += value
	return total


def without_empty(figures_by_key: dict[Key, Figures]) -> dict[Key, Figures]:
	"""The keys with a figure that is not zero (a group whose every figure nets out is not shown)."""
	return {key: figures for key, figures in figures_by_key.items() if any(figures.values())}


def next_snapshot(
	previous: dict[Key, Figures], rows: Iterable[Mapping], key: Callable, previous_end, period_end
) -> dict[Key, Figures]:
	"""A month end's snapshot: the previous one plus the movements after it, up to this month end."""
	return plus(previous, summed(rows, key, up_to=period_end, after=previous_end))


def as_of(snapshots: Mapping, rows: Iterable[Mapping], key: Callable, date) -> dict[Key, Figures]:
	"""The figures as of a date: the last snapshot on or before it plus the movements after it."""
	ends = [end for end in snapshots if end <= date]
	if not ends:
		return summed(rows, key, up_to=date)
	last = max(ends)
	return plus(snapshots[last], summed(rows, key, up_to=date, after=last))


def carried(rows: Iterable[Mapping], key: Callable, period_ends: Iterable, sign: int = 1) -> dict:
	"""What carrying rows into the snapshots adds to each month end on or after their dates.

	``{period_end: {key: figures}}``: a row dated on or before a month end changes that month
	end's snapshot (``sign`` -1: a cancel takes it out).
	"""
	rows = list(rows)
	changes = {}
	for period_end in period_ends:
		change: dict[Key, Figures] = {}
		for row in rows:
			if row["posting_date"] <= period_end:
				add_row(change.setdefault(key(row), zero_figures()), row, sign)
		if change:
			changes[period_end] = change
	return changes
