"""Freezing a balance (issue 20, Freeze): a Package Balance Freeze pauses a balance for a date range.

Submit: lock the balance, check it may be frozen, move its expiry later by the frozen days and
keep the period on the balance (``frozen_from`` / ``frozen_until``), which the redemption query
(flows/redeem.py ``load_holdings``), the redemption's submit re-check and the expiry job
(flows/expire.py) read without a query of their own. Early unfreeze (api.balances.unfreeze): the
days from the unfreeze date to the period's end are given back. Cancel: the days the freeze still
counts are taken back. The date rules are the engine's (engine/freeze.py); a freeze moves no
units and no value, so it posts nothing and writes no ledger entry.

One freeze per balance may be pending (not ended) at a time: the balance's own period then says
exactly which days from today on are frozen.
"""

import frappe
from frappe import _
from frappe.query_builder import DocType
from frappe.utils import getdate, now_datetime, nowdate

from package_bundles import engine
from package_bundles.exceptions import (
	BalanceCancelledError,
	BalanceExpiredError,
	BalanceRefundedError,
	BalanceStateError,
	BalanceTransferredError,
	BalanceUpgradedError,
	BalanceUsedUpError,
	FreezeDateError,
	FreezeOverlapError,
	UnfreezeError,
)

FREEZABLE_STATUSES = ("Active", "Awaiting Payment")
REFUSED_STATUSES = {
	"Expired": BalanceExpiredError,
	"Refunded": BalanceRefundedError,
	"Cancelled": BalanceCancelledError,
	"Exhausted": BalanceUsedUpError,
	"Upgraded": BalanceUpgradedError,
	"Transferred": BalanceTransferredError,
}


# --- the controller's steps ---------------------------------------------------------------------


def validate_freeze(doc) -> None:
	"""Draft save: the period itself (its days are counted again at submit)."""
	validate_period(doc)
	validate_not_in_the_past(doc)
	doc.frozen_days = engine.frozen_days(getdate(doc.from_date), getdate(doc.to_date))


def check_freeze(doc) -> None:
	"""before_submit: lock the balance and check it may be frozen for these days; nothing is written."""
	balance = lock_balance(doc.package_balance)
	validate_balance(doc, balance)
	validate_period(doc)
	validate_not_in_the_past(doc)
	validate_within_expiry(doc, balance)
	others = live_periods(balance.name, exclude=doc.name)
	validate_no_overlap(doc, others)
	validate_none_pending(doc, others)
	period = period_of(doc)
	doc.customer, doc.company = balance.customer, balance.company
	doc.frozen_days = engine.frozen_days(period.from_date, period.to_date)
	doc.previous_expiry_date = balance.expiry_date
	doc.new_expiry_date = engine.expiry_after_freeze(getdate_or_none(balance.expiry_date), period)


def submit_freeze(doc) -> None:
	"""on_submit: the balance's expiry moves later by the frozen days; its period is this one."""
	balance = lock_balance(doc.package_balance)
	expiry = engine.expiry_after_freeze(getdate_or_none(balance.expiry_date), period_of(doc))
	update_balance(balance.name, expiry)
	log_on_balance(
		balance.name,
		_("Frozen by {0} from {1} to {2} ({3} days): {4}. Expiry moved from {5} to {6}.").format(
			doc.name,
			format_date(doc.from_date),
			format_date(doc.to_date),
			doc.frozen_days,
			doc.reason,
			format_date(balance.expiry_date),
			format_date(expiry),
		),
	)


def cancel_freeze(doc) -> None:
	"""on_cancel: the expiry moves back by the days the freeze still counts; the period leaves the balance."""
	balance = lock_balance(doc.package_balance)
	period = period_of(doc)
	expiry = engine.expiry_after_cancel(getdate_or_none(balance.expiry_date), period)
	update_balance(balance.name, expiry)
	log_on_balance(
		balance.name,
		_("Freeze {0} cancelled: {1} frozen days taken back, expiry moved from {2} to {3}.").format(
			doc.name, period.counted_days, format_date(balance.expiry_date), format_date(expiry)
		),
	)


def unfreeze_early(doc, on_date) -> dict:
	"""Give back the days from ``on_date`` to the period's end (the caller checked permissions).

	The balance is usable again on ``on_date``; its expiry moves back by the days given back.
	"""
	on_date = getdate(on_date or nowdate())
	balance = lock_balance(doc.package_balance)
	doc = frappe.get_doc("Package Balance Freeze", doc.name, for_update=True)
	validate_unfreeze(doc, on_date)
	period = period_of(doc)
	try:
		given_back = engine.unused_days(period, on_date)
		unfrozen = engine.unfreeze(period, on_date)
	except engine.FreezeOverError:
		refuse_unfreeze_of_ended(doc)
	expiry = engine.expiry_after_unfreeze(getdate_or_none(balance.expiry_date), period, on_date)
	doc.db_set(
		{
			"unfrozen_on": unfrozen.unfrozen_on,
			"days_given_back": given_back,
			"expiry_after_unfreeze": expiry,
			"unfrozen_by": frappe.session.user,
			"unfrozen_at": now_datetime(),
		}
	)
	update_balance(balance.name, expiry)
	message = _("Unfrozen from {0} by {1}: {2} days given back, expiry moved from {3} to {4}.").format(
		format_date(unfrozen.unfrozen_on),
		frappe.session.user,
		given_back,
		format_date(balance.expiry_date),
		format_date(expiry),
	)
	doc.add_comment("Info", message)
	log_on_balance(balance.name, _("Freeze {0}: {1}").format(doc.name, message))
	return {
		"name": doc.name,
		"package_balance": balance.name,
		"unfrozen_on": str(unfrozen.unfrozen_on),
		"days_given_back": given_back,
		"expiry_date": str(expiry) if expiry else None,
	}


# --- what other flows ask -----------------------------------------------------------------------


def is_frozen_on(balance_name: str, date) -> bool:
	"""Whether a live freeze of the balance covers this day (read from the freezes themselves)."""
	return engine.is_frozen_on(live_periods(balance_name), getdate(date))


def covers(frozen_from, frozen_until, date) -> bool:
	"""Whether a balance's period on record (its frozen_from / frozen_until) covers this day."""
	return bool(frozen_from and frozen_until) and getdate(frozen_from) <= getdate(date) <= getdate(
		frozen_until
	)


def live_periods(balance_name: str, exclude: str | None = None) -> list[engine.FreezePeriod]:
	"""The submitted freezes of a balance as engine periods (an early unfreeze shortens one)."""
	Freeze = DocType("Package Balance Freeze")
	query = (
		frappe.qb.from_(Freeze)
		.select(Freeze.name, Freeze.from_date, Freeze.to_date, Freeze.unfrozen_on)
		.where(Freeze.package_balance == balance_name)
		.where(Freeze.docstatus == 1)
		.orderby(Freeze.from_date)
		.orderby(Freeze.name)
	)
	if exclude:
		query = query.where(Freeze.name != exclude)
	return [
		engine.FreezePeriod(
			getdate(row.from_date),
			getdate(row.to_date),
			getdate(row.unfrozen_on) if row.unfrozen_on else None,
			key=row.name,
		)
		for row in query.run(as_dict=True)
	]


# --- checks -------------------------------------------------------------------------------------


def validate_balance(doc, balance) -> None:
	if balance.status not in FREEZABLE_STATUSES:
		frappe.throw(
			_(
				"Package balance {0} is {1}: only an active balance, or one awaiting payment, can be frozen"
			).format(frappe.bold(balance.name), _(balance.status)),
			REFUSED_STATUSES.get(balance.status, BalanceStateError),
		)
	if balance.expiry_date and getdate(balance.expiry_date) < getdate(nowdate()):
		frappe.throw(
			_("Package balance {0} expired on {1} and cannot be frozen; extend it first").format(
				frappe.bold(balance.name), format_date(balance.expiry_date)
			),
			BalanceExpiredError,
		)


def validate_period(doc) -> None:
	try:
		engine.validate_freeze_period(getdate(doc.from_date), getdate(doc.to_date))
	except engine.InvalidFreezePeriodError:
		frappe.throw(
			_("The freeze cannot end on {0}, before it starts on {1}").format(
				frappe.bold(format_date(doc.to_date)), frappe.bold(format_date(doc.from_date))
			),
			FreezeDateError,
		)


def validate_not_in_the_past(doc) -> None:
	if getdate(doc.from_date) < getdate(nowdate()):
		frappe.throw(
			_("A freeze cannot start in the past: {0} is before today, {1}").format(
				frappe.bold(format_date(doc.from_date)), format_date(nowdate())
			),
			FreezeDateError,
		)


def validate_within_expiry(doc, balance) -> None:
	if balance.expiry_date and getdate(doc.from_date) > getdate(balance.expiry_date):
		frappe.throw(
			_(
				"Package balance {0} expires on {1}: a freeze must start on or before that day, not on {2}"
			).format(
				frappe.bold(balance.name),
				format_date(balance.expiry_date),
				frappe.bold(format_date(doc.from_date)),
			),
			FreezeDateError,
		)


def validate_no_overlap(doc, others: list[engine.FreezePeriod]) -> None:
	try:
		engine.validate_no_overlap(others, period_of(doc))
	except engine.FreezeOverlapError as error:
		other = error.args[1]
		frappe.throw(
			_(
				"The freeze from {0} to {1} overlaps freeze {2} of package balance {3}, from {4} to {5}"
			).format(
				format_date(doc.from_date),
				format_date(doc.to_date),
				frappe.bold(other.key),
				frappe.bold(doc.package_balance),
				format_date(other.from_date),
				format_date(other.last_frozen_day),
			),
			FreezeOverlapError,
		)


def validate_none_pending(doc, others: list[engine.FreezePeriod]) -> None:
	pending = engine.current_or_next(others, getdate(nowdate()))
	if pending:
		frappe.throw(
			_(
				"Package balance {0} has freeze {1} still to end ({2} to {3}): unfreeze or cancel it first, or freeze again once it has ended"
			).format(
				frappe.bold(doc.package_balance),
				frappe.bold(pending.key),
				format_date(pending.from_date),
				format_date(pending.last_frozen_day),
			),
			FreezeOverlapError,
		)


def validate_unfreeze(doc, on_date) -> None:
	if doc.docstatus != 1:
		frappe.throw(
			_("Freeze {0} is not submitted: only a submitted freeze can be unfrozen").format(
				frappe.bold(doc.name)
			),
			UnfreezeError,
		)
	if on_date < getdate(nowdate()):
		frappe.throw(
			_("A freeze cannot be unfrozen in the past: {0} is before today, {1}").format(
				frappe.bold(format_date(on_date)), format_date(nowdate())
			),
			UnfreezeError,
		)


def refuse_unfreeze_of_ended(doc):
	if doc.unfrozen_on:
		message = _("Freeze {0} was unfrozen on {1} already").format(
			frappe.bold(doc.name), format_date(doc.unfrozen_on)
		)
	else:
		message = _("Freeze {0} ended on {1}: no days are left to give back").format(
			frappe.bold(doc.name), format_date(doc.to_date)
		)
	frappe.throw(message, UnfreezeError)


# --- the balance --------------------------------------------------------------------------------


def lock_balance(name: str):
	Balance = DocType("Package Balance")
	rows = (
		frappe.qb.from_(Balance)
		.select(Balance.name, Balance.status, Balance.customer, Balance.company, Balance.expiry_date)
		.where(Balance.name == name)
		.for_update()
		.run(as_dict=True)
	)
	if not rows:
		frappe.throw(
			_("Package balance {0} does not exist").format(frappe.bold(name)), frappe.DoesNotExistError
		)
	return rows[0]


def update_balance(name: str, expiry) -> None:
	"""The balance's expiry, and the period it keeps on record, from its live freezes."""
	on_record = engine.period_on_record(live_periods(name), getdate(nowdate()))
	Balance = DocType("Package Balance")
	frappe.qb.update(Balance).set(Balance.expiry_date, expiry).set(
		Balance.frozen_from, on_record.from_date if on_record else None
	).set(Balance.frozen_until, on_record.last_frozen_day if on_record else None).set(
		Balance.modified, now_datetime()
	).where(Balance.name == name).run()


def log_on_balance(name: str, message: str) -> None:
	frappe.get_doc(
		{
			"doctype": "Comment",
			"comment_type": "Info",
			"reference_doctype": "Package Balance",
			"reference_name": name,
			"content": message,
		}
	).insert(ignore_permissions=True)


def period_of(doc) -> engine.FreezePeriod:
	return engine.FreezePeriod(
		getdate(doc.from_date),
		getdate(doc.to_date),
		getdate(doc.unfrozen_on) if doc.get("unfrozen_on") else None,
		key=doc.name,
	)


def getdate_or_none(value):
	return getdate(value) if value else None


def format_date(value) -> str:
	return frappe.format(getdate(value), "Date") if value else _("no expiry")
