"""Journal Entries the app posts and cancels; users cannot cancel them by hand.

Every line of a Journal Entry is an account key: account, cost center, project and the
values of the site's accounting dimensions. The deferred revenue side of a balance always
uses what the balance captured from its purchase row (SPEC §3 State); the income side uses
the invoice row that redeemed, or the balance line's own item income account.
"""

from contextlib import contextmanager
from dataclasses import dataclass

import frappe
from frappe import _
from frappe.query_builder import DocType
from frappe.query_builder.functions import Max
from frappe.utils import add_days, getdate

from package_bundles import engine
from package_bundles.exceptions import AppJournalEntryError


@dataclass(frozen=True)
class AccountKey:
	account: str
	cost_center: str | None = None
	project: str | None = None
	dimensions: tuple = ()  # ((fieldname, value), ...) sorted

	def with_fallback(self, fallback: "AccountKey | None") -> "AccountKey":
		"""Fill what this key lacks (a dimension made mandatory after the sale) from another."""
		if fallback is None:
			return self
		dimensions = dict(fallback.dimensions)
		dimensions.update({k: v for k, v in self.dimensions if v})
		return AccountKey(
			self.account,
			self.cost_center or fallback.cost_center,
			self.project or fallback.project,
			tuple(sorted(dimensions.items())),
		)


def dimension_fieldnames() -> list[str]:
	from erpnext.accounts.doctype.accounting_dimension.accounting_dimension import get_accounting_dimensions

	return get_accounting_dimensions()


# ERPNext gives each of these a Link field per accounting dimension (hooks
# accounting_dimension_doctypes), so what they captured follows a renamed dimension value
CAPTURING_DOCTYPES = ("Package Balance", "Package Redemption")


def captured_dimension_fields(doctype: str) -> list[str]:
	"""The dimensions a balance or redemption log holds: those with a field on its doctype."""
	meta = frappe.get_meta(doctype)
	return [fieldname for fieldname in dimension_fieldnames() if meta.has_field(fieldname)]


def add_dimension_fields() -> None:
	"""Install and migrate: a Link field on the capturing doctypes for each existing dimension
	(ERPNext adds them for dimensions made later)."""
	from erpnext.accounts.doctype.accounting_dimension.accounting_dimension import (
		create_accounting_dimensions_for_doctype,
	)

	for doctype in CAPTURING_DOCTYPES:
		create_accounting_dimensions_for_doctype(doctype)


def dimensions_of(doc_or_row) -> dict[str, str]:
	"""The accounting dimension values a document or row carries (cost center and project aside)."""
	return {
		fieldname: doc_or_row.get(fieldname)
		for fieldname in dimension_fieldnames()
		if doc_or_row.get(fieldname)
	}


def key_of(account: str, cost_center=None, project=None, dimensions: dict | None = None) -> AccountKey:
	return AccountKey(
		account, cost_center or None, project or None, tuple(sorted((dimensions or {}).items()))
	)


def row_key(row, account: str | None = None, parent=None) -> AccountKey:
	"""The key ERPNext would give an invoice row's income GL line."""
	dimensions = dimensions_of(parent) if parent is not None else {}
	dimensions.update(dimensions_of(row))
	return key_of(
		account or row.income_account,
		row.get("cost_center") or (parent.get("cost_center") if parent is not None else None),
		row.get("project") or (parent.get("project") if parent is not None else None),
		dimensions,
	)


def post_journal_entry(
	company: str,
	posting_date,
	lines: list[engine.JournalLine],
	remark: str,
	voucher_type: str | None = None,
	voucher_no: str | None = None,
	package_balance: str | None = None,
	is_opening: bool = False,
	naming=None,
) -> str | None:
	"""Submit a Journal Entry of balanced lines keyed by AccountKey; None when nothing moves.

	``is_opening``: an Opening Entry (ERPNext's convention for balances brought in from
	another system; its GL Entries are marked opening). ``naming``: a connection of
	naming_connection() to take the entry's name on, apart from this transaction (name_apart).
	"""
	if not lines:
		return None
	journal_entry = frappe.new_doc("Journal Entry")
	journal_entry.update(
		{
			"voucher_type": "Opening Entry" if is_opening else "Journal Entry",
			"is_opening": "Yes" if is_opening else "No",
			"company": company,
			"posting_date": posting_date,
			"user_remark": remark,
			"package_voucher_type": voucher_type if voucher_no else None,
			"package_voucher_no": voucher_no,
			"package_balance": package_balance,
		}
	)
	defaults = default_dimensions(company)
	for line in lines:
		key: AccountKey = line.key
		row = {
			"account": key.account,
			"cost_center": key.cost_center or company_cost_center(company),
			"project": key.project,
			"debit_in_account_currency": float(line.debit),
			"credit_in_account_currency": float(line.credit),
		}
		row.update(defaults)
		row.update(dict(key.dimensions))
		journal_entry.append("accounts", row)
	journal_entry.flags.ignore_permissions = True
	journal_entry.flags.posted_by_package_bundles = True
	if naming is not None:
		name_apart(journal_entry, naming)
	# inserted submitted: one save runs validate, before_submit and on_submit (the GL), without
	# the second save (and its version) of insert() then submit()
	journal_entry.docstatus = 1
	journal_entry.insert()
	return journal_entry.name


@contextmanager
def naming_connection():
	"""A second connection to the site's database, for names taken apart (name_apart); closed after."""
	from frappe.database import get_db

	conf = frappe.local.conf
	connection = get_db(
		socket=conf.db_socket,
		host=conf.db_host,
		port=conf.db_port,
		user=conf.get("db_user") or conf.db_name,  # a site may name its user apart (db_user, later Frappe)
		password=conf.db_password,
		cur_db_name=conf.db_name,
	)
	try:
		yield connection
	finally:
		connection.close()


def name_apart(journal_entry, connection) -> None:
	"""Name the Journal Entry from its naming series (or a naming rule) in a transaction of its own
	on ``connection``, committed at once.

	Frappe locks the series row (`tabSeries`, SELECT ... FOR UPDATE) until the transaction that
	takes a number ends: taken inside a posting it is held through the entry's validation, its GL
	and the package ledger, and every other posting of the site that names a Journal Entry waits
	that long. Taken apart it is held for a moment, so the expiry job's workers post side by side
	(issue 22). A posting rolled back after it leaves a gap in the numbering, as a deleted draft
	does.
	"""
	main = frappe.local.db
	frappe.local.db = connection
	try:
		journal_entry.set_new_name()
		connection.commit()  # nosemgrep: the naming connection's own transaction, the series row alone
	except Exception:
		connection.rollback()
		raise
	finally:
		frappe.local.db = main


def default_dimensions(company: str) -> dict[str, str]:
	"""The company's default value of each accounting dimension, for keys that carry none."""
	from erpnext.accounts.doctype.accounting_dimension.accounting_dimension import (
		get_checks_for_pl_and_bs_accounts,
	)

	return {
		dimension.fieldname: dimension.default_dimension
		for dimension in get_checks_for_pl_and_bs_accounts()
		if dimension.company == company and dimension.default_dimension
	}


def cancel_journal_entry(name: str | None):
	if not name or frappe.db.get_value("Journal Entry", name, "docstatus") != 1:
		return
	journal_entry = frappe.get_doc("Journal Entry", name)
	journal_entry.flags.ignore_permissions = True
	journal_entry.flags.posted_by_package_bundles = True
	journal_entry.cancel()


def reverse_journal_entry(name: str, posting_date, remark: str) -> str:
	"""Post the reverse of one of the app's Journal Entries (debits and credits swapped, same
	accounts, cost centers, projects and dimensions), linked to the same voucher or balance.

	For an entry in a locked period, which ERPNext refuses to cancel (with an immutable
	ledger too: it checks the original entry's date); the original stays submitted.
	"""
	original = frappe.get_doc("Journal Entry", name)
	reversal = frappe.new_doc("Journal Entry")
	reversal.update(
		{
			"voucher_type": "Journal Entry",
			"is_opening": "No",
			"company": original.company,
			"posting_date": posting_date,
			"user_remark": remark,
			"reversal_of": original.name,
			"package_voucher_type": original.get("package_voucher_type"),
			"package_voucher_no": original.get("package_voucher_no"),
			"package_balance": original.get("package_balance"),
			"multi_currency": original.multi_currency,
		}
	)
	copied = ("account", "party_type", "party", "cost_center", "project", "account_currency", "exchange_rate")
	for row in original.accounts:
		values = {field: row.get(field) for field in (*copied, *dimension_fieldnames())}
		values.update(
			debit_in_account_currency=row.credit_in_account_currency,
			credit_in_account_currency=row.debit_in_account_currency,
			debit=row.credit,
			credit=row.debit,
		)
		reversal.append("accounts", values)
	reversal.flags.ignore_permissions = True
	# it names the voucher as the original does, though that voucher may be being cancelled now
	reversal.flags.ignore_links = True
	reversal.flags.posted_by_package_bundles = True
	reversal.docstatus = 1
	reversal.insert()
	return reversal.name


def prevent_manual_cancel(doc, method=None):
	"""Journal Entry before_cancel: the app's entries follow their invoice or balance."""
	if (
		doc.get("package_voucher_no") or doc.get("package_balance")
	) and not doc.flags.posted_by_package_bundles:
		frappe.throw(
			_("Journal Entry {0} was posted by Package Bundles; cancel {1} instead").format(
				frappe.bold(doc.name), frappe.bold(doc.package_voucher_no or doc.package_balance)
			),
			AppJournalEntryError,
		)


def posted_by_app(journal_entries: list[str]) -> set[str]:
	"""Which of these Journal Entries the app posted: those that name the voucher or balance they follow."""
	if not journal_entries:
		return set()
	Journal = DocType("Journal Entry")
	return set(
		frappe.qb.from_(Journal)
		.select(Journal.name)
		.where(Journal.name.isin(journal_entries))
		.where(
			(Journal.package_voucher_no.isnotnull() & (Journal.package_voucher_no != ""))
			| (Journal.package_balance.isnotnull() & (Journal.package_balance != ""))
		)
		.orderby(Journal.name)
		.run(pluck=True)
	)


def company_cost_center(company: str) -> str | None:
	return frappe.get_cached_value("Company", company, "cost_center")


def temporary_opening_account(company: str) -> str:
	from erpnext.accounts.doctype.opening_invoice_creation_tool.opening_invoice_creation_tool import (
		get_temporary_opening_account,
	)

	return get_temporary_opening_account(company)


def item_income_account(item_code: str, company: str) -> str:
	"""The income account ERPNext would credit for the item sold alone."""
	from erpnext.setup.doctype.brand.brand import get_brand_defaults
	from erpnext.setup.doctype.item_group.item_group import get_item_group_defaults
	from erpnext.stock.doctype.item.item import get_item_defaults

	return (
		get_item_defaults(item_code, company).get("income_account")
		or get_item_group_defaults(item_code, company).get("income_account")
		or get_brand_defaults(item_code, company).get("income_account")
		or frappe.get_cached_value("Company", company, "default_income_account")
	)


def item_cost_center(item_code: str, company: str) -> str | None:
	from erpnext.setup.doctype.item_group.item_group import get_item_group_defaults
	from erpnext.stock.doctype.item.item import get_item_defaults

	return (
		get_item_defaults(item_code, company).get("selling_cost_center")
		or get_item_group_defaults(item_code, company).get("selling_cost_center")
		or company_cost_center(company)
	)


# --- the dates the books take -----------------------------------------------------------------------


def first_open_date(company: str, posting_date, locks: list[tuple] | None = None):
	"""The first date on or after ``posting_date`` on which the company's books take a Journal Entry.

	Every posting the app makes because of a later event (breakage, a rounding on cancel, the
	reversal of an entry in a locked period) is dated here. A date is locked while the accounts
	are frozen up to it (Accounts Settings, whatever the current user's roles: the expiry job
	runs as Administrator), while it lies in a closed Accounting Period for Journal Entry, or
	while a Period Closing Voucher closed the books up to it; the posting then moves to the day
	after the lock. ``locks``: book_locks(company), when the caller asks for many dates.
	"""
	date = getdate(posting_date)
	if locks is None:
		locks = book_locks(company)
	moved = True
	while moved:
		moved = False
		for start, end in locks:
			if (start is None or start <= date) and date <= end:
				date, moved = add_days(end, 1), True
	return getdate(date)


def book_locks(company: str) -> list[tuple]:
	"""(first day or None, last day) of every lock on the company's books, earliest first."""
	locks = [(None, getdate(day)) for day in (frozen_till(company), books_closed_till(company)) if day]
	Period = DocType("Accounting Period")
	Closed = DocType("Closed Document")
	periods = (
		frappe.qb.from_(Period)
		.join(Closed)
		.on(Closed.parent == Period.name)
		.select(Period.start_date, Period.end_date)
		.where(Period.company == company)
		.where(Closed.parenttype == "Accounting Period")
		.where(Closed.document_type == "Journal Entry")
		.where(Closed.closed == 1)
		.orderby(Period.start_date)
		.orderby(Period.end_date)
		.run()
	)
	locks += [(getdate(start), getdate(end)) for start, end in periods]
	return locks


def frozen_till(company: str):
	"""Accounts frozen up to this date (v15 Accounts Settings; v16 keeps it per company)."""
	if frappe.get_meta("Company").has_field("accounts_frozen_till_date"):
		return frappe.db.get_value("Company", company, "accounts_frozen_till_date")
	return frappe.db.get_single_value("Accounts Settings", "acc_frozen_upto", cache=False)


def books_closed_till(company: str):
	"""The end of the last period a submitted Period Closing Voucher closed (ERPNext's validate_against_pcv)."""
	Voucher = DocType("Period Closing Voucher")
	closed = (
		frappe.qb.from_(Voucher)
		.select(Max(Voucher.period_end_date))
		.where(Voucher.company == company)
		.where(Voucher.docstatus == 1)
		.run()
	)
	return closed[0][0] if closed else None
