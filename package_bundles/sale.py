"""Selling packages on a Sales Invoice: purchase rows, balances, refunds (SPEC §3 Sale, Payment, Refund).

The invoice module hands this module the rows whose item is a package's sales
item; it validates them, and on submit or cancel writes the balances and the
journal entries. Money comes from the engine.
"""

from decimal import Decimal

import frappe
from frappe import _
from frappe.query_builder import DocType
from frappe.utils import add_days, add_months, flt

from package_bundles import engine, package_ledger
from package_bundles.accounting import (
	cancel_journal_entry,
	item_cost_center,
	item_income_account,
	post_recognition,
)
from package_bundles.catalog import clear_catalog_cache, get_package_item_map
from package_bundles.exceptions import (
	BalanceAlreadyRedeemedError,
	PackageCurrencyError,
	PackageDisabledError,
	PackageDiscountError,
	PackageError,
	PackageQuantityError,
	PackageRateError,
	RefundNotAllowedError,
)
from package_bundles.package_bundles.doctype.package_balance.package_balance import (
	balance_status,
	refresh_balances,
	write_balance,
)
from package_bundles.package_bundles.doctype.package_settings.package_settings import (
	get_deferred_revenue_account,
	get_settings,
	is_paid,
)
from package_bundles.package_bundles.doctype.prepaid_package.prepaid_package import (
	currency_precision,
	whole_number_uoms,
)
from package_bundles.taxes import refund_tax_template

UPON_PURCHASE = "Upon Purchase"
LIVE_STATUSES = ("Awaiting Payment", "Active", "Exhausted", "Expired")


# --- validate ---------------------------------------------------------------


def validate_purchase_rows(doc, purchase_rows: list) -> None:
	"""purchase_rows: (row, package name) pairs of the invoice's package rows."""
	validate_no_invoice_discount(doc)
	deferred_account = get_deferred_revenue_account(doc.company)
	for row, package_name in purchase_rows:
		package = frappe.get_cached_doc("Prepaid Package", package_name)
		validate_package_company(doc, row, package)
		validate_purchase_qty(doc, row)
		set_purchase_row_details(row, package, deferred_account)
		if doc.is_return:
			validate_refund_row(doc, row, package)
		else:
			validate_package_enabled(row, package)
			validate_purchase_rate(row, package)


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


def validate_package_enabled(row, package):
	if package.disabled:
		frappe.throw(
			_("Row #{0}: Package {1} is disabled and cannot be sold").format(
				row.idx, frappe.bold(package.name)
			),
			PackageDisabledError,
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


def validate_purchase_rate(row, package):
	if not flt(row.price_list_rate) and not flt(row.rate):
		# no price valid on this date (e.g. a backdated invoice): the package fixes it
		row.price_list_rate = row.rate = flt(package.package_price)
	if flt(row.rate, row.precision("rate")) != flt(package.package_price, row.precision("rate")) or flt(
		row.discount_percentage
	):
		frappe.throw(
			_(
				"Row #{0}: The rate of package {1} is {2}; it cannot be changed on the invoice. Edit the package price instead."
			).format(row.idx, frappe.bold(package.name), frappe.bold(package.package_price)),
			PackageRateError,
		)


def set_purchase_row_details(row, package, deferred_account):
	row.prepaid_package = package.name
	row.package_balance = None
	row.income_account = deferred_account
	row.enable_deferred_revenue = 0
	row.description = package.description
	# the package's own template carries the allocation-weighted rates
	row.item_tax_template = frappe.db.get_value(
		"Item Tax", {"parent": package.item, "parenttype": "Item"}, "item_tax_template"
	)


# --- refunds (credit note against the purchase invoice) ----------------------


def validate_refund_row(doc, row, package) -> None:
	"""Choose the instances a credit-note row returns; a partly used one is refunded at its unused value."""
	balances = refund_selection(doc, row, lock=False)
	if len(balances) == 1 and balances[0].used:
		balance = balances[0]
		row.rate = flt(balance.refund_value)
		row.discount_percentage = 0
		row.discount_amount = 0
		row.price_list_rate = flt(balance.package_price)
		row.item_tax_template = refund_tax_template(
			balance.name,
			doc.company,
			balance.unused_components,
			doc.posting_date,
			currency_precision(doc.currency),
		)
		return
	validate_purchase_rate(row, frappe._dict(name=package.name, package_price=balances[0].package_price))


def refund_selection(doc, row, lock: bool) -> list[frappe._dict]:
	"""Balances of the returned purchase row that this credit-note row refunds.

	Unused instances go first. A used one may be refunded (one per credit-note
	row, at the deferred value of what is left) only where Package Settings allow.
	"""
	instances = int(abs(flt(row.qty)))
	original_row = row.get("sales_invoice_item")
	balances = load_refundable_balances(doc.return_against, original_row, row.item_code, lock)
	unused = [b for b in balances if not b.used]
	if instances <= len(unused):
		return unused[:instances]

	used = [b for b in balances if b.used]
	balance_name = used[0].name if used else row.item_code
	if not refund_allowed(balances):
		frappe.throw(
			_(
				"Row #{0}: Package balance {1} has redemptions and cannot be refunded. Package Settings can allow refunding the unused items of a partly used package."
			).format(row.idx, frappe.bold(balance_name)),
			RefundNotAllowedError,
		)
	if instances > len(balances):
		frappe.throw(
			_("Row #{0}: Only {1} instances of package {2} are left to refund on invoice {3}").format(
				row.idx, len(balances), frappe.bold(row.item_code), frappe.bold(doc.return_against)
			),
			RefundNotAllowedError,
		)
	if instances != 1 or unused:
		frappe.throw(
			_(
				"Row #{0}: Refund each partly used package balance on its own credit-note row with quantity -1, after the unused ones"
			).format(row.idx),
			RefundNotAllowedError,
		)
	return [balances[0]]


def refund_allowed(balances) -> bool:
	"""The engine decides whether used balances may be refunded under the current settings."""
	allow = bool(get_settings().allow_unused_refund)
	try:
		for balance in balances:
			engine.refund_value(balance.line_states, allow, currency_precision(balance.currency))
	except engine.RefundNotAllowedError:
		return False
	return True


def load_refundable_balances(purchase_invoice, original_row, item_code, lock: bool) -> list[frappe._dict]:
	Balance = DocType("Package Balance")
	query = (
		frappe.qb.from_(Balance)
		.select("*")
		.where(Balance.sales_invoice == purchase_invoice)
		.where(Balance.status.isin(LIVE_STATUSES))
		.orderby(Balance.name)
	)
	if original_row:
		query = query.where(Balance.sales_invoice_item == original_row)
	else:
		query = query.where(Balance.prepaid_package == get_package_item_map().get(item_code))
	if lock:
		query = query.for_update()
	balances = query.run(as_dict=True)
	items_by_balance = load_balance_items([b.name for b in balances], lock)
	precision = None
	for balance in balances:
		precision = precision or currency_precision(balance.currency)
		balance["items"] = items_by_balance.get(balance.name, [])
		balance["used"] = any(flt(item.qty_redeemed) > 0 for item in balance["items"])
		balance["line_states"] = [
			engine.LineState(item.allocated_amount, item.qty_purchased, item.qty_redeemed)
			for item in balance["items"]
		]
		balance["unused_components"] = [
			(
				item.item_code,
				engine.deferred_value(state.allocated, state.qty_purchased, state.qty_redeemed, precision),
			)
			for item, state in zip(balance["items"], balance["line_states"], strict=True)
		]
		balance["refund_value"] = engine.refund_value(balance["line_states"], True, precision)
	return sorted(balances, key=lambda b: (b.used, b.name))


def load_balance_items(balance_names: list[str], lock: bool = False) -> dict[str, list]:
	if not balance_names:
		return {}
	Item = DocType("Package Balance Item")
	query = (
		frappe.qb.from_(Item)
		.select("*")
		.where(Item.parent.isin(balance_names))
		.where(Item.parenttype == "Package Balance")
		.orderby(Item.parent)
		.orderby(Item.idx)
	)
	if lock:
		query = query.for_update()
	grouped: dict[str, list] = {}
	for item in query.run(as_dict=True):
		grouped.setdefault(item.parent, []).append(item)
	return grouped


# --- submit -----------------------------------------------------------------


def on_submit_purchase(doc, purchase_rows: list) -> None:
	if doc.is_return:
		refund_balances(doc, purchase_rows)
	else:
		create_balances(doc, purchase_rows)


def create_balances(doc, purchase_rows):
	paid = is_paid(doc.outstanding_amount)
	upon_purchase_credits = []
	upon_purchase_balances = []
	sale_entries, recognition_entries = [], []
	for row, package_name in purchase_rows:
		package = frappe.get_doc("Prepaid Package", package_name)
		whole_uoms = whole_number_uoms([item.uom for item in package.items])
		for _instance in range(int(flt(row.qty))):
			balance = new_balance(doc, row, package, paid, whole_uoms)
			for item in balance.items:
				sale_entries.append(
					package_ledger.entry(
						"Sale",
						balance.as_dict(),
						item.as_dict(),
						doc.posting_date,
						doc.doctype,
						doc.name,
						qty_change=item.qty_purchased,
						deferred_change=item.allocated_amount,
					)
				)
				if balance.revenue_recognition == UPON_PURCHASE:
					recognition_entries.append(
						package_ledger.entry(
							"Recognition Upon Purchase",
							balance.as_dict(),
							item.as_dict(),
							doc.posting_date,
							doc.doctype,
							doc.name,
							deferred_change=-item.allocated_amount,
							revenue_change=item.allocated_amount,
						)
					)
			if balance.revenue_recognition == UPON_PURCHASE:
				upon_purchase_balances.append(balance.name)
				upon_purchase_credits += [
					engine.Credit(item.income_account, item.cost_center, Decimal(str(item.allocated_amount)))
					for item in balance.items
				]
	if upon_purchase_credits:
		journal_entry = post_recognition(
			doc.company,
			doc.posting_date,
			upon_purchase_credits,
			_("Revenue of prepaid packages recognized upon purchase, invoice {0}").format(doc.name),
			sales_invoice=doc.name,
		)
		Balance = DocType("Package Balance")
		frappe.qb.update(Balance).set(Balance.recognition_journal_entry, journal_entry).where(
			Balance.name.isin(upon_purchase_balances)
		).run()
		for recognition in recognition_entries:
			recognition["journal_entry"] = journal_entry
	package_ledger.make_entries(sale_entries + recognition_entries)
	clear_catalog_cache()


def new_balance(doc, row, package, paid: bool, whole_uoms: set[str]):
	upon_purchase = package.revenue_recognition == UPON_PURCHASE
	balance = frappe.new_doc("Package Balance")
	balance.update(
		{
			"customer": doc.customer,
			"company": doc.company,
			"currency": package.currency,
			"prepaid_package": package.name,
			"revenue_recognition": package.revenue_recognition,
			"sales_invoice": doc.name,
			"sales_invoice_item": row.name,
			"purchase_date": doc.posting_date,
			"expiry_date": expiry_date_for(package, doc.posting_date),
			"package_price": package.package_price,
			"deferred_revenue_account": row.income_account,
		}
	)
	for item in package.items:
		balance.append(
			"items",
			{
				"item_code": item.item_code,
				"item_name": item.item_name,
				"item_group": item.item_group,
				"uom": item.uom,
				"whole_number": int(item.uom in whole_uoms),
				"is_stock_item": item.is_stock_item,
				"qty_purchased": item.qty,
				"qty_redeemed": 0,
				"qty_remaining": item.qty,
				"allocated_amount": item.allocated_amount,
				"recognized_amount": item.allocated_amount if upon_purchase else 0,
				"deferred_amount": 0 if upon_purchase else item.allocated_amount,
				"income_account": item_income_account(item.item_code, doc.company),
				"cost_center": item_cost_center(item.item_code, doc.company) or row.cost_center,
			},
		)
	balance.status = balance_status(balance, paid=paid)
	write_balance(balance)
	return balance


def expiry_date_for(package, purchase_date):
	if package.expiry_date:
		return package.expiry_date
	if package.valid_for_days:
		return add_days(purchase_date, package.valid_for_days)
	if package.valid_for_months:
		return add_months(purchase_date, package.valid_for_months)
	return None


def refund_balances(doc, purchase_rows):
	reversal_credits = []
	refunded = []
	reversal_entries, refund_entries = [], []
	for row, _package in purchase_rows:
		for balance in refund_selection(doc, row, lock=True):
			refunded.append(balance.name)
			for item, (_code, value) in zip(balance["items"], balance.unused_components, strict=True):
				if balance.revenue_recognition == UPON_PURCHASE:
					# revenue already recognized for the unused part goes back to deferred, where the credit note takes it
					reversal_credits.append(engine.Credit(item.income_account, item.cost_center, value))
					reversal_entries.append(
						package_ledger.entry(
							"Refund Recognition Reversal",
							balance,
							item,
							doc.posting_date,
							doc.doctype,
							doc.name,
							deferred_change=value,
							revenue_change=-value,
						)
					)
				# units stay on the line (redeemed + remaining = purchased); the Refunded status voids them
				refund_entries.append(
					package_ledger.entry(
						"Refund",
						balance,
						item,
						doc.posting_date,
						doc.doctype,
						doc.name,
						deferred_change=-value,
					)
				)
			Item = DocType("Package Balance Item")
			frappe.qb.update(Item).set(Item.deferred_amount, 0).where(Item.parent == balance.name).run()
	journal_entry = post_recognition(
		doc.company,
		doc.posting_date,
		reversal_credits,
		_("Refund of prepaid packages, credit note {0}").format(doc.name),
		reverse=True,
		sales_invoice=doc.name,
	)
	for reversal in reversal_entries:
		reversal["journal_entry"] = journal_entry
	package_ledger.make_entries(reversal_entries + refund_entries)
	if refunded:
		Balance = DocType("Package Balance")
		frappe.qb.update(Balance).set(Balance.status, "Refunded").set(Balance.refund_invoice, doc.name).set(
			Balance.refund_journal_entry, journal_entry
		).set(Balance.modified, frappe.utils.now()).where(Balance.name.isin(refunded)).run()
		refresh_balances(set(refunded))


# --- cancel -----------------------------------------------------------------


def before_cancel_purchase(doc) -> None:
	if doc.is_return:
		return
	Balance = DocType("Package Balance")
	Item = DocType("Package Balance Item")
	# lock every line of the invoice's balances, so no redemption can slip in while it is cancelled
	lines = (
		frappe.qb.from_(Item)
		.join(Balance)
		.on(Item.parent == Balance.name)
		.select(Balance.name, Item.qty_redeemed)
		.where(Balance.sales_invoice == doc.name)
		.orderby(Balance.name)
		.orderby(Item.idx)
		.for_update()
		.run(as_dict=True)
	)
	redeemed = [line.name for line in lines if flt(line.qty_redeemed) > 0]
	if redeemed:
		frappe.throw(
			_(
				"Invoice {0} cannot be cancelled: package balance {1} has redemptions. Cancel those invoices first."
			).format(frappe.bold(doc.name), frappe.bold(redeemed[0])),
			BalanceAlreadyRedeemedError,
		)


def on_cancel_purchase(doc) -> None:
	Balance = DocType("Package Balance")
	Item = DocType("Package Balance Item")
	if doc.is_return:
		restore_refunded_balances(doc)
		return
	balances = frappe.get_all(
		"Package Balance",
		filters={"sales_invoice": doc.name},
		fields=["name", "recognition_journal_entry"],
		order_by="name asc",
	)
	for journal_entry in {b.recognition_journal_entry for b in balances if b.recognition_journal_entry}:
		cancel_journal_entry(journal_entry)
	names = [b.name for b in balances]
	if names:
		frappe.qb.update(Balance).set(Balance.status, "Cancelled").set(
			Balance.modified, frappe.utils.now()
		).where(Balance.name.isin(names)).run()
		frappe.qb.update(Item).set(Item.deferred_amount, 0).where(Item.parent.isin(names)).run()
		refresh_balances(set(names))


def restore_refunded_balances(doc):
	balances = frappe.get_all(
		"Package Balance",
		filters={"refund_invoice": doc.name, "status": "Refunded"},
		fields=["name", "refund_journal_entry"],
		order_by="name asc",
	)
	for journal_entry in {b.refund_journal_entry for b in balances if b.refund_journal_entry}:
		cancel_journal_entry(journal_entry)
	for row in balances:
		balance = frappe.get_doc("Package Balance", row.name, for_update=True)
		precision = currency_precision(balance.currency)
		for item in balance.items:
			item.deferred_amount = (
				0
				if balance.revenue_recognition == UPON_PURCHASE
				else flt(
					engine.deferred_value(
						item.allocated_amount, item.qty_purchased, item.qty_redeemed, precision
					)
				)
			)
		balance.refund_invoice = None
		balance.refund_journal_entry = None
		balance.status = "Active"
		balance.status = balance_status(
			balance,
			paid=is_paid(frappe.db.get_value("Sales Invoice", balance.sales_invoice, "outstanding_amount")),
		)
		write_balance(balance)
