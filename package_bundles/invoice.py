"""Sales Invoice doc_events: tell package sales, refunds, redemptions and returns apart and hand them on.

This module reads the invoice and decides which rule applies; sale.py, refund.py and
redemption.py do the work. It never computes money itself.
"""

import frappe

from package_bundles import redemption, refund, sale
from package_bundles.catalog import get_package_item_map


def purchase_rows(doc) -> list:
	package_items = get_package_item_map()
	if not package_items:
		return []
	return [(row, package_items[row.item_code]) for row in doc.items if row.item_code in package_items]


def plans_redemptions(doc) -> bool:
	"""Plan on every save of a draft, and when a document is inserted already submitted.

	Submitting a saved draft keeps the rows the user saw; the submit re-checks
	them under lock and refuses, rather than silently charging a row.
	"""
	if doc.is_return:
		return False
	return doc._action == "save" or doc.is_new()


def before_validate(doc, method=None):
	if plans_redemptions(doc):
		redemption.restore_redeemed_rows(doc)
	if doc.is_return and not doc.return_against:
		rows = purchase_rows(doc)
		if rows:
			refund.restore_package_templates(doc, rows)


def validate(doc, method=None):
	changed = False
	rows = purchase_rows(doc)
	if rows:
		sale.validate_purchase_rows(doc, rows)
		if doc.is_return:
			refund.validate_refund_rows(doc, rows)
		changed = True
	redeemed = False
	if doc.is_return:
		if doc.return_against:
			redemption.mark_returned_rows(doc)
	elif plans_redemptions(doc):
		redeemed = redemption.apply_redemptions(doc)
	else:
		redeemed = redemption.keep_redeemed_rows_free(doc)
	if changed and doc.is_return and not doc.return_against:
		refund.calculate_opening_refund_totals(doc)
	elif changed or redeemed:
		doc.calculate_taxes_and_totals()
	if redeemed and redemption.fit_pos_payments(doc):
		doc.calculate_taxes_and_totals()


def on_submit(doc, method=None):
	rows = purchase_rows(doc)
	if doc.is_return:
		if rows:
			refund.refund_on_submit(doc, rows)
		if doc.return_against:
			redemption.return_on_submit(doc)
		return
	if rows:
		sale.create_balances(doc, rows)
	redemption.redeem_on_submit(doc)


def sold_balances(doc) -> list[str]:
	if doc.is_return:
		return []
	return frappe.get_all(
		"Package Balance", filters={"sales_invoice": doc.name}, pluck="name", order_by="name asc"
	)


def before_cancel(doc, method=None):
	"""Refuse here, before ERPNext reverses anything, what the ledger does not allow."""
	sold = sold_balances(doc)
	redemption.check_voucher_cancel(doc, exclude_balances=sold)
	if sold:
		sale.check_purchase_cancel(doc)


def on_cancel(doc, method=None):
	sold = sold_balances(doc)
	redemption.cancel_voucher(doc, exclude_balances=sold)
	if sold:
		sale.cancel_purchase(doc)
