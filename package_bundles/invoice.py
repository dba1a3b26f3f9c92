"""Sales Invoice doc_events: split the rows into package sales and redemptions and hand them on.

This module reads the invoice and decides which rule applies; sale.py and
redemption.py do the work. It never computes money itself.
"""

from package_bundles import package_ledger, redemption, sale
from package_bundles.catalog import get_package_item_map


def purchase_rows(doc) -> list:
	package_items = get_package_item_map()
	if not package_items:
		return []
	return [(row, package_items[row.item_code]) for row in doc.items if row.item_code in package_items]


def is_redemption_return(doc) -> bool:
	return bool(doc.is_return and any(row.package_balance for row in doc.items))


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


def validate(doc, method=None):
	changed = False
	rows = purchase_rows(doc)
	if rows:
		sale.validate_purchase_rows(doc, rows)
		changed = True
	redeemed = False
	if plans_redemptions(doc):
		redeemed = redemption.apply_redemptions(doc)
	elif not doc.is_return:
		redeemed = redemption.keep_redeemed_rows_free(doc)
	if changed or redeemed:
		doc.calculate_taxes_and_totals()
	if redeemed and redemption.fit_pos_payments(doc):
		doc.calculate_taxes_and_totals()


def on_submit(doc, method=None):
	rows = purchase_rows(doc)
	if rows:
		sale.on_submit_purchase(doc, rows)
	if doc.is_return:
		redemption.undo_on_credit_note(doc)
	else:
		redemption.redeem_on_submit(doc)


def before_cancel(doc, method=None):
	if purchase_rows(doc):
		sale.before_cancel_purchase(doc)


def on_cancel(doc, method=None):
	package_ledger.cancel_entries(doc.doctype, doc.name)
	rows = purchase_rows(doc)
	if rows:
		sale.on_cancel_purchase(doc)
	if doc.is_return:
		redemption.redo_on_credit_note_cancel(doc)
	else:
		redemption.undo_on_cancel(doc)
