"""The point of sale: a redeemed row shows at rate 0 as soon as the item is added (issue 10).

The POS page (and the invoice form) builds the invoice in the browser and asks the server for
each new row's details through ``erpnext.stock.get_item_details.get_item_details``. This
wrapper (hooks ``override_whitelisted_methods``) returns ERPNext's answer, and, when the
patient's package covers the row, the row as the app will redeem it on save: a free row at
rate 0 naming its balance. Saving the invoice plans again on the server, under the same
rules (redemption.py), so what the page shows is never what is booked without a check.
"""

import json

import frappe
from frappe import _

from package_bundles import redemption
from package_bundles.catalog import get_package_item_map, get_redeemable_items
from package_bundles.read_permissions import is_permitted

INVOICE_DOCTYPES = ("Sales Invoice", "POS Invoice")


@frappe.whitelist()
def get_item_details(args, doc=None, for_validate=False, overwrite_warehouse=True):
	from erpnext.stock.get_item_details import get_item_details as erpnext_get_item_details

	details = erpnext_get_item_details(args, doc, for_validate, overwrite_warehouse)
	try:
		covered = redeemed_details(args, doc, details)
	except Exception:
		# never let a preview stop an item from being added; the save plans again
		frappe.log_error(title=_("Package preview of an invoice row failed"))
		covered = None
	if covered:
		details.update(covered)
	return details


def redeemed_details(args, doc, details) -> dict | None:
	"""The row as it would be redeemed, if the customer's balances cover it whole."""
	args = frappe._dict(json.loads(args) if isinstance(args, str) else args or {})
	if args.doctype not in INVOICE_DOCTYPES or frappe.utils.cint(args.is_return) or not doc:
		return None
	if args.item_code not in get_redeemable_items() or args.item_code in get_package_item_map():
		return None
	invoice = frappe.get_doc(json.loads(doc) if isinstance(doc, str) else doc)
	if not invoice.customer or not frappe.has_permission("Customer", "read", doc=invoice.customer):
		return None
	if not is_permitted(invoice.company, invoice.customer, "Package Balance"):
		return None  # ERPNext's answer alone: nothing about balances the user may not see
	row = next((r for r in invoice.items if r.name and r.name == args.child_docname), None)
	if row is None:
		return None
	for fieldname in ("uom", "stock_uom", "conversion_factor", "price_list_rate", "rate", "pricing_rules"):
		if details.get(fieldname) is not None:
			row.set(fieldname, details.get(fieldname))
	row.qty = row.qty or frappe.utils.flt(args.qty) or 1
	row.stock_qty = frappe.utils.flt(row.qty) * frappe.utils.flt(row.conversion_factor or 1)

	redemption.restore_redeemed_rows(invoice)
	if not redemption.apply_redemptions(invoice, fill_details=False):
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
