"""Expiry, breakage and extension of balances (SPEC §3 Expiry and breakage).

A daily job marks balances past their expiry date Expired. With breakage on,
the deferred value still in an expired Upon Consumption balance is recognized
by a Journal Entry (Dr deferred revenue, Cr the breakage income account, or
each item's own income account), so the liability does not sit forever. A
Package Manager may extend a balance; that cancels breakage already posted.
"""

import frappe
from frappe import _
from frappe.utils import add_days, flt, getdate, now_datetime, nowdate

from package_bundles import engine, package_ledger
from package_bundles.accounting import cancel_journal_entry, post_recognition
from package_bundles.exceptions import PackageValidityError
from package_bundles.package_bundles.doctype.package_balance.package_balance import (
	balance_status,
	write_balance,
)
from package_bundles.package_bundles.doctype.package_settings.package_settings import (
	get_breakage_income_account,
	get_settings,
	is_paid,
)
from package_bundles.package_bundles.doctype.prepaid_package.prepaid_package import currency_precision

EXPIRING_STATUSES = ("Active", "Awaiting Payment")
UPON_CONSUMPTION = "Upon Consumption"


def expire_balances(today=None) -> dict:
	"""Scheduler (daily). Each balance in its own savepoint: one failure is logged, the rest go on."""
	today = getdate(today or nowdate())
	names = frappe.get_all(
		"Package Balance",
		filters={"status": ("in", EXPIRING_STATUSES), "expiry_date": ("<", today)},
		pluck="name",
		order_by="expiry_date asc, name asc",
	)
	outcome = {"expired": [], "failed": []}
	for name in names:
		savepoint = f"expire_{frappe.generate_hash(length=8)}"
		frappe.db.savepoint(savepoint)
		try:
			if expire_balance(name, today):
				outcome["expired"].append(name)
		except Exception:
			frappe.db.rollback(save_point=savepoint)
			outcome["failed"].append(name)
			frappe.log_error(
				title=_("Could not expire package balance {0}").format(name),
				reference_doctype="Package Balance",
				reference_name=name,
			)
	return outcome


def expire_balance(name: str, today) -> bool:
	balance = frappe.get_doc("Package Balance", name, for_update=True)
	if (
		balance.status not in EXPIRING_STATUSES
		or not balance.expiry_date
		or getdate(balance.expiry_date) >= today
	):
		return False  # already handled: running the job twice posts nothing twice
	balance.status = "Expired"
	if get_settings().recognize_breakage and balance.revenue_recognition == UPON_CONSUMPTION:
		post_breakage(balance)
	write_balance(balance)
	return True


def post_breakage(balance) -> None:
	breakage_date = add_days(balance.expiry_date, 1)
	fixed_account = get_breakage_income_account(balance.company)
	precision = currency_precision(balance.currency)
	credits, broken = [], []
	for item in balance.items:
		amount = engine.round_money(engine.to_decimal(flt(item.deferred_amount)), precision)
		if amount > 0:
			account = fixed_account or item.income_account
			credits.append(engine.Credit(account, item.cost_center, amount))
			broken.append((item, amount, account))
	if not credits:
		return
	journal_entry = post_recognition(
		balance.company,
		breakage_date,
		credits,
		_("Breakage of expired package balance {0}").format(balance.name),
		deferred_account=balance.deferred_revenue_account,
		package_balance=balance.name,
	)
	entries = []
	for item, amount, account in broken:
		item.breakage_amount = flt(amount)
		item.deferred_amount = 0
		entries.append(
			package_ledger.entry(
				"Breakage",
				balance.as_dict(),
				{**item.as_dict(), "income_account": account},
				breakage_date,
				"Journal Entry",
				journal_entry,
				deferred_change=-amount,
				revenue_change=amount,
				journal_entry=journal_entry,
			)
		)
	balance.breakage_amount = sum(flt(amount) for _item, amount, _account in broken)
	balance.breakage_date = breakage_date
	balance.breakage_journal_entry = journal_entry
	package_ledger.make_entries(entries)


@frappe.whitelist(methods=["POST"])
def extend_expiry(balance: str, new_expiry_date: str, reason: str) -> dict:
	"""Package Manager: move a balance's expiry later; breakage already posted is reversed."""
	validate_package_manager()
	doc = frappe.get_doc("Package Balance", balance, for_update=True)
	new_expiry = getdate(new_expiry_date)
	validate_extension(doc, new_expiry, reason)

	reversed_journal_entry = doc.breakage_journal_entry
	if reversed_journal_entry:
		cancel_journal_entry(reversed_journal_entry)
		package_ledger.cancel_entries("Journal Entry", reversed_journal_entry)
		for item in doc.items:
			item.deferred_amount = flt(item.deferred_amount) + flt(item.breakage_amount)
			item.breakage_amount = 0
		doc.breakage_amount = 0
		doc.breakage_date = None
		doc.breakage_journal_entry = None

	doc.append(
		"extensions",
		{
			"previous_expiry_date": doc.expiry_date,
			"new_expiry_date": new_expiry,
			"reason": reason,
			"extended_by": frappe.session.user,
			"extended_on": now_datetime(),
			"reversed_breakage_journal_entry": reversed_journal_entry,
		},
	)
	doc.expiry_date = new_expiry
	if doc.status == "Expired":
		doc.status = "Active"
		doc.status = balance_status(
			doc, paid=is_paid(frappe.db.get_value("Sales Invoice", doc.sales_invoice, "outstanding_amount"))
		)
	write_balance(doc)
	return {"name": doc.name, "status": doc.status, "expiry_date": str(doc.expiry_date)}


def validate_package_manager():
	# frappe.only_for is silent under tests; this check must hold there too
	if frappe.session.user != "Administrator" and not {"Package Manager", "System Manager"} & set(
		frappe.get_roles()
	):
		frappe.throw(_("Only a Package Manager can extend a package balance"), frappe.PermissionError)


def validate_extension(doc, new_expiry, reason: str):
	if doc.status not in ("Active", "Awaiting Payment", "Expired"):
		frappe.throw(
			_("Package balance {0} is {1}; only active or expired balances can be extended").format(
				frappe.bold(doc.name), _(doc.status)
			),
			PackageValidityError,
		)
	if not (reason or "").strip():
		frappe.throw(
			_("Give a reason for extending package balance {0}").format(frappe.bold(doc.name)),
			PackageValidityError,
		)
	if doc.expiry_date and new_expiry <= getdate(doc.expiry_date):
		frappe.throw(
			_("The new expiry date {0} must be later than the current one, {1}").format(
				frappe.bold(frappe.format(new_expiry, "Date")),
				frappe.bold(frappe.format(doc.expiry_date, "Date")),
			),
			PackageValidityError,
		)
	if new_expiry < getdate(nowdate()):
		frappe.throw(
			_("The new expiry date {0} is in the past").format(
				frappe.bold(frappe.format(new_expiry, "Date"))
			),
			PackageValidityError,
		)
