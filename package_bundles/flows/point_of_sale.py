"""The point of sale: a redeemed row shows at rate 0 as soon as the item is added (issue 10).

The POS page (and the invoice form) builds the invoice in the browser and asks ERPNext for each
new row's details (``erpnext.stock.get_item_details.get_item_details``, as ERPNext or any app
overriding it answers). Then, before ERPNext prices the row, the page asks the app
(api.invoices.preview_row, from public/js/redeemed_row_preview.js): when the patient's package
covers the row whole, the row comes back as the app will redeem it on save, a free row at rate 0
naming its balance. Saving the invoice plans again on the server, under the same rules
(flows/redeem.py), so what the page shows is never what is booked without a check.
"""

import json

import frappe

from package_bundles.flows import redeem
from package_bundles.flows.catalog import get_package_item_map, get_redeemable_items
from package_bundles.permissions import is_permitted

INVOICE_DOCTYPES = ("Sales Invoice", "POS Invoice")


def redeemed_details(doc, child_docname: str) -> dict | None:
	"""The row as it would be redeemed, if the customer's balances cover it whole.

	``doc`` is the draft invoice as the browser holds it, the row already carrying ERPNext's
	details (unit, conversion factor, price list rate).
	"""
	invoice = frappe.get_doc(json.loads(doc) if isinstance(doc, str) else doc)
	if invoice.doctype not in INVOICE_DOCTYPES or invoice.docstatus != 0 or invoice.is_return:
		return None
	row = next((r for r in invoice.items if r.name and r.name == child_docname), None)
	if row is None or row.item_code not in get_redeemable_items() or row.item_code in get_package_item_map():
		return None
	if not invoice.customer or not frappe.has_permission("Customer", "read", doc=invoice.customer):
		return None
	if not is_permitted(invoice.company, invoice.customer, "Package Balance"):
		return None  # ERPNext's answer alone: nothing about balances the user may not see
	row.qty = row.qty or 1
	row.stock_qty = frappe.utils.flt(row.qty) * frappe.utils.flt(row.conversion_factor or 1)

	redeem.restore_redeemed_rows(invoice)
	if not redeem.apply_redemptions(invoice, fill_details=False):
		return None
	if not row.package_balance or row.package_row_group:
		return None  # not covered, or covered only in part: the save splits it
	return {
		"package_balance": row.package_balance,
		"package_list_rate": row.package_list_rate,
		"is_free_item": 1,
		"price_list_rate": 0,
		"rate": 0,
		"discount_percentage": 0,
		"discount_amount": 0,
		"margin_type": None,
		"margin_rate_or_amount": 0,
		"pricing_rules": "",
	}
