"""The ledger's summed figures and their month-end snapshots (issue 22, package_bundles.engine.figures).

A month end's snapshot is the previous one plus the month's movements; a figure as of a date is
the last snapshot on or before it plus the movements after it; a movement written or cancelled
after a snapshot was taken, dated inside it, is carried into it and every later one. Whatever the
order of writes, cancels and builds, every snapshot equals the whole live ledger summed up to its
month end, and every figure as of any date equals the ledger summed up to that date.
"""

import calendar
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from package_bundles.engine import figures
from package_bundles.engine.figures import (
	FIGURE_NAMES,
	FIGURES,
	MOVEMENTS,
	as_of,
	carried,
	next_snapshot,
	plus,
	summed,
	without_empty,
)
from package_bundles.engine.state import EVENTS, EXPIRY

PROPERTY = settings(max_examples=300, deadline=None)
START = date(2026, 1, 1)
CUSTOMERS = ("A", "B", "C")

cents = st.integers(min_value=-100_000, max_value=100_000).map(lambda n: Decimal(n) / 100)
quantities = st.integers(min_value=-5, max_value=5).map(Decimal)
days = st.integers(min_value=0, max_value=150).map(lambda n: START + timedelta(days=n))


@st.composite
def ledger_rows(draw):
	event = draw(st.sampled_from(EVENTS))
	return {
		"posting_date": draw(days),
		"event": event,
		"customer": draw(st.sampled_from(CUSTOMERS)),
		"qty_change": draw(quantities),
		# an expiry marks a line expired and moves no value
		"deferred_change": Decimal(0) if event == EXPIRY else draw(cents),
		"revenue_change": draw(cents),
	}


def by_customer(row):
	return (row["customer"],)


def month_end(day: date) -> date:
	return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def month_ends_from(first: date, count: int) -> list[date]:
	ends, day = [], first
	for _ in range(count):
		ends.append(month_end(day))
		day = month_end(day) + timedelta(days=1)
	return ends


# -- examples ------------------------------------------------------------------------------------


def test_the_worked_example_sold_and_one_visit_used():
	"""SPEC §6: 720 sold (visits 540, kit 72, labs 108), one visit of 135 used."""
	day = date(2026, 3, 2)
	rows = [
		{
			"posting_date": day,
			"event": "Sale",
			"customer": "A",
			"qty_change": q,
			"deferred_change": a,
			"revenue_change": 0,
		}
		for q, a in ((Decimal(4), Decimal(540)), (Decimal(1), Decimal(72)), (Decimal(2), Decimal(108)))
	]
	rows.append(
		{
			"posting_date": day + timedelta(days=3),
			"event": "Redemption",
			"customer": "A",
			"qty_change": Decimal(-1),
			"deferred_change": Decimal(-135),
			"revenue_change": Decimal(135),
		}
	)
	result = summed(rows, by_customer)[("A",)]
	assert result["qty_purchased"] == 7
	assert result["qty_redeemed"] == 1
	assert result["qty_remaining"] == 6
	assert result["allocated"] == 720
	assert result["recognized"] == 135
	assert result["deferred"] == 585
	assert result["moved_sold"] == 720
	assert result["moved_redeemed"] == -135
	assert result["billed_redemption"] == 135
	# as of the day before the visit, from a snapshot of the month before: nothing yet
	snapshot = {month_end(date(2026, 2, 1)): summed(rows, by_customer, up_to=date(2026, 2, 28))}
	assert as_of(snapshot, rows, by_customer, day)[("A",)]["deferred"] == 720


def test_a_breakage_figure_takes_one_direction():
	"""Breakage at expiry takes value from deferred revenue; given back, it is Breakage Reversed."""
	taken = {"event": "Breakage", "deferred_change": Decimal(-54), "revenue_change": Decimal(54)}
	given_back = {"event": "Breakage", "deferred_change": Decimal(54), "revenue_change": Decimal(-54)}
	at_expiry = next(f for f in FIGURES if f.name == "moved_breakage_at_expiry")
	reversed_ = next(f for f in FIGURES if f.name == "moved_breakage_reversed")
	assert (at_expiry.of(taken), reversed_.of(taken)) == (-54, 0)
	assert (at_expiry.of(given_back), reversed_.of(given_back)) == (0, 54)


def test_every_figure_has_a_distinct_name():
	assert len(set(FIGURE_NAMES)) == len(FIGURES)


# -- properties -----------------------------------------------------------------------------------


@PROPERTY
@given(st.lists(ledger_rows(), max_size=40))
def test_the_roll_forward_movements_add_up_to_the_deferred_revenue(rows):
	"""Every event that moves deferred revenue is in exactly one movement (breakage by direction)."""
	total = summed(rows, lambda row: ())
	if not total:
		return
	figures_ = total[()]
	moved = sum(figures_[f"moved_{name}"] for name, _events, _direction in MOVEMENTS)
	assert moved == figures_["deferred"]


@PROPERTY
@given(st.lists(ledger_rows(), max_size=40))
def test_billed_revenue_by_source_is_recognized_plus_breakage(rows):
	total = summed(rows, lambda row: ())
	if not total:
		return
	figures_ = total[()]
	billed = figures_["billed_redemption"] + figures_["billed_purchase"] + figures_["billed_breakage"]
	assert billed == figures_["recognized"] + figures_["broken"]


@PROPERTY
@given(st.lists(ledger_rows(), max_size=60), st.lists(days, min_size=1, max_size=8))
def test_snapshot_plus_movements_is_the_ledger(rows, dates):
	"""Snapshots built month after month; any date read from them equals the whole ledger."""
	ends = month_ends_from(START, 5)
	snapshots, previous, previous_end = {}, {}, None
	for end in ends:
		previous = next_snapshot(previous, rows, by_customer, previous_end, end)
		previous_end = end
		snapshots[end] = previous
		assert without_empty(previous) == without_empty(summed(rows, by_customer, up_to=end))
	for day in dates:
		assert without_empty(as_of(snapshots, rows, by_customer, day)) == without_empty(
			summed(rows, by_customer, up_to=day)
		)


@PROPERTY
@given(st.lists(ledger_rows(), max_size=30), st.lists(ledger_rows(), min_size=1, max_size=10))
def test_carrying_back_dated_rows_equals_building_again(rows, late_rows):
	ends = month_ends_from(START, 5)
	snapshots = {end: summed(rows, by_customer, up_to=end) for end in ends}
	for end, change in carried(late_rows, by_customer, ends).items():
		snapshots[end] = plus(snapshots[end], change)
	for end in ends:
		assert without_empty(snapshots[end]) == without_empty(
			summed(rows + late_rows, by_customer, up_to=end)
		)
	# and cancelling them takes them out again
	for end, change in carried(late_rows, by_customer, ends, sign=-1).items():
		snapshots[end] = plus(snapshots[end], change)
	for end in ends:
		assert without_empty(snapshots[end]) == without_empty(summed(rows, by_customer, up_to=end))


class SnapshotsThroughTime(RuleBasedStateMachine):
	"""Writes, cancels and builds in any order: every snapshot stays the ledger summed up to its end."""

	@initialize()
	def start(self):
		self.live: list[dict] = []
		self.snapshots: dict = {}
		self.ends = month_ends_from(START, 5)

	def write(self, rows, sign=1):
		"""A ledger write (or cancel): the rows are carried into each snapshot on or after their dates."""
		for end, change in carried(rows, by_customer, list(self.snapshots), sign).items():
			self.snapshots[end] = plus(self.snapshots[end], change)

	@rule(row=ledger_rows())
	def post(self, row):
		self.live.append(row)
		self.write([row])

	@precondition(lambda self: self.live)
	@rule(index=st.integers(min_value=0))
	def cancel(self, index):
		row = self.live.pop(index % len(self.live))
		self.write([row], sign=-1)

	@rule(which=st.integers(min_value=0, max_value=4))
	def build(self, which):
		"""A month end built (or built again) from the one before it plus its movements."""
		end = self.ends[which]
		before = [e for e in self.snapshots if e < end]
		previous_end = max(before) if before else None
		previous = self.snapshots[previous_end] if previous_end else {}
		self.snapshots[end] = next_snapshot(previous, self.live, by_customer, previous_end, end)

	@invariant()
	def snapshots_equal_the_ledger(self):
		for end, snapshot in self.snapshots.items():
			assert without_empty(snapshot) == without_empty(summed(self.live, by_customer, up_to=end))

	@rule(day=days)
	def read(self, day):
		assert without_empty(as_of(self.snapshots, self.live, by_customer, day)) == without_empty(
			summed(self.live, by_customer, up_to=day)
		)


SnapshotsThroughTime.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
TestSnapshotsThroughTime = SnapshotsThroughTime.TestCase


def test_figures_module_is_plain_python():
	assert "frappe" not in figures.__dict__
