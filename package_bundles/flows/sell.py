"""Selling packages on an invoice: purchase rows and the balances they create (SPEC §3 Sale).

The invoice module hands this module the rows whose item is a package's sales item;
it validates them, and on submit creates one balance per instance whose sale the
ledger records. Cancelling the purchase takes back everything its balances moved.
Refunds (credit notes against the purchase) live in refund.py.
"""

from decimal import Decimal

import frappe
from frappe import _
from frappe.utils import add_days, add_months, flt, getdate

from package_bundles import engine
from package_bundles.engine.state import CANCEL_PURCHASE
from package_bundles.exceptions import (
	PackageCurrencyError,
	PackageDisabledError,
	PackageDiscountError,
	PackageError,
	PackageQuantityError,
	PackageRateError,
	PackageValidityError,
)
from package_bundles.flows.catalog import clear_catalog_cache
from package_bundles.flows.taxes import set_row_tax
from package_bundles.ledger import package_ledger
from package_bundles.ledger.journal_entries import (
	captured_dimension_fields,
	dimensions_of,
	item_cost_center,
	item_income_account,
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

# --- validate ---------------------------------------------------------------


def set_purchase_rows(doc, purchase_rows: list) -> None:
	"""before_validate: each sale row's account, description, tax template and locked print rate.

	Done before ERPNext validates, so its totals, payment schedule and checks see the final rows.
	"""
	deferred_account = get_deferred_revenue_account(doc.company)
	precision = currency_precision(doc.currency)
	for row, package_name in purchase_rows:
		package = frappe.get_cached_doc("Prepaid Package", package_name)
		set_purchase_row_details(row, package, deferred_account)
		price = Decimal(str(flt(package.package_price)))
		components = [
			(item.item_code, Decimal(str(flt(item.allocated_amount))), Decimal(str(flt(item.qty))))
			for item in package.items
		]
		rate = flt(set_row_tax(doc, row, package.name, components, price, precision))
		if not flt(row.rate) or flt(row.rate) == flt(row.price_list_rate):
			# not typed by the user: the package fixes it (also on a backdated invoice with no price)
			row.rate = rate
		row.price_list_rate = rate
		doc.flags.setdefault("package_rates", {})[row_key(row)] = rate


def row_key(row) -> str:
	return row.name or str(id(row))


def validate_purchase_rows(doc, purchase_rows: list) -> None:
	"""purchase_rows: (row, package name) pairs of the invoice's package rows (sale or refund)."""
	validate_no_invoice_discount(doc)
	validate_not_debit_note(doc, purchase_rows)
	for row, package_name in purchase_rows:
		package = frappe.get_cached_doc("Prepaid Package", package_name)
		validate_package_company(doc, row, package)
		validate_purchase_qty(doc, row)
		if not doc.is_return:
			validate_package_sellable(doc, row, package)
			validate_purchase_rate(doc, row, package)


def validate_not_debit_note(doc, purchase_rows):
	"""A debit note adds to an invoice; it never sells package instances."""
	if doc.get("is_debit_note"):
		row = purchase_rows[0][0]
		frappe.throw(
			_("Row #{0}: Package {1} cannot be on a debit note; sell it on an invoice of its own").format(
				row.idx, frappe.bold(row.item_code)
			),
			PackageError,
		)


def validate_no_invoice_discount(doc):
	if flt(doc.discount_amount) or flt(doc.additional_discount_percentage):
		frappe.throw(
			_(
				"An invoice-level discount cannot be applied to an invoice that sells a prepaid package; change the package price instead"
			),
			PackageDiscountError,
		)


def validate_package_company(doc, row, package):
	if package.company != doc.company:
		frappe.throw(
			_("Row #{0}: Package {1} belongs to company {2}, not {3}").format(
				row.idx, frappe.bold(package.name), frappe.bold(package.company), frappe.bold(doc.company)
			),
			PackageError,
		)
	if doc.currency != package.currency:
		frappe.throw(
			_("Row #{0}: Package {1} is sold in {2}; this invoice is in {3}").format(
				row.idx, frappe.bold(package.name), frappe.bold(package.currency), frappe.bold(doc.currency)
			),
			PackageCurrencyError,
		)


def validate_package_sellable(doc, row, package):
	if package.disabled:
		frappe.throw(
			_("Row #{0}: Package {1} is disabled and cannot be sold").format(
				row.idx, frappe.bold(package.name)
			),
			PackageDisabledError,
		)
	if package.expiry_date and getdate(doc.posting_date) > getdate(package.expiry_date):
		frappe.throw(
			_("Row #{0}: Package {1} expired on {2} and can no longer be sold").format(
				row.idx, frappe.bold(package.name), frappe.bold(frappe.format(package.expiry_date, "Date"))
			),
			PackageValidityError,
		)


def validate_purchase_qty(doc, row):
	qty = abs(flt(row.qty))
	if qty <= 0 or qty != int(qty) or (flt(row.qty) < 0) != bool(doc.is_return):
		frappe.throw(
			_("Row #{0}: Package {1} is sold in whole instances; quantity {2} is not allowed").format(
				row.idx, frappe.bold(row.item_code), row.qty
			),
			PackageQuantityError,
		)
	if flt(row.conversion_factor) != 1:
		frappe.throw(
			_("Row #{0}: Package {1} is sold per package (UOM {2})").format(
				row.idx, frappe.bold(row.item_code), frappe.bold(row.stock_uom)
			),
			PackageQuantityError,
		)


def validate_purchase_rate(doc, row, package):
	"""The print rate is the package price (its gross where taxes are inclusive); no discount on it."""
	expected = (doc.flags.package_rates or {}).get(row_key(row), flt(package.package_price))
	if flt(row.discount_percentage) or flt(row.discount_amount):
		frappe.throw(
			_(
				"Row #{0}: A discount cannot be given on package {1}, at the till or on an invoice; edit the package price instead."
			).format(row.idx, frappe.bold(package.name)),
			PackageRateError,
		)
	if flt(row.rate, row.precision("rate")) != flt(expected, row.precision("rate")):
		frappe.throw(
			_(
				"Row #{0}: The rate of package {1} is {2}; it cannot be changed on the invoice. Edit the package price instead."
			).format(row.idx, frappe.bold(package.name), frappe.bold(frappe.format(expected, "Currency"))),
			PackageRateError,
		)


def set_purchase_row_details(row, package, deferred_account):
	row.prepaid_package = package.name
	row.package_balance = None
	if deferred_account:  # a refund row takes the account its balances captured (refund.py)
		row.income_account = deferred_account
	row.enable_deferred_revenue = 0
	row.description = package.description


# --- submit -----------------------------------------------------------------


def create_balances(doc, purchase_rows) -> list[str]:
	"""One balance per instance sold, each line's sale (and Upon Purchase recognition) in the ledger."""
	names = []
	dimensions = dimensions_of(doc)
	precision = currency_precision(doc.currency)
	for row, package_name in purchase_rows:
		package = frappe.get_doc("Prepaid Package", package_name)
		whole_uoms = whole_number_uoms([item.uom for item in package.items])
		row_dimensions = {**dimensions, **dimensions_of(row)}
		for price in instance_prices(row, precision):
			names.append(new_balance(doc, row, package, price, whole_uoms, row_dimensions).name)
	posting = LedgerPosting(doc.doctype, doc.name, doc.posting_date, doc.company, balances=names)
	for line in posting.lines.values():
		sold = engine.Sell(Decimal(str(flt(line.allocated_amount))), Decimal(str(flt(line.qty_purchased))))
		posting.apply(line.name, sold, voucher_detail_no=line.sales_invoice_item)
		if line.upon_purchase:
			posting.apply(
				line.name, engine.RecognizeUponPurchase(), voucher_detail_no=line.sales_invoice_item
			)
	posting.post_journal(
		_("Revenue of prepaid packages recognized upon purchase, invoice {0}").format(doc.name)
	)
	posting.write()
	clear_catalog_cache()
	return names


def instance_prices(row, precision: int) -> list[Decimal]:
	"""What each instance of a row sold for, net of tax: the deferred revenue it credits.

	Equal to the package price, except where taxes are included in the print rate and
	ERPNext's back-calculation of the net amount lands a cent away.
	"""
	instances = int(flt(row.qty))
	net = Decimal(str(flt(row.base_net_amount, precision)))
	return engine.largest_remainder(net, [Decimal(1)] * instances, precision)


def new_balance(doc, row, package, price: Decimal, whole_uoms: set[str], dimensions: dict):
	"""The snapshot of the package as sold on this row: terms only; its state comes from the ledger."""
	allocations = engine.allocate(package.engine_lines(), price, currency_precision(package.currency))
	balance = frappe.new_doc("Package Balance")
	balance.update(
		{
			"customer": doc.customer,
			"company": doc.company,
			"currency": package.currency,
			"prepaid_package": package.name,
			"revenue_recognition": package.revenue_recognition,
			"invoice_type": doc.doctype,
			"sales_invoice": doc.name,
			"sales_invoice_item": row.name,
			"purchase_date": doc.posting_date,
			"expiry_date": expiry_date_for(package, doc.posting_date),
			"package_price": flt(price),
			"deferred_revenue_account": row.income_account,
			"cost_center": row.cost_center or doc.get("cost_center"),
			"project": row.get("project") or doc.get("project"),
			# locked at sale: a later change of the package's rate applies to later sales only
			**breakage_terms(package),
		}
	)
	# Link fields (ERPNext's, one per dimension): a renamed value follows, later postings use it
	for fieldname in captured_dimension_fields("Package Balance"):
		balance.set(fieldname, dimensions.get(fieldname))
	for item, allocated in zip(package.items, allocations, strict=True):
		balance.append(
			"items",
			balance_line(
				item, item.qty, allocated, doc.company, whole_uoms, fallback_cost_center=row.cost_center
			),
		)
	write_balance(balance)
	return balance


def balance_line(item, qty, allocated, company: str, whole_uoms: set[str], fallback_cost_center=None) -> dict:
	"""A balance line's terms: the package item as sold, its units and its allocation."""
	return {
		"item_code": item.item_code,
		"item_name": item.item_name,
		"item_group": item.item_group,
		"uom": item.uom,
		"whole_number": int(item.uom in whole_uoms),
		"is_stock_item": item.is_stock_item,
		"qty_purchased": flt(qty),
		"allocated_amount": flt(allocated),
		"income_account": item_income_account(item.item_code, company),
		"cost_center": item_cost_center(item.item_code, company) or fallback_cost_center,
	}


def expiry_date_for(package, purchase_date):
	if package.expiry_date:
		return package.expiry_date
	if package.valid_for_days:
		return add_days(purchase_date, package.valid_for_days)
	if package.valid_for_months:
		return add_months(purchase_date, package.valid_for_months)
	return None


# --- cancel -----------------------------------------------------------------


def purchase_entries(doc) -> list[dict]:
	"""Every live ledger entry of the balances this invoice sold: sale, recognition, expiry, breakage."""
	balances = frappe.get_all(
		"Package Balance", filters={"sales_invoice": doc.name}, pluck="name", order_by="name asc"
	)
	return package_ledger.live_entries(package_balance=balances) if balances else []


def check_purchase_cancel(doc) -> None:
	"""before_cancel: refused (nothing written) while any balance it sold has redemptions."""
	cancel_entries(
		purchase_entries(doc), doc.posting_date, doc.company, check_only=True, kind=CANCEL_PURCHASE
	)


def cancel_purchase(doc) -> None:
	"""on_cancel: the balances lose their sale, recognition, expiry and breakage, Journal Entries included."""
	cancel_entries(purchase_entries(doc), doc.posting_date, doc.company, kind=CANCEL_PURCHASE, voucher=doc)
	clear_catalog_cache()
