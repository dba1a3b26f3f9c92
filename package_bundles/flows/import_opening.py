"""Opening balances: packages patients bought before the practice moved to ERPNext.

A Package Opening Import (filled by Data Import, by REST or by hand) lists, one row per
balance line, the customer, the package, the purchase's reference in the old system, the
purchase and expiry dates, the units left and the deferred value left. Every row is checked
before anything is written; a bad row refuses the whole import with a message naming it.

On submit, each (customer, package, original reference) becomes one Package Balance marked
as opening. Its lines enter the ledger as Opening movements (the engine's ``Sell`` with
``opening=True``: units left, value left), and one Journal Entry per import, an Opening
Entry as ERPNext's Opening Invoice Creation Tool makes, moves their value from the
company's Temporary Opening account to the deferred revenue account. A practice whose
prepayments are already in its ERPNext books (possibly closed by a Period Closing Voucher,
after which ERPNext takes no Opening Entry) chooses another balance-sheet account, a
clearing or customer advances account: the entry is then an ordinary Journal Entry. From
then on an opening balance is redeemed, expires, breaks, is extended and refunded like any
other (refunds: refund.py, a credit note without a purchase invoice to return against).
"""

from decimal import Decimal

import frappe
from frappe import _
from frappe.query_builder import DocType
from frappe.utils import flt, getdate

from package_bundles import engine
from package_bundles.engine.state import CANCEL_PURCHASE
from package_bundles.exceptions import OpeningAlreadyImportedError, OpeningImportError
from package_bundles.flows.catalog import clear_catalog_cache
from package_bundles.flows.sell import balance_line
from package_bundles.ledger import package_ledger
from package_bundles.ledger.journal_entries import (
	company_cost_center,
	first_open_date,
	temporary_opening_account,
)
from package_bundles.ledger.posting import LedgerPosting, cancel_entries
from package_bundles.package_bundles.doctype.package_balance.package_balance import write_balance
from package_bundles.package_bundles.doctype.package_settings.package_settings import (
	get_deferred_revenue_account,
)
from package_bundles.package_bundles.doctype.prepaid_package.prepaid_package import (
	breakage_terms,
	currency_precision,
	whole_number_uoms,
)

UPON_PURCHASE = "Upon Purchase"


def balance_key(row) -> tuple[str, str, str]:
	"""Rows with the same customer, package and original reference are one balance."""
	return (row.customer, row.prepaid_package, (row.original_reference or "").strip().casefold())


def describe(row) -> str:
	return _("customer {0}, package {1}, reference {2}").format(
		frappe.bold(row.customer), frappe.bold(row.prepaid_package), frappe.bold(row.original_reference)
	)


# --- validate ---------------------------------------------------------------------------------


def validate_import(doc) -> None:
	"""Every row is checked; all refusals are listed at once, naming their rows; nothing is written."""
	if not doc.lines:
		frappe.throw(_("Add the balance lines to bring in"), OpeningImportError)
	context = ImportContext(doc)
	problems = []
	for row in doc.lines:
		row.original_reference = (row.original_reference or "").strip()
		problems += context.row_problems(row)
	problems += group_problems(doc)
	if problems:
		frappe.throw(problems, OpeningImportError, title=_("Opening balances refused"), as_list=True)
	validate_opening_account(doc)
	validate_open_date(doc)
	validate_not_imported(doc)
	doc.total_units_left = sum(flt(row.units_left) for row in doc.lines)
	doc.total_value_left = flt(sum(flt(row.value_left) for row in doc.lines), context.precision)


def validate_opening_account(doc) -> None:
	"""The account the value comes from: the company's Temporary Opening account unless one is chosen."""
	doc.opening_account = doc.opening_account or temporary_opening_account(doc.company)
	account = opening_account_of(doc)
	reason = None
	if not account:
		reason = _("it does not exist")
	elif account.company != doc.company:
		reason = _("it belongs to company {0}").format(frappe.bold(account.company))
	elif account.is_group:
		reason = _("it is a group account")
	elif account.disabled:
		reason = _("it is disabled")
	elif account.report_type != "Balance Sheet":
		reason = _("it is not a balance sheet account")
	elif account.account_type in ("Receivable", "Payable"):
		reason = _("a {0} account needs a party on every entry").format(_(account.account_type))
	elif doc.opening_account == get_deferred_revenue_account(doc.company):
		reason = _("it is the deferred revenue account the balances are posted to")
	if reason:
		frappe.throw(
			_("Account {0} cannot take the opening balances: {1}").format(
				frappe.bold(doc.opening_account), reason
			),
			OpeningImportError,
		)
	if is_opening_entry(account) and frappe.db.exists(
		"Period Closing Voucher", {"docstatus": 1, "company": doc.company}
	):
		frappe.throw(
			_(
				"The books of {0} were closed by a Period Closing Voucher, so ERPNext takes no more Opening Entries against {1}. Post against the balance-sheet account that holds these prepayments today, such as a clearing or customer advances account."
			).format(frappe.bold(doc.company), frappe.bold(doc.opening_account)),
			OpeningImportError,
		)


def opening_account_of(doc):
	return frappe.db.get_value(
		"Account",
		doc.opening_account,
		["company", "is_group", "disabled", "report_type", "account_type"],
		as_dict=True,
	)


def is_opening_entry(account) -> bool:
	"""Against a Temporary account the import is an Opening Entry (ERPNext's Opening Invoice Creation Tool)."""
	return account.account_type == "Temporary"


def validate_open_date(doc) -> None:
	"""The Journal Entry is dated on the opening date: that day must be open in the books."""
	first_open = first_open_date(doc.company, doc.posting_date)
	if first_open != getdate(doc.posting_date):
		frappe.throw(
			_(
				"The opening date {0} lies in a frozen or closed period of the books of {1}; the first open date is {2}"
			).format(fmt_date(doc.posting_date), frappe.bold(doc.company), fmt_date(first_open)),
			OpeningImportError,
		)


class ImportContext:
	"""What the rows are checked against, read once for the whole import."""

	def __init__(self, doc):
		self.doc = doc
		self.currency = frappe.get_cached_value("Company", doc.company, "default_currency")
		self.precision = currency_precision(self.currency)
		names = sorted({row.prepaid_package for row in doc.lines if row.prepaid_package})
		existing = set(
			frappe.get_all("Prepaid Package", filters={"name": ("in", names or [""])}, pluck="name")
		)
		self.packages = {name: frappe.get_cached_doc("Prepaid Package", name) for name in existing}
		uoms = [item.uom for package in self.packages.values() for item in package.items]
		self.whole_uoms = whole_number_uoms(uoms)
		self.customers = self.existing("Customer", [row.customer for row in doc.lines])
		self.items = self.existing("Item", [row.item_code for row in doc.lines])

	@staticmethod
	def existing(doctype: str, names) -> set[str]:
		names = sorted({name for name in names if name})
		return set(frappe.get_all(doctype, filters={"name": ("in", names or [""])}, pluck="name"))

	def row_problems(self, row) -> list[str]:
		return (
			self.party_problems(row)
			+ self.package_problems(row)
			+ self.unit_problems(row)
			+ self.value_problems(row)
			+ self.date_problems(row)
		)

	def party_problems(self, row) -> list[str]:
		if row.customer not in self.customers:
			return [_("Row #{0}: Customer {1} does not exist").format(row.idx, frappe.bold(row.customer))]
		return []

	def package_problems(self, row) -> list[str]:
		package = self.packages.get(row.prepaid_package)
		if not package:
			return [
				_("Row #{0}: Prepaid Package {1} does not exist").format(
					row.idx, frappe.bold(row.prepaid_package)
				)
			]
		if package.company != self.doc.company:
			return [
				_("Row #{0}: Prepaid Package {1} belongs to company {2}, not {3}").format(
					row.idx,
					frappe.bold(package.name),
					frappe.bold(package.company),
					frappe.bold(self.doc.company),
				)
			]
		if package.currency != self.currency:
			return [
				_("Row #{0}: Prepaid Package {1} is sold in {2}; the books of {3} are in {4}").format(
					row.idx,
					frappe.bold(package.name),
					frappe.bold(package.currency),
					frappe.bold(self.doc.company),
					frappe.bold(self.currency),
				)
			]
		if row.item_code not in self.items:
			return [_("Row #{0}: Item {1} does not exist").format(row.idx, frappe.bold(row.item_code))]
		if not self.package_item(row):
			return [
				_("Row #{0}: Item {1} is not part of package {2}").format(
					row.idx, frappe.bold(row.item_code), frappe.bold(package.name)
				)
			]
		return []

	def package_item(self, row):
		package = self.packages.get(row.prepaid_package)
		if not package:
			return None
		return next((item for item in package.items if item.item_code == row.item_code), None)

	def unit_problems(self, row) -> list[str]:
		qty = flt(row.units_left)
		item = frappe.bold(row.item_code)
		if qty < 0:
			return [_("Row #{0}: Units left of {1} cannot be negative ({2})").format(row.idx, item, qty)]
		if qty == 0:
			if flt(row.value_left):
				return [
					_(
						"Row #{0}: {1} has a deferred value of {2} but no units left; a value needs units that can redeem it"
					).format(row.idx, item, flt(row.value_left))
				]
			return [_("Row #{0}: {1} has no units left; leave the row out").format(row.idx, item)]
		package_item = self.package_item(row)
		if package_item and package_item.uom in self.whole_uoms and qty != int(qty):
			return [
				_("Row #{0}: {1} is counted in whole units ({2}); {3} units are not allowed").format(
					row.idx, item, frappe.bold(package_item.uom), qty
				)
			]
		return []

	def value_problems(self, row) -> list[str]:
		value = flt(row.value_left)
		item = frappe.bold(row.item_code)
		if value < 0:
			return [
				_("Row #{0}: The deferred value left of {1} cannot be negative ({2})").format(
					row.idx, item, value
				)
			]
		if flt(value, self.precision) != value:
			return [
				_("Row #{0}: The deferred value {1} of {2} has more decimals than {3} allows").format(
					row.idx, value, item, frappe.bold(self.currency)
				)
			]
		package = self.packages.get(row.prepaid_package)
		if value and package and package.revenue_recognition == UPON_PURCHASE:
			return [
				_(
					"Row #{0}: Package {1} recognizes its revenue upon purchase, so its opening balance carries units only; set the deferred value of {2} to 0"
				).format(row.idx, frappe.bold(package.name), item)
			]
		return []

	def date_problems(self, row) -> list[str]:
		opening_date = getdate(self.doc.posting_date)
		purchase_date = getdate(row.purchase_date) if row.purchase_date else None
		expiry_date = getdate(row.expiry_date) if row.expiry_date else None
		problems = []
		if purchase_date and purchase_date > opening_date:
			problems.append(
				_("Row #{0}: The purchase date {1} is after the opening date {2}").format(
					row.idx, fmt_date(purchase_date), fmt_date(opening_date)
				)
			)
		if expiry_date and purchase_date and expiry_date < purchase_date:
			problems.append(
				_("Row #{0}: The expiry date {1} is before the purchase date {2}").format(
					row.idx, fmt_date(expiry_date), fmt_date(purchase_date)
				)
			)
		elif expiry_date and expiry_date < opening_date:
			problems.append(
				_(
					"Row #{0}: The expiry date {1} is before the opening date {2}: the balance had already expired; leave it out, or give the date it was extended to"
				).format(row.idx, fmt_date(expiry_date), fmt_date(opening_date))
			)
		return problems


def fmt_date(date) -> str:
	return frappe.bold(frappe.format(date, "Date"))


def group_problems(doc) -> list[str]:
	"""The rows of one balance agree on its dates and list each item once."""
	problems = []
	first_row: dict[tuple, object] = {}
	items_seen: dict[tuple, set] = {}
	for row in doc.lines:
		key = balance_key(row)
		first = first_row.setdefault(key, row)
		seen = items_seen.setdefault(key, set())
		if row.item_code in seen:
			problems.append(
				_("Row #{0}: Item {1} is listed twice for {2}").format(
					row.idx, frappe.bold(row.item_code), describe(row)
				)
			)
		seen.add(row.item_code)
		if first is not row and (
			getdate(row.purchase_date) != getdate(first.purchase_date)
			or (getdate(row.expiry_date) if row.expiry_date else None)
			!= (getdate(first.expiry_date) if first.expiry_date else None)
		):
			problems.append(
				_(
					"Row #{0}: The purchase and expiry dates differ from row #{1}, which belongs to the same balance ({2})"
				).format(row.idx, first.idx, describe(row))
			)
	return problems


def validate_not_imported(doc) -> None:
	"""Importing the same file twice creates nothing twice: a balance already imported is refused."""
	Line = DocType("Package Opening Import Line")
	Import = DocType("Package Opening Import")
	customers = sorted({row.customer for row in doc.lines})
	imported = (
		frappe.qb.from_(Line)
		.join(Import)
		.on(Line.parent == Import.name)
		.select(Line.customer, Line.prepaid_package, Line.original_reference, Import.name.as_("import_name"))
		.where(Line.parenttype == "Package Opening Import")
		.where(Line.customer.isin(customers))
		.where(Import.docstatus < 2)
		.where(Import.name != (doc.name or ""))
		.orderby(Import.name)
		.run(as_dict=True)
	)
	earlier = {}
	for line in imported:
		earlier.setdefault(balance_key(line), line.import_name)
	problems = [
		_("Row #{0}: The opening balance of {1} was already imported by {2}").format(
			row.idx, describe(row), frappe.bold(earlier[balance_key(row)])
		)
		for row in doc.lines
		if balance_key(row) in earlier
	]
	if problems:
		frappe.throw(
			problems, OpeningAlreadyImportedError, title=_("Opening balances already imported"), as_list=True
		)


# --- submit -----------------------------------------------------------------------------------


def submit_import(doc) -> None:
	"""One opening balance per (customer, package, reference); the ledger and one Journal Entry."""
	lock_customers(doc)
	validate_not_imported(doc)  # again, now that concurrent imports of these customers wait
	balance_of_key = {}
	for key, rows in balance_groups(doc).items():
		balance_of_key[key] = new_opening_balance(doc, rows).name
	posting = LedgerPosting(
		doc.doctype, doc.name, doc.posting_date, doc.company, balances=list(balance_of_key.values())
	)
	posting.opening_account = doc.opening_account
	for row in doc.lines:
		balance = balance_of_key[balance_key(row)]
		line = posting.find_line(balance, row.item_code)
		brought_in = engine.Sell(
			Decimal(str(flt(row.value_left))), Decimal(str(flt(row.units_left))), opening=True
		)
		posting.apply(line.name, brought_in, voucher_detail_no=row.name)
		row.db_set("package_balance", balance, update_modified=False)
	journal_entry = posting.post_journal(
		_("Opening balances of prepaid packages brought in by {0}").format(doc.name),
		is_opening=is_opening_entry(opening_account_of(doc)),
	)
	posting.write()
	doc.db_set("journal_entry", journal_entry, update_modified=False)
	clear_catalog_cache()


def lock_customers(doc) -> None:
	Customer = DocType("Customer")
	(
		frappe.qb.from_(Customer)
		.select(Customer.name)
		.where(Customer.name.isin(sorted({row.customer for row in doc.lines})))
		.orderby(Customer.name)
		.for_update()
		.run()
	)


def balance_groups(doc) -> dict[tuple, list]:
	groups: dict[tuple, list] = {}
	for row in doc.lines:
		groups.setdefault(balance_key(row), []).append(row)
	return groups


def new_opening_balance(doc, rows):
	"""The balance's terms: the package's items as they were left in the old system."""
	first = rows[0]
	package = frappe.get_cached_doc("Prepaid Package", first.prepaid_package)
	package_items = {item.item_code: item for item in package.items}
	whole_uoms = whole_number_uoms([item.uom for item in package.items])
	balance = frappe.new_doc("Package Balance")
	balance.update(
		{
			"customer": first.customer,
			"company": doc.company,
			"currency": package.currency,
			"prepaid_package": package.name,
			"revenue_recognition": package.revenue_recognition,
			"invoice_type": None,
			"purchase_date": first.purchase_date,
			"expiry_date": first.expiry_date,
			"package_price": sum(flt(row.value_left) for row in rows),
			"is_opening": 1,
			"opening_import": doc.name,
			"opening_reference": first.original_reference,
			"deferred_revenue_account": get_deferred_revenue_account(doc.company),
			"cost_center": company_cost_center(doc.company),
			**breakage_terms(package),
		}
	)
	for row in rows:
		item = package_items[row.item_code]
		balance.append("items", balance_line(item, row.units_left, row.value_left, doc.company, whole_uoms))
	return write_balance(balance)


# --- cancel -----------------------------------------------------------------------------------


def import_entries(doc) -> list[dict]:
	"""Every live ledger entry of the balances the import brought in (opening, expiry, breakage)."""
	balances = frappe.get_all(
		"Package Balance", filters={"opening_import": doc.name}, pluck="name", order_by="name asc"
	)
	return package_ledger.live_entries(package_balance=balances) if balances else []


def check_import_cancel(doc) -> None:
	"""before_cancel: refused (nothing written) while any balance it brought in was used or refunded."""
	cancel_entries(import_entries(doc), doc.posting_date, doc.company, check_only=True, kind=CANCEL_PURCHASE)


def cancel_import(doc) -> None:
	"""on_cancel: the balances lose everything they moved, the Journal Entries included."""
	cancel_entries(import_entries(doc), doc.posting_date, doc.company, kind=CANCEL_PURCHASE, voucher=doc)
	clear_catalog_cache()
