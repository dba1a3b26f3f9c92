"""Sales Invoice and POS Invoice doc_events: tell package sales, refunds, redemptions and returns apart.

This module reads the invoice and decides which rule applies; sell.py, refund.py and
redeem.py do the work. It never computes money itself.
"""

import frappe

from package_bundles.flows import redeem, refund, sell
from package_bundles.flows.catalog import get_package_item_map


def is_consolidation(doc) -> bool:
	"""The Sales Invoice ERPNext merges POS Invoices into at closing: their rows were planned,
	sold and redeemed already, on the POS Invoices; it must not plan or post anything again."""
	return bool(doc.get("is_consolidated"))


def purchase_rows(doc) -> list:
	package_items = get_package_item_map()
	if not package_items:
		return []
	return [(row, package_items[row.item_code]) for row in doc.items if row.item_code in package_items]


def is_debit_note(doc) -> bool:
	"""A debit note charges more against an invoice (a supplement for a visit): it neither sells nor
	redeems; rows copied from a redeemed row are charged in full."""
	return bool(doc.get("is_debit_note"))


def plans_redemptions(doc) -> bool:
	"""Plan on every save of a draft, and when a document is inserted already submitted.

	Submitting a saved draft keeps the rows the user saw; the submit re-checks
	them under lock and refuses, rather than silently charging a row.
	"""
	if doc.is_return:
		return False
	return doc._action == "save" or doc.is_new()


def before_validate(doc, method=None):
	"""Make the rows final before ERPNext validates, totals and checks them (issue 9)."""
	if is_consolidation(doc):
		return
	doc.flags.package_redeemed_rows = []  # flags outlive a save on the same document object
	doc.flags.package_rates = {}
	rows = purchase_rows(doc)
	if rows and doc.is_return:
		# against the purchase invoice; with none, the customer's opening balances
		refund.set_refund_rows(doc, rows)
	elif rows and not doc.is_return and not is_debit_note(doc):
		sell.set_purchase_rows(doc, rows)
	if doc.is_return:
		return
	if is_debit_note(doc):
		redeem.restore_redeemed_rows(doc)
		return
	if plans_redemptions(doc):
		redeem.restore_redeemed_rows(doc)
		redeemed = redeem.apply_redemptions(doc)
	else:
		redeemed = redeem.keep_redeemed_rows_free(doc)
	if redeemed and doc.get("is_pos"):
		doc.calculate_taxes_and_totals()
		redeem.fit_pos_payments(doc)


def validate(doc, method=None):
	if is_consolidation(doc):
		return
	rows = purchase_rows(doc)
	if rows:
		sell.validate_purchase_rows(doc, rows)
	if doc.is_return and doc.return_against:
		refund.validate_returned_packages_keep_their_item(doc)
		redeem.mark_returned_rows(doc)
	if redeem.put_back_removed_rows(doc):
		doc.calculate_taxes_and_totals()


def on_submit(doc, method=None):
	if is_consolidation(doc):
		return
	rows = purchase_rows(doc)
	if doc.is_return:
		if rows:
			refund.refund_on_submit(doc, rows)
		if doc.return_against:
			redeem.return_on_submit(doc)
		return
	if is_debit_note(doc):
		return  # validate refused its package rows and left its rows charged
	if rows:
		sell.create_balances(doc, rows)
	redeem.redeem_on_submit(doc)


def sold_balances(doc) -> list[str]:
	if doc.is_return:
		return []
	return frappe.get_all(
		"Package Balance", filters={"sales_invoice": doc.name}, pluck="name", order_by="name asc"
	)


def before_cancel(doc, method=None):
	"""Refuse here, before ERPNext reverses anything, what the ledger does not allow."""
	if is_consolidation(doc):
		return
	sold = sold_balances(doc)
	redeem.check_voucher_cancel(doc, exclude_balances=sold)
	if sold:
		sell.check_purchase_cancel(doc)


def on_cancel(doc, method=None):
	if is_consolidation(doc):
		return
	sold = sold_balances(doc)
	redeem.cancel_voucher(doc, exclude_balances=sold)
	if sold:
		sell.cancel_purchase(doc)
