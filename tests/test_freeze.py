"""Freezing a balance (issue 20, Freeze): frozen days, the expiry they move, early unfreeze, cancel.

A freeze from ``f`` to ``t`` counts ``t - f + 1`` days and moves the expiry later by them; an
early unfreeze on ``d`` gives back the days from ``d`` to ``t``, so the expiry ends up moved by the
days used; cancelling takes back what the freeze still counts. Live periods never overlap.
"""

from datetime import date, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from package_bundles import engine
from package_bundles.engine import (
	EngineError,
	FreezeError,
	FreezeOverError,
	FreezeOverlapError,
	FreezePeriod,
	InvalidFreezePeriodError,
)

PROPERTY = settings(max_examples=300, deadline=None)
DAY = timedelta(days=1)
START = date(2026, 1, 1)

days = st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31))
lengths = st.integers(min_value=0, max_value=400)


@st.composite
def periods(draw):
	from_date = draw(days)
	return FreezePeriod(from_date, from_date + timedelta(days=draw(lengths)))


# -- examples ------------------------------------------------------------------------------


def test_a_freeze_counts_both_ends():
	assert engine.frozen_days(date(2026, 3, 1), date(2026, 3, 1)) == 1
	assert engine.frozen_days(date(2026, 3, 1), date(2026, 3, 31)) == 31
	assert engine.frozen_days(date(2028, 2, 1), date(2028, 2, 29)) == 29


def test_thirty_days_in_hospital_move_the_expiry_thirty_days():
	period = FreezePeriod(date(2026, 3, 1), date(2026, 3, 30))
	assert engine.expiry_after_freeze(date(2026, 6, 30), period) == date(2026, 7, 30)


def test_back_on_the_eleventh_day_gives_back_twenty_days():
	period = FreezePeriod(date(2026, 3, 1), date(2026, 3, 30))
	assert engine.unused_days(period, date(2026, 3, 11)) == 20
	assert engine.expiry_after_unfreeze(date(2026, 7, 30), period, date(2026, 3, 11)) == date(2026, 7, 10)
	unfrozen = engine.unfreeze(period, date(2026, 3, 11))
	assert unfrozen.last_frozen_day == date(2026, 3, 10)
	assert unfrozen.counted_days == 10
	assert engine.is_frozen_on([unfrozen], date(2026, 3, 10))
	assert not engine.is_frozen_on([unfrozen], date(2026, 3, 11))


def test_a_period_that_ends_before_it_starts_is_refused():
	with pytest.raises(InvalidFreezePeriodError):
		FreezePeriod(date(2026, 3, 2), date(2026, 3, 1))
	with pytest.raises(InvalidFreezePeriodError):
		engine.frozen_days(date(2026, 3, 2), date(2026, 3, 1))
	assert issubclass(InvalidFreezePeriodError, FreezeError)
	assert issubclass(FreezeError, EngineError)


def test_unfreezing_after_the_end_or_twice_is_refused():
	period = FreezePeriod(date(2026, 3, 1), date(2026, 3, 30))
	with pytest.raises(FreezeOverError):
		engine.unused_days(period, date(2026, 3, 31))
	unfrozen = engine.unfreeze(period, date(2026, 3, 11))
	with pytest.raises(FreezeOverError):
		engine.unfreeze(unfrozen, date(2026, 3, 12))


def test_unfreezing_before_the_start_gives_back_every_day():
	period = FreezePeriod(date(2026, 3, 1), date(2026, 3, 30))
	unfrozen = engine.unfreeze(period, date(2026, 2, 20))
	assert unfrozen.counted_days == 0
	assert unfrozen.last_frozen_day is None
	assert engine.expiry_after_unfreeze(date(2026, 7, 30), period, date(2026, 2, 20)) == date(2026, 6, 30)
	assert engine.current_or_next([unfrozen], date(2026, 2, 20)) is None


def test_overlapping_periods_are_refused_and_name_the_other():
	first = FreezePeriod(date(2026, 3, 1), date(2026, 3, 30), key="FRZ-1")
	with pytest.raises(FreezeOverlapError) as refused:
		engine.validate_no_overlap([first], FreezePeriod(date(2026, 3, 30), date(2026, 4, 5)))
	assert refused.value.args[1].key == "FRZ-1"
	engine.validate_no_overlap([first], FreezePeriod(date(2026, 3, 31), date(2026, 4, 5)))
	# an early unfreeze frees the days it gave back
	engine.validate_no_overlap(
		[engine.unfreeze(first, date(2026, 3, 11))], FreezePeriod(date(2026, 3, 11), date(2026, 4, 5))
	)


def test_a_balance_without_expiry_keeps_none():
	period = FreezePeriod(date(2026, 3, 1), date(2026, 3, 30))
	assert engine.expiry_after_freeze(None, period) is None
	assert engine.expiry_after_unfreeze(None, period, date(2026, 3, 5)) is None
	assert engine.expiry_after_cancel(None, period) is None


def test_the_balance_shows_the_live_or_next_period():
	past = FreezePeriod(date(2026, 1, 1), date(2026, 1, 10))
	live = FreezePeriod(date(2026, 3, 1), date(2026, 3, 30))
	later = FreezePeriod(date(2026, 5, 1), date(2026, 5, 3))
	assert engine.current_or_next([later, past, live], date(2026, 3, 15)) == live
	assert engine.current_or_next([later, past, live], date(2026, 3, 31)) == later
	assert engine.current_or_next([past], date(2026, 3, 31)) is None
	# with none ahead, the one that ended last stays on record (a late invoice dated in it is refused)
	assert engine.period_on_record([later, past, live], date(2026, 3, 15)) == live
	assert engine.period_on_record([past, live], date(2026, 4, 15)) == live
	assert engine.period_on_record([engine.unfreeze(live, date(2026, 2, 1))], date(2026, 4, 15)) is None


# -- properties ----------------------------------------------------------------------------


@PROPERTY
@given(periods(), days)
def test_freeze_then_cancel_restores_the_expiry(period, expiry):
	assert engine.expiry_after_cancel(engine.expiry_after_freeze(expiry, period), period) == expiry


@PROPERTY
@given(periods(), days, st.integers(min_value=-30, max_value=400))
def test_an_early_unfreeze_moves_the_expiry_by_exactly_the_days_used(period, expiry, offset):
	on_date = period.from_date + timedelta(days=offset)
	assume(on_date <= period.to_date)
	frozen = engine.expiry_after_freeze(expiry, period)
	after = engine.expiry_after_unfreeze(frozen, period, on_date)
	used = max(0, (on_date - period.from_date).days)

	assert (after - expiry).days == used
	assert engine.unused_days(period, on_date) + used == engine.frozen_days(period.from_date, period.to_date)
	unfrozen = engine.unfreeze(period, on_date)
	assert unfrozen.counted_days == used
	# cancelling the unfrozen freeze takes back the days it still counts: the expiry is as before
	assert engine.expiry_after_cancel(after, unfrozen) == expiry


@PROPERTY
@given(periods(), days)
def test_a_frozen_day_is_exactly_a_day_of_the_period(period, day):
	assert engine.is_frozen_on([period], day) == (period.from_date <= day <= period.to_date)


@PROPERTY
@given(periods(), days)
def test_a_freeze_starting_by_the_expiry_moves_it_past_the_period(period, expiry):
	assume(period.from_date <= expiry)
	assert engine.expiry_after_freeze(expiry, period) > period.to_date


@PROPERTY
@given(days, st.integers(min_value=1, max_value=400))
def test_a_period_ending_before_it_starts_is_always_refused(from_date, back):
	with pytest.raises(InvalidFreezePeriodError):
		engine.frozen_days(from_date, from_date - timedelta(days=back))


@PROPERTY
@given(st.lists(periods(), max_size=12))
def test_accepted_periods_never_overlap(candidates):
	accepted = []
	for candidate in candidates:
		try:
			engine.validate_no_overlap(accepted, candidate)
		except FreezeOverlapError:
			assert engine.overlapping(accepted, candidate) is not None
			continue
		accepted.append(candidate)
	for index, first in enumerate(accepted):
		for second in accepted[index + 1 :]:
			assert first.to_date < second.from_date or second.to_date < first.from_date
	for candidate in candidates:
		for day in (candidate.from_date, candidate.to_date):
			assert sum(period.covers(day) for period in accepted) <= 1


# -- a balance's freezes, at random ----------------------------------------------------------


class BalanceFreezes(RuleBasedStateMachine):
	"""Freeze, unfreeze early and cancel at random as days pass; the expiry is always the original
	one plus the days the live freezes count, and no day is frozen twice."""

	def __init__(self):
		super().__init__()
		self.today = START
		self.original_expiry = START + timedelta(days=180)
		self.expiry = self.original_expiry
		self.live: list[FreezePeriod] = []

	@rule(days_on=st.integers(min_value=0, max_value=20))
	def days_pass(self, days_on):
		self.today += timedelta(days=days_on)

	@rule(start_in=st.integers(min_value=0, max_value=60), length=st.integers(min_value=0, max_value=40))
	def freeze(self, start_in, length):
		from_date = self.today + timedelta(days=start_in)
		period = FreezePeriod(from_date, from_date + timedelta(days=length), key=str(len(self.live)))
		if from_date > self.expiry:
			return  # the app refuses a freeze starting after the expiry
		try:
			engine.validate_no_overlap(self.live, period)
		except FreezeOverlapError:
			assert engine.overlapping(self.live, period) is not None
			return
		self.expiry = engine.expiry_after_freeze(self.expiry, period)
		self.live.append(period)

	@precondition(lambda self: self.live)
	@rule(data=st.data())
	def unfreeze_early(self, data):
		index = data.draw(st.integers(min_value=0, max_value=len(self.live) - 1))
		period = self.live[index]
		try:
			expiry = engine.expiry_after_unfreeze(self.expiry, period, self.today)
		except FreezeOverError:
			assert period.unfrozen_on is not None or self.today > period.to_date
			return
		self.expiry = expiry
		self.live[index] = engine.unfreeze(period, self.today)

	@precondition(lambda self: self.live)
	@rule(data=st.data())
	def cancel(self, data):
		period = self.live.pop(data.draw(st.integers(min_value=0, max_value=len(self.live) - 1)))
		self.expiry = engine.expiry_after_cancel(self.expiry, period)

	@invariant()
	def expiry_is_the_original_plus_the_counted_days(self):
		counted = sum(period.counted_days for period in self.live)
		assert self.expiry == self.original_expiry + timedelta(days=counted)

	@invariant()
	def no_day_is_frozen_twice(self):
		frozen = [p for p in self.live if p.last_frozen_day is not None]
		for index, first in enumerate(frozen):
			for second in frozen[index + 1 :]:
				assert first.last_frozen_day < second.from_date or second.last_frozen_day < first.from_date

	@invariant()
	def the_period_shown_is_live(self):
		shown = engine.current_or_next(self.live, self.today)
		if shown is not None:
			assert shown.last_frozen_day >= self.today
			assert engine.period_on_record(self.live, self.today) == shown
		assert engine.is_frozen_on(self.live, self.today) == (
			shown is not None and shown.from_date <= self.today
		)


BalanceFreezes.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
test_balance_freezes = BalanceFreezes.TestCase
