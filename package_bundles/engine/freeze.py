"""Freezing a balance (issue 20, Freeze): the date rules, plain Python on dates.

A freeze pauses a balance from ``from_date`` to ``to_date``, both days included: nothing is
redeemed on a frozen day, the balance does not expire on one, and its expiry moves later by the
frozen days. An early unfreeze on day ``d`` gives back the days from ``d`` to the period's end
(the balance is usable again on ``d``), so the expiry moves by exactly the days used. Cancelling
a freeze takes back the days it still counts. Two live periods of one balance never overlap.

A freeze moves no units and no value: it is not a transition of a line's state, only of the
balance's dates.
"""

from dataclasses import dataclass, replace
from datetime import date, timedelta

from package_bundles.engine.errors import (
	FreezeOverError,
	FreezeOverlapError,
	InvalidFreezePeriodError,
)

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class FreezePeriod:
	"""One freeze of a balance; ``unfrozen_on`` is the first day usable again after an early unfreeze.

	``key`` names the document that made it (for messages); the rules never read it.
	"""

	from_date: date
	to_date: date
	unfrozen_on: date | None = None
	key: str | None = None

	def __post_init__(self):
		validate_freeze_period(self.from_date, self.to_date)

	@property
	def last_frozen_day(self) -> date | None:
		"""The last day still frozen: the period's end, or the day before an early unfreeze; None if none is."""
		end = self.to_date
		if self.unfrozen_on is not None:
			end = min(end, self.unfrozen_on - ONE_DAY)
		return end if end >= self.from_date else None

	@property
	def counted_days(self) -> int:
		"""The days this freeze adds to the expiry now: all of them, or those used before an early unfreeze."""
		end = self.last_frozen_day
		return (end - self.from_date).days + 1 if end else 0

	def covers(self, day: date) -> bool:
		end = self.last_frozen_day
		return end is not None and self.from_date <= day <= end


def validate_freeze_period(from_date: date, to_date: date) -> None:
	if from_date is None or to_date is None or to_date < from_date:
		raise InvalidFreezePeriodError(f"a freeze from {from_date} cannot end on {to_date}")


def frozen_days(from_date: date, to_date: date) -> int:
	"""The days of a period, both ends included: a freeze from the 1st to the 1st is one day."""
	validate_freeze_period(from_date, to_date)
	return (to_date - from_date).days + 1


def move_expiry(expiry: date | None, days: int) -> date | None:
	"""A balance without an expiry date keeps none."""
	return expiry + timedelta(days=days) if expiry is not None else None


def expiry_after_freeze(expiry: date | None, period: FreezePeriod) -> date | None:
	"""The expiry moves later by every day of the period."""
	return move_expiry(expiry, frozen_days(period.from_date, period.to_date))


def unused_days(period: FreezePeriod, on_date: date) -> int:
	"""The days an unfreeze on ``on_date`` gives back: from that day (or the start) to the period's end.

	Refused once the period is over (nothing is left to give back) or unfrozen already.
	"""
	if period.unfrozen_on is not None:
		raise FreezeOverError(f"the freeze was unfrozen on {period.unfrozen_on} already")
	if on_date > period.to_date:
		raise FreezeOverError(f"the freeze ended on {period.to_date}")
	return (period.to_date - max(on_date, period.from_date)).days + 1


def unfreeze(period: FreezePeriod, on_date: date) -> FreezePeriod:
	"""The period after an early unfreeze on ``on_date`` (usable again that day)."""
	unused_days(period, on_date)
	return replace(period, unfrozen_on=max(on_date, period.from_date))


def expiry_after_unfreeze(expiry: date | None, period: FreezePeriod, on_date: date) -> date | None:
	"""The expiry moves back by the unused days: the freeze then counts exactly the days it was used."""
	return move_expiry(expiry, -unused_days(period, on_date))


def expiry_after_cancel(expiry: date | None, period: FreezePeriod) -> date | None:
	"""Cancelling a freeze takes back the days it still counts (all, or the used ones after an unfreeze)."""
	return move_expiry(expiry, -period.counted_days)


def is_frozen_on(periods, day: date) -> bool:
	"""Whether any live period freezes this day."""
	return any(period.covers(day) for period in periods)


def overlapping(periods, new: FreezePeriod) -> FreezePeriod | None:
	"""The first live period that shares a frozen day with ``new``, if any."""
	new_end = new.last_frozen_day
	if new_end is None:
		return None
	for period in periods:
		end = period.last_frozen_day
		if end is not None and period.from_date <= new_end and new.from_date <= end:
			return period
	return None


def validate_no_overlap(periods, new: FreezePeriod) -> None:
	other = overlapping(periods, new)
	if other is not None:
		raise FreezeOverlapError(
			f"the freeze from {new.from_date} to {new.to_date} overlaps the one from "
			f"{other.from_date} to {other.last_frozen_day}",
			other,
		)


def current_or_next(periods, today: date) -> FreezePeriod | None:
	"""The live period that freezes today or starts later, the earliest first; what a balance shows."""
	ahead = [p for p in periods if p.last_frozen_day is not None and p.last_frozen_day >= today]
	return min(ahead, key=lambda p: (p.from_date, p.to_date), default=None)


def period_on_record(periods, today: date) -> FreezePeriod | None:
	"""The period a balance keeps on record: the live or next one, else the one that ended last.

	A balance holds one period of its own (frozen from / until), so a redemption or an expiry can be
	refused without reading the freezes; one pending period at a time keeps it exact from today on.
	"""
	ahead = current_or_next(periods, today)
	if ahead is not None:
		return ahead
	ended = [p for p in periods if p.last_frozen_day is not None]
	return max(ended, key=lambda p: (p.last_frozen_day, p.from_date), default=None)
